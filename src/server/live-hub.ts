// The live view's fan-out: each frame is encoded once; every client gets the latest frame it can take
// (its socket drained, and for acknowledging clients, fewer than LIVE_WINDOW frames not yet drawn).
// Motion frames (the object moving during a primitive) share the path but never displace a cloud frame.
import type { WebSocket } from 'ws';
import type { PointCloud } from '../core/pointcloud.ts';
import {
  encodeLiveFrame,
  encodeMotionFrame,
  issueField,
  LIVE_WINDOW,
  LiveMetaSchema,
  replayOf,
  type LiveMeta,
  type MotionFrameData,
} from '../core/protocol.ts';
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
  /** The newest frame not yet sent (replaced by newer ones: latest wins; a motion frame never replaces a cloud frame). */
  pending: Uint8Array | null;
  pendingIsMotion: boolean;
  sent: number;
  dropped: number;
}

export interface LiveStats {
  published: number;
  subscribers: number;
  sent: number;
  dropped: number;
  lastFrameBytes: number;
  /** Motion frames published (they are counted in sent/dropped like the clouds). */
  motionPublished: number;
  lastMotionBytes: number;
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
  #motionPublished = 0;
  #lastMotionBytes = 0;
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
    for (const s of this.#subs.values()) this.#offer(s, bytes, false);
    return seq;
  }

  /**
   * Encodes and offers a motion frame (object points and tools during a primitive). It takes the
   * client's one slot only when that holds no cloud frame, and is never replayed to a new subscriber
   * (who gets the latest cloud with its candidates). Returns its seq.
   */
  publishMotion(frame: Omit<MotionFrameData, 'seq' | 'sentAt'>): number {
    const seq = ++this.#seq;
    const bytes = encodeMotionFrame({ ...frame, seq, sentAt: this.#now() });
    this.#motionPublished++;
    this.#lastMotionBytes = bytes.byteLength;
    for (const s of this.#subs.values()) this.#offer(s, bytes, true);
    return seq;
  }

  /** Whether any client watches (a publisher may skip building frames nobody gets). */
  get watched(): boolean {
    return this.#subs.size > 0;
  }

  /** Adds a client (`ack`: it acknowledges drawn frames, see `ack`); it gets the latest frame at once. */
  subscribe(ws: WebSocket, opts: { ack?: boolean } = {}): void {
    if (this.#subs.has(ws)) return;
    const s: Subscriber = { ws, ack: opts.ack ?? false, unacked: [], inFlight: false, pending: null, pendingIsMotion: false, sent: 0, dropped: 0 };
    this.#subs.set(ws, s);
    if (this.#latest) this.#offer(s, replayOf(this.#latest), false);
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
      this.#offer(s, next, s.pendingIsMotion);
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
    return {
      published: this.#published,
      subscribers: this.#subs.size,
      sent,
      dropped,
      lastFrameBytes: this.#latest?.byteLength ?? 0,
      motionPublished: this.#motionPublished,
      lastMotionBytes: this.#lastMotionBytes,
      heldBytes: held,
    };
  }

  #offer(s: Subscriber, bytes: Uint8Array, motion: boolean): void {
    if (s.ws.readyState !== s.ws.OPEN) return;
    if (s.inFlight || s.ws.bufferedAmount > this.#budget || (s.ack && s.unacked.length >= LIVE_WINDOW)) {
      // A waiting cloud frame (candidates, the post-step state) outranks motion: the motion frame is dropped.
      if (motion && s.pending && !s.pendingIsMotion) {
        s.dropped++;
        return;
      }
      if (s.pending) s.dropped++;
      s.pending = bytes;
      s.pendingIsMotion = motion;
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
        this.#offer(s, next, s.pendingIsMotion);
      }
    });
  }
}
