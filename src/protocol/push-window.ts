/**
 * The pusher's adaptive window (spec/protocol.md section 12.2): how many
 * PUTOBJECTs and how many payload bytes may be unanswered at once, sized to
 * the bandwidth-delay product of the path to the receiver, in the spirit of
 * TCP's congestion window (BBR's model more than loss-based growth: nothing
 * here is ever lost, only late).
 *
 * Two measurements, both taken from the replies as they come:
 *
 *   - the round trip: from an object's PUTOBJECT to its STATUS; the least
 *     seen is the path's own delay (the receiver's queue only adds to it);
 *   - the delivery rate: the objects (and bytes) answered between an
 *     object's PUTOBJECT and its STATUS, over that time; the largest of the
 *     last few rounds is what the receiver can take.
 *
 * The window is GAIN × rate × least round trip, for objects and for bytes
 * alike, never below the floor and never above the ceiling. While the window
 * is what limits the push, each round's rate is the window over the round
 * trip, so the window doubles per round trip (slow start); once the
 * receiver (or the link) is the bottleneck the rate stops growing and so
 * does the window, with one bandwidth-delay product queued at the receiver
 * so it never waits for the next object. When the rate falls (large
 * objects, a busy receiver) the old maximum ages out after MAX_ROUNDS round
 * trips and the window shrinks with it.
 *
 * Memory: nothing here holds object bytes. What is in flight sits in the
 * transport's buffers (pipes, the ssh channel's window) and the pusher's
 * writes wait for them to drain; a receiver that reads ahead bounds its own
 * read-ahead by reading no further. Per object in flight the window keeps
 * three numbers.
 *
 * A new size is adopted when the next object is sent, never when a reply
 * comes: replies only ever open the window (fewer objects in flight), so a
 * decision to send taken while it was open still holds when the machine
 * judges `windowOpen` for that PUTOBJECT, whatever was read in between.
 *
 * The clock is a parameter so that tests can drive the window with a
 * simulated one.
 */

/** Objects in flight at the start of a push, and at least (the fixed window of earlier versions). */
export const INITIAL_WINDOW = 64;
/** Payload bytes in flight at the start, and at least. */
export const INITIAL_WINDOW_BYTES = 8 * 1024 * 1024;
/** Payload bytes in flight at most, however fast and far the receiver is. */
export const MAX_WINDOW_BYTES = 64 * 1024 * 1024;
/**
 * Twice the bandwidth-delay product: one product on the way, one queued at
 * the receiver (and room to double while the rate still grows).
 */
export const GAIN = 2;
/** Rounds (round trips) over which the highest delivery rate is kept. */
export const MAX_ROUNDS = 8;

export interface WindowBounds {
  /** Objects: the window starts here and never goes below. */
  minObjects: number;
  /** Objects: never above (the machine's inFlight bound at most). */
  maxObjects: number;
  minBytes: number;
  maxBytes: number;
}

/** One object in flight, as the window remembers it. */
interface Sent {
  at: number;
  /** Objects and bytes answered when it was sent. */
  delivered: number;
  deliveredBytes: number;
}

export class AdaptiveWindow {
  /** Objects allowed in flight now. */
  objects: number;
  /** Payload bytes allowed in flight now (one object always goes, however large). */
  bytes: number;
  /** The sizes measured from the replies so far, adopted at the next send. */
  targetObjects: number;
  targetBytes: number;
  /** The least round trip seen (ms); Infinity before the first answer. */
  minRtt = Number.POSITIVE_INFINITY;
  /** The highest delivery rate of the last MAX_ROUNDS rounds, objects and bytes per ms. */
  rate = 0;
  byteRate = 0;
  /** Round trips completed (a round ends when an object sent after the last round ended is answered). */
  rounds = 0;
  /** The most objects and bytes the window allowed at any time. */
  maxObjects: number;
  maxBytes: number;

  /** The objects in flight, oldest first. */
  readonly #sent: Sent[] = [];
  #delivered = 0;
  #deliveredBytes = 0;
  /** `#delivered` when the current round began. */
  #roundStart = 0;
  /** Per round, the highest rates seen (objects, bytes), newest last. */
  readonly #peaks: Array<[number, number]> = [[0, 0]];

  constructor(
    readonly bounds: WindowBounds,
    readonly now: () => number = () => performance.now(),
  ) {
    this.objects = bounds.minObjects;
    this.bytes = bounds.minBytes;
    this.targetObjects = this.objects;
    this.targetBytes = this.bytes;
    this.maxObjects = this.objects;
    this.maxBytes = this.bytes;
  }

  /** False for a fixed window (the caller's `window` and `windowBytes`, or stop-and-wait). */
  get adaptive(): boolean {
    return this.bounds.minObjects !== this.bounds.maxObjects || this.bounds.minBytes !== this.bounds.maxBytes;
  }

  /** An object's PUTOBJECT went out: the window takes the size measured so far, for the objects after it. */
  sent(): void {
    this.objects = this.targetObjects;
    this.bytes = this.targetBytes;
    this.maxObjects = Math.max(this.maxObjects, this.objects);
    this.maxBytes = Math.max(this.maxBytes, this.bytes);
    this.#sent.push({ at: this.now(), delivered: this.#delivered, deliveredBytes: this.#deliveredBytes });
  }

  /** The oldest object in flight was answered (replies come in order); `size` is its payload. */
  answered(size: number): void {
    const s = this.#sent.shift();
    if (s === undefined) return;
    this.#delivered++;
    this.#deliveredBytes += size;
    if (!this.adaptive) return;
    const t = this.now();
    // A clock that did not move (a simulated one, or answers read in one turn) still counts as a millisecond's tenth.
    const rtt = Math.max(t - s.at, 0.1);
    if (rtt < this.minRtt) this.minRtt = rtt;
    const rate = (this.#delivered - s.delivered) / rtt;
    const byteRate = (this.#deliveredBytes - s.deliveredBytes) / rtt;
    if (s.delivered >= this.#roundStart) {
      // The first object sent in this round is answered: a round trip is complete.
      this.rounds++;
      this.#roundStart = this.#delivered;
      this.#peaks.push([0, 0]);
      if (this.#peaks.length > MAX_ROUNDS) this.#peaks.shift();
    }
    const peak = this.#peaks[this.#peaks.length - 1] as [number, number];
    peak[0] = Math.max(peak[0], rate);
    peak[1] = Math.max(peak[1], byteRate);
    this.rate = 0;
    this.byteRate = 0;
    for (const [r, b] of this.#peaks) {
      this.rate = Math.max(this.rate, r);
      this.byteRate = Math.max(this.byteRate, b);
    }
    const { minObjects, maxObjects, minBytes, maxBytes } = this.bounds;
    this.targetObjects = clamp(Math.ceil(GAIN * this.rate * this.minRtt), minObjects, maxObjects);
    this.targetBytes = clamp(Math.ceil(GAIN * this.byteRate * this.minRtt), minBytes, maxBytes);
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, x));
}
