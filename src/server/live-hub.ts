// The live view's fan-out: each frame is encoded once; every client gets the latest frame it can take
// (its socket drained, and for acknowledging clients, fewer than LIVE_WINDOW frames not yet drawn).
import type { WebSocket } from 'ws';
import type { PointCloud } from '../core/pointcloud.ts';
import { encodeLiveFrame, issueField, LIVE_WINDOW, LiveMetaSchema, replayOf, type LiveMeta } from '../core/protocol.ts';
import { FieldError } from '../core/errors.ts';

/** What the loop publishes: the current cloud (table frame) and what is being decided on it. */
export interface LiveFrame extends LiveMeta {
  cloud: PointCloud;
}

export interface LiveHubOptions {
  /**
   * A client whose socket holds more than this many unsent bytes gets no new frame until it drains;
   * its newest frame waits in one slot (latest wins), so memory per client is bounded.
   * @default 4 MiB
   */
  budgetBytes?: number;
  now?: () => number;
}

interface Subscriber {
  ws: WebSocket;
  /** Acknowledging client: at most LIVE_WINDOW frames sent and not yet acknowledged. */
  ack: boolean;
  /** Seqs sent and not acknowledged (ack mode). */
  unacked: number[];
  /** A frame handed to the socket whose write has not completed. */
  inFlight: boolean;
  /** The newest frame not yet sent (replaced by newer ones: latest wins). */
  pending: Uint8Array | null;
  sent: number;
  dropped: number;
}

export interface LiveStats {
  published: number;
  subscribers: number;
  sent: number;
  dropped: number;
  lastFrameBytes: number;
  /** Bytes held for clients: pending frames plus unsent socket buffers. */
  heldBytes: number;
}

export class LiveHub {
  #subs = new Map<WebSocket, Subscriber>();
  #budget: number;
  #now: () => number;
  #seq = 0;
  #latest: Uint8Array | null = null;
  #published = 0;
  #sentClosed = 0;
  #droppedClosed = 0;

  constructor(opts: LiveHubOptions = {}) {
    this.#budget = opts.budgetBytes ?? 4 * 1024 * 1024;
    this.#now = opts.now ?? Date.now;
  }

  /** Encodes and sends a frame to every subscriber (or queues it in their one slot). Returns its seq. */
  publish(frame: LiveFrame): number {
    const { cloud, ...meta } = frame;
    const m = LiveMetaSchema.safeParse(meta);
    if (!m.success) {
      const i = m.error.issues[0]!;
      throw new FieldError(`live frame ${issueField(i)}`, i.message, (meta as Record<string, unknown>)[String(i.path[0])]);
    }
    const seq = ++this.#seq;
    const bytes = encodeLiveFrame({ seq, sentAt: this.#now(), stamp: cloud.stamp, points: cloud.points, rgb: cloud.rgb, meta: m.data });
    this.#latest = bytes;
    this.#published++;
    for (const s of this.#subs.values()) this.#offer(s, bytes);
    return seq;
  }

  /** Adds a client (`ack`: it acknowledges drawn frames, see `ack`); it gets the latest frame at once. */
  subscribe(ws: WebSocket, opts: { ack?: boolean } = {}): void {
    if (this.#subs.has(ws)) return;
    const s: Subscriber = { ws, ack: opts.ack ?? false, unacked: [], inFlight: false, pending: null, sent: 0, dropped: 0 };
    this.#subs.set(ws, s);
    if (this.#latest) this.#offer(s, replayOf(this.#latest));
  }

  unsubscribe(ws: WebSocket): void {
    const s = this.#subs.get(ws);
    if (!s) return;
    this.#sentClosed += s.sent;
    this.#droppedClosed += s.dropped;
    this.#subs.delete(ws);
  }

  /** A client has drawn frame `seq` (and every older one): frees its window and sends the newest pending frame. */
  ack(ws: WebSocket, seq: number): void {
    const s = this.#subs.get(ws);
    if (!s) return;
    s.unacked = s.unacked.filter((x) => x > seq);
    const next = s.pending;
    if (next && !s.inFlight) {
      s.pending = null;
      this.#offer(s, next);
    }
  }

  has(ws: WebSocket): boolean {
    return this.#subs.has(ws);
  }

  stats(): LiveStats {
    let sent = this.#sentClosed;
    let dropped = this.#droppedClosed;
    let held = 0;
    for (const s of this.#subs.values()) {
      sent += s.sent;
      dropped += s.dropped;
      held += (s.pending?.byteLength ?? 0) + s.ws.bufferedAmount;
    }
    return { published: this.#published, subscribers: this.#subs.size, sent, dropped, lastFrameBytes: this.#latest?.byteLength ?? 0, heldBytes: held };
  }

  #offer(s: Subscriber, bytes: Uint8Array): void {
    if (s.ws.readyState !== s.ws.OPEN) return;
    if (s.inFlight || s.ws.bufferedAmount > this.#budget || (s.ack && s.unacked.length >= LIVE_WINDOW)) {
      if (s.pending) s.dropped++;
      s.pending = bytes;
      return;
    }
    this.#send(s, bytes);
  }

  #send(s: Subscriber, bytes: Uint8Array): void {
    s.inFlight = true;
    s.sent++;
    if (s.ack) s.unacked.push(new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(4, true));
    s.ws.send(bytes, { binary: true }, () => {
      s.inFlight = false;
      if (!this.#subs.has(s.ws)) return;
      const next = s.pending;
      if (next) {
        s.pending = null;
        this.#offer(s, next);
      }
    });
  }
}
