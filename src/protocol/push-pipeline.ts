/**
 * Sending the planned objects with a bounded window in flight
 * (spec/protocol.md section 12.2; spec/machines/pusher.json, state `sending`).
 *
 *   - at most the window's objects and payload bytes are unanswered at any
 *     time (one object is always allowed, however large); the window adapts
 *     to the bandwidth-delay product from the round trips and delivery rate
 *     it measures (push-window.ts), unless the caller fixes it;
 *   - STATUS replies are read by a separate loop while objects are written,
 *     so neither direction's buffer can fill while the other side waits:
 *     the receiver answers in order, each STATUS belongs to the oldest object
 *     in flight;
 *   - after the first STATUS false nothing new is sent; the loop reads the
 *     replies still owed (a receiver with the extensions answers them false,
 *     a version-0 one may hang up instead: then the refusal stands).
 *
 * A `Pipeline` is the pusher session's data for state `sending`: the guards
 * `moreObjects` and `windowOpen` are computed from it, and the handlers of
 * `countSent`, `sendPayload`, `countAnswered` and `reportRefusal` act on it
 * (PIPELINE_GUARDS, PIPELINE_HANDLERS; the pusher's tables include them).
 * `run` only decides when to send and when to read; what a step does is the
 * machine's actions.
 *
 * A fixed window of 1 is version 0's stop-and-wait exactly.
 */
import { PUSHER_CONTEXT, type PusherNames } from '../../spec/machines.generated.js';
import { ProtocolError } from '../errors.js';
import type { StatusMessage } from '../wire/messages.js';
import type { ActionHandlers, GuardTable } from './actor.js';
import type { Endpoint } from './endpoint.js';
import type { PlannedList, PlannedObject } from './planned-objects.js';
import { AdaptiveWindow, INITIAL_WINDOW, INITIAL_WINDOW_BYTES, MAX_WINDOW_BYTES } from './push-window.js';

/** Objects in flight when the push starts; the adaptive window never goes below. */
export const DEFAULT_WINDOW = INITIAL_WINDOW;
export const DEFAULT_WINDOW_BYTES = INITIAL_WINDOW_BYTES;
/**
 * The machine's bound on `inFlight` (spec/machines/pusher.json context): a
 * larger window would have the machine refuse the next PUTOBJECT.
 */
export const MAX_WINDOW: number = PUSHER_CONTEXT.inFlight.max;

export interface PipelineOptions {
  /** A fixed window of objects (1: stop-and-wait); absent: adaptive, from DEFAULT_WINDOW up to MAX_WINDOW. */
  window?: number | undefined;
  /** A fixed bound on payload bytes; absent: adaptive, from DEFAULT_WINDOW_BYTES up to MAX_WINDOW_BYTES. */
  windowBytes?: number | undefined;
  /** The clock of the adaptive window (ms; default performance.now), for tests. */
  now?: () => number;
  /**
   * The object's bytes, opened synchronously (no hop per object); `close`
   * releases what the send did not take (ArchiveObjectStore.openReader).
   */
  openRead: (obj: PlannedObject) => AsyncIterable<Uint8Array> & { close(): void };
  onAnswered?: (obj: PlannedObject, sent: number, bytes: number) => void;
  /** Called when the STATUS stream ended early: the error to throw unless a refusal is known. */
  closed: (what: string) => Promise<Error>;
  /** Abandon the output (a write may be blocked on a peer that stopped reading). */
  abort: () => void;
}

export interface PipelineResult {
  sent: number;
  bytes: number;
  refusal?: string;
  /** Most objects unanswered at once. */
  maxInFlight: number;
  /** The largest window (objects, bytes) the adaptive window reached. */
  maxWindow: number;
  maxWindowBytes: number;
}

/** What the pipeline uses of the pusher's endpoint (whatever its session data). */
export type PusherLink = Pick<Endpoint<PusherNames, unknown>, 'send' | 'receive' | 'sendPayload'>;

/** The session data a pusher's endpoint is driven by, as far as sending objects goes. */
export interface Sending {
  readonly pipeline: Pipeline;
  readonly ep: PusherLink;
}

export class Pipeline {
  /** What may be in flight: objects and bytes, adapted as replies come (or fixed). */
  readonly window: AdaptiveWindow;
  #objects: PlannedList = [];
  /** Index in #objects of the next object to send. */
  #next = 0;
  /** The next object, made once per object (a compact plan makes a view per `at`), and its index. */
  #peeked: PlannedObject | undefined;
  #peekedAt = -1;
  /** The next object's bytes, opened before its PUTOBJECT goes out. */
  #payload: (AsyncIterable<Uint8Array> & { close(): void }) | undefined;
  readonly #inFlight: PlannedObject[] = [];
  #bytesInFlight = 0;
  maxInFlight = 0;
  /** Objects accepted, and their bytes. */
  sent = 0;
  bytes = 0;
  /** The first refusal (of the UPDATE or of an object): nothing new is sent after it. */
  refusal: string | undefined;
  /** The reader saw the end of the stream or failed. */
  #stop = false;
  #senderDone = false;
  #wake: () => void = () => undefined;
  #changed = new Promise<void>((r) => (this.#wake = r));

  constructor(readonly o: PipelineOptions) {
    const objects = (w: number): number => Math.max(1, Math.min(MAX_WINDOW, Math.floor(w)));
    const fixedObjects = o.window === undefined ? undefined : objects(o.window);
    const fixedBytes = o.windowBytes === undefined ? undefined : Math.max(1, Math.floor(o.windowBytes));
    this.window = new AdaptiveWindow(
      {
        minObjects: fixedObjects ?? DEFAULT_WINDOW,
        maxObjects: fixedObjects ?? MAX_WINDOW,
        minBytes: fixedBytes ?? DEFAULT_WINDOW_BYTES,
        maxBytes: fixedBytes ?? MAX_WINDOW_BYTES,
      },
      o.now,
    );
  }

  /** The objects to send, in order (children first). */
  load(objects: PlannedList): void {
    this.#objects = objects;
    this.#next = 0;
    this.#peekedAt = -1;
  }

  #peek(): PlannedObject | undefined {
    if (this.#peekedAt !== this.#next) {
      this.#peeked = this.#objects.at(this.#next);
      this.#peekedAt = this.#next;
    }
    return this.#peeked;
  }

  // ---- guards ----

  /** spec/machines/pusher.json `moreObjects`: some planned object has not been sent yet. */
  moreObjects(): boolean {
    return this.#next < this.#objects.length;
  }

  /** `windowOpen` for sending the next object now: always open when nothing is in flight. */
  windowOpen(): boolean {
    const next = this.#peek();
    const inFlight = this.#inFlight.length;
    return inFlight === 0 || (next !== undefined && inFlight < this.window.objects && this.#bytesInFlight + next.size <= this.window.bytes);
  }

  // ---- action handlers ----

  /** countSent: the next object is in flight from its body on (the receiver may refuse it on the body alone). */
  countSent(): void {
    const obj = this.#peek() as PlannedObject;
    this.#next++;
    this.#inFlight.push(obj);
    this.#bytesInFlight += obj.size;
    this.window.sent();
    this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight.length);
    this.#bump();
  }

  /** sendPayload: the object file's exact bytes, right after its PUTOBJECT body. */
  async sendPayload(ep: PusherLink): Promise<void> {
    const payload = this.#payload;
    this.#payload = undefined;
    if (payload === undefined) throw new ProtocolError('INTERNAL', 'no payload was opened for the PUTOBJECT sent', {});
    await ep.sendPayload(payload);
  }

  /** reportRefusal: the first refusal is kept, naming the object it answers (none: the UPDATE's). */
  reportRefusal(status: StatusMessage): void {
    const head = this.#inFlight[0];
    this.refusal ??= head === undefined ? status.message : `${head.name}: ${status.message}`;
  }

  /** countAnswered: the oldest object in flight is answered; counted as sent while nothing was refused. */
  countAnswered(status: StatusMessage): void {
    const head = this.#inFlight.shift() as PlannedObject;
    this.#bytesInFlight -= head.size;
    this.window.answered(head.size);
    if (status.result && this.refusal === undefined) {
      this.sent++;
      this.bytes += head.size;
      this.o.onAnswered?.(head, this.sent, this.bytes);
    }
    this.#bump();
  }

  // ---- the two loops ----

  #bump(): void {
    const w = this.#wake;
    this.#changed = new Promise<void>((r) => (this.#wake = r));
    w();
  }

  #halted(): boolean {
    return this.refusal !== undefined || this.#stop;
  }

  /** Reads the STATUS of each object in flight, in order, until the sender is done and nothing is in flight. */
  async #read(ep: PusherLink): Promise<void> {
    for (;;) {
      while (this.#inFlight.length === 0) {
        if (this.#senderDone || this.#stop) return;
        await this.#changed;
      }
      const head = this.#inFlight[0] as PlannedObject;
      const st = await ep.receive();
      if (st === null) {
        this.#stop = true;
        if (this.refusal === undefined) throw await this.o.closed(`awaiting the STATUS for ${head.name}`);
        return;
      }
    }
  }

  /** Sends every object while the window allows, until all are sent or a refusal or the reader stops it. */
  async #send(ep: PusherLink): Promise<void> {
    while (this.moreObjects()) {
      while (!this.windowOpen() && !this.#halted()) await this.#changed;
      if (this.#halted()) return;
      // Let replies that already arrived (a refusal) be read before the next
      // object goes out: a synchronous openRead no longer yields by itself.
      if (this.#inFlight.length > 0) await new Promise<void>((r) => setImmediate(r));
      if (this.#halted()) return;
      const obj = this.#peek() as PlannedObject;
      const payload = this.o.openRead(obj);
      this.#payload = payload;
      try {
        await ep.send({ type: 'PUTOBJECT', object: obj.name, size: BigInt(obj.size), extra: new Map() });
      } finally {
        this.#payload = undefined;
        payload.close();
      }
    }
  }

  /** Sends `objects` pipelined through `ep` (in state `sending`); stops sending at the first refusal. */
  async run(ep: PusherLink, objects: PlannedList): Promise<PipelineResult> {
    this.load(objects);
    /** The reader failed while the sender was still fine (its failure then caused the sender's). */
    let readFailedFirst = false;
    let sendError: unknown;
    const reader = this.#read(ep).catch((e: unknown) => {
      this.#stop = true;
      readFailedFirst = sendError === undefined;
      this.#bump();
      // A write may be blocked on a receiver that stopped reading: free it.
      this.o.abort();
      throw e;
    });
    // The reader's failure is handled below; keep it from being reported as unhandled meanwhile.
    reader.catch(() => undefined);
    try {
      await this.#send(ep);
    } catch (e) {
      sendError = e;
    }
    this.#senderDone = true;
    this.#bump();
    if (sendError !== undefined) {
      // A receiver that refused may hang up while we write: read what it said first.
      let readError: unknown;
      try {
        await reader;
      } catch (e) {
        readError = e;
      }
      if (this.refusal !== undefined) return this.#result();
      // The reader failing first (an idle timeout) aborted the output: its error is the cause, the write's a consequence.
      throw readFailedFirst && readError !== undefined ? readError : sendError;
    }
    try {
      await reader;
    } catch (e) {
      this.o.abort();
      throw e;
    }
    return this.#result();
  }

  #result(): PipelineResult {
    const { sent, bytes, refusal, maxInFlight } = this;
    const r = { sent, bytes, maxInFlight, maxWindow: this.window.maxObjects, maxWindowBytes: this.window.maxBytes };
    return refusal === undefined ? r : { ...r, refusal };
  }
}

/** The pusher's guards that the pipeline's data decides. */
export const PIPELINE_GUARDS: Pick<GuardTable<PusherNames, Sending>, 'moreObjects' | 'windowOpen'> = {
  moreObjects: (s) => s.pipeline.moreObjects(),
  windowOpen: (s) => s.pipeline.windowOpen(),
};

/** The handlers of the pusher's actions that act on the pipeline. */
export const PIPELINE_HANDLERS: Pick<ActionHandlers<PusherNames, Sending>, 'countSent' | 'sendPayload' | 'countAnswered' | 'reportRefusal'> = {
  countSent: (s) => s.pipeline.countSent(),
  sendPayload: (s) => s.pipeline.sendPayload(s.ep),
  countAnswered: (s, { message }) => s.pipeline.countAnswered(message),
  reportRefusal: (s, { message }) => s.pipeline.reportRefusal(message),
};
