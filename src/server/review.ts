// The reviewers' ops: the disagreements between annotators, one item as they saw it, and settling it with a label.
import type { ClientMessage, ServerMessage } from '../core/protocol.ts';
import type { PreferenceStore } from '../store/preference-store.ts';
import { StoreError } from '../store/store-error.ts';
import type { User } from '../store/users.ts';

type Msg<K extends ClientMessage['op']> = Extract<ClientMessage, { op: K }>;

/** Handlers of `disagreements`, `review.item` and `settle`, against the async store (either engine). */
export function reviewHandlers(store: PreferenceStore, send: (m: ServerMessage) => void, log: (line: string) => void) {
  return {
    disagreements: async (m: Msg<'disagreements'>) => {
      send({ op: 'disagreements', id: m.id, disagreements: await store.disagreements({ includeSettled: m.includeSettled }) });
    },
    'review.item': async (m: Msg<'review.item'>) => {
      const item = await store.item(m.itemId);
      if (!item) throw new StoreError('not_found', 'itemId', `no item ${JSON.stringify(m.itemId)}`);
      send({ op: 'review.item', id: m.id, item });
    },
    settle: async (m: Msg<'settle'>, user: User) => {
      const settlement = await store.settle(user, m.itemId, m.label, m.note);
      log(`${m.itemId} settled by ${user.name}`);
      send({ op: 'settled', id: m.id, itemId: m.itemId, settlement });
    },
  };
}
