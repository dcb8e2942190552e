// Motion in the live view: frames captured while a primitive runs (faster than real time in sim), then
// published at sim-time pace so a watcher sees the manipulation happen; bounded memory, capped fps.
import type { MotionFrameData } from '../core/protocol.ts';

/** What a capture takes: the sim's motion frame (arrays may be views into reused buffers; they are copied). */
export interface MotionSample {
  /** Sim time, s. */
  t: number;
  step: number;
  phase?: 'start' | 'move' | 'end';
  points: Float32Array;
  tools: Float32Array;
  holding: ArrayLike<number>;
}

export interface MotionPlaybackOptions {
  /** Sim seconds played per wall second. @default 1 (real time) */
  speed?: number;
  /** Most frames published per wall second; frames due closer together are skipped. @default 20 */
  maxFps?: number;
  /** Frames kept per primitive; when full, every other one is dropped and capture thins out. @default 240 */
  maxFrames?: number;
  /** Longest playback, wall s: a longer motion plays faster to fit. @default 8 */
  maxSeconds?: number;
  /** Clock, ms. @default performance.now */
  now?: () => number;
  /** Waits ms (the event loop runs meanwhile). @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

export interface PlaybackResult {
  /** Frames captured (after thinning) and published. */
  captured: number;
  published: number;
  /** Sim time the frames span, s; wall time the playback took, s. */
  simSeconds: number;
  wallSeconds: number;
}

type Kept = Omit<MotionFrameData, 'seq' | 'sentAt'>;

export class MotionPlayback {
  #publish: (f: Kept) => void;
  #speed: number;
  #minIntervalMs: number;
  #maxFrames: number;
  #maxSeconds: number;
  #now: () => number;
  #sleep: (ms: number) => Promise<void>;
  #frames: Kept[] = [];
  #stride = 1;
  #seen = 0;

  constructor(publish: (f: Kept) => void, opts: MotionPlaybackOptions = {}) {
    const speed = opts.speed ?? 1;
    const maxFps = opts.maxFps ?? 20;
    const maxFrames = opts.maxFrames ?? 240;
    const maxSeconds = opts.maxSeconds ?? 8;
    if (!(speed > 0) || !Number.isFinite(speed)) throw new Error(`motion speed: expected a finite number > 0, received ${speed}`);
    if (!(maxFps > 0)) throw new Error(`motion maxFps: expected a number > 0, received ${maxFps}`);
    if (!Number.isInteger(maxFrames) || maxFrames < 2) throw new Error(`motion maxFrames: expected an integer >= 2, received ${maxFrames}`);
    if (!(maxSeconds > 0)) throw new Error(`motion maxSeconds: expected a number > 0, received ${maxSeconds}`);
    this.#publish = publish;
    this.#speed = speed;
    this.#minIntervalMs = 1000 / maxFps;
    this.#maxFrames = maxFrames;
    this.#maxSeconds = maxSeconds;
    this.#now = opts.now ?? (() => performance.now());
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Frames held for the next play(). */
  get captured(): number {
    return this.#frames.length;
  }

  /** Copies a frame for the next play(); the 'end' frame is always kept. */
  capture(f: MotionSample): void {
    const end = f.phase === 'end';
    if (this.#seen++ % this.#stride !== 0 && !end) return;
    if (this.#frames.length >= this.#maxFrames) {
      // Full: keep every other frame and capture half as often from now on.
      this.#frames = this.#frames.filter((_, i) => i % 2 === 0);
      this.#stride *= 2;
    }
    this.#frames.push({ stamp: f.t, step: f.step, points: f.points.slice(), tools: f.tools.slice(), holding: Array.from(f.holding) });
  }

  /** Drops the captured frames. */
  clear(): void {
    this.#frames = [];
    this.#stride = 1;
    this.#seen = 0;
  }

  /**
   * Publishes the captured frames at their sim-time pace (sped up to fit maxSeconds), at most maxFps,
   * always ending on the last frame; `stop` returning true ends it early. Clears the capture.
   */
  async play(stop: () => boolean = () => false): Promise<PlaybackResult> {
    const frames = this.#frames;
    this.clear();
    const t0 = this.#now();
    if (!frames.length) return { captured: 0, published: 0, simSeconds: 0, wallSeconds: 0 };
    const first = frames[0]!.stamp;
    const span = frames.at(-1)!.stamp - first;
    const speed = Math.max(this.#speed, span / this.#maxSeconds);
    let published = 0;
    let i = 0;
    while (i < frames.length && !stop()) {
      const simNow = ((this.#now() - t0) / 1000) * speed;
      // The newest frame that is due (older due ones are skipped: the fps cap or a late wake-up).
      let j = i;
      while (j + 1 < frames.length && frames[j + 1]!.stamp - first <= simNow) j++;
      if (frames[j]!.stamp - first <= simNow) {
        this.#publish(frames[j]!);
        published++;
        i = j + 1;
        if (i >= frames.length) break;
      }
      const dueMs = t0 + ((frames[i]!.stamp - first) / speed) * 1000;
      await this.#sleep(Math.max(this.#minIntervalMs, dueMs - this.#now()));
    }
    return { captured: frames.length, published, simSeconds: span, wallSeconds: (this.#now() - t0) / 1000 };
  }
}
