// Pushed items into the queue on either engine: an item id names one payload for good, so a retried push
// stores nothing twice and answers `duplicate`, and another payload under a taken id is a conflict.
import { isDeepStrictEqual } from 'node:util';
import { PushBatchSchema, PushEntrySchema, type PushEntry, type PushReply, type PushResult } from '../core/item-push.ts';
import { issueField, type Item } from '../core/protocol.ts';
import type { PreferenceStore } from './preference-store.ts';
import { StoreError } from './store-error.ts';
import { itemRow } from './store.ts';

/**
 * Adds one entry. The same id again with the same item is `duplicate: true` (options of the first push
 * stand); with another item it is a conflict naming `item.id`.
 */
export async function addItemOnce(store: PreferenceStore, e: PushEntry): Promise<PushResult> {
  const opts = { minAnnotations: e.minAnnotations, priority: e.priority, disagreement: e.disagreement };
  try {
    return { id: await store.addItem(e.item, opts), duplicate: false };
  } catch (err) {
    if (!(err instanceof StoreError && err.code === 'conflict' && err.field === 'item.id')) throw err;
    const stored = await store.item(e.item.id);
    if (stored && sameItem(stored, e.item)) return { id: e.item.id, duplicate: true };
    throw new StoreError('conflict', 'item.id', `an item ${JSON.stringify(e.item.id)} exists with other content; a new item needs a new id`);
  }
}

/** Whether two items are the same content (key order aside; absent and undefined keys alike). */
function sameItem(a: Item, b: Item): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
}

/**
 * Validates a push body (one entry, or `{ items: [...] }`) and adds its entries in order. Nothing is
 * stored when any entry is invalid. A refusal comes back as data (`error`, and `index` of the entry
 * that caused it, whose field is prefixed `items.<index>.` in a batch); other failures throw.
 */
export async function pushItems(store: PreferenceStore, body: unknown): Promise<PushReply> {
  const batch = typeof body === 'object' && body !== null && !Array.isArray(body) && 'items' in body;
  const at = (k: number, field: string | null) => (batch ? `items.${k}${field ? `.${field}` : ''}` : field);
  const parsed = batch ? PushBatchSchema.safeParse(body) : PushEntrySchema.safeParse(body);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    const index = batch && i.path[0] === 'items' && typeof i.path[1] === 'number' ? i.path[1] : batch ? undefined : 0;
    return { results: [], error: { code: 'invalid', field: issueField(i), message: i.message }, ...(index === undefined ? {} : { index }) };
  }
  const entries = 'items' in parsed.data ? parsed.data.items : [parsed.data];
  // The store's own checks (e.g. every candidate of the item's primitive), before anything is stored.
  for (const [k, e] of entries.entries()) {
    try {
      itemRow(e.item, e, 0);
    } catch (err) {
      if (err instanceof StoreError) return { results: [], error: { code: err.code, field: at(k, err.field), message: bare(err) }, index: k };
      throw err;
    }
  }
  const results: PushResult[] = [];
  for (const [k, e] of entries.entries()) {
    try {
      results.push(await addItemOnce(store, e));
    } catch (err) {
      if (err instanceof StoreError) return { results, error: { code: err.code, field: at(k, err.field), message: bare(err) }, index: k };
      throw err;
    }
  }
  return { results };
}

/** A StoreError's text without its field prefix (the reply names the field apart). */
function bare(e: StoreError): string {
  return e.field && e.message.startsWith(`${e.field}: `) ? e.message.slice(e.field.length + 2) : e.message;
}
