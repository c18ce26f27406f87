/**
 * Sending the planned objects with a bounded window in flight
 * (spec/protocol.md section 12.2; spec/machines/pusher.json, state `sending`).
 *
 *   - at most `window` PUTOBJECTs and `windowBytes` payload bytes are
 *     unanswered at any time (one object is always allowed, however large);
 *   - STATUS replies are read by a separate loop while objects are written,
 *     so neither direction's buffer can fill while the other side waits:
 *     the receiver answers in order, each STATUS belongs to the oldest object
 *     in flight;
 *   - after the first STATUS false nothing new is sent; the loop reads the
 *     replies still owed (a receiver with the extensions answers them false,
 *     a version-0 one may hang up instead: then the refusal stands).
 *
 * A window of 1 is version 0's stop-and-wait exactly.
 */
import { PUSHER_CONTEXT } from '../../spec/machines.generated.js';
import { ProtocolError } from '../errors.js';
import type { Endpoint } from './endpoint.js';
import type { PlannedObject } from './push-plan.js';

export const DEFAULT_WINDOW = 64;
export const DEFAULT_WINDOW_BYTES = 8 * 1024 * 1024;
/**
 * The machine's bound on `inFlight` (spec/machines/pusher.json context): a
 * larger window would have the machine refuse the next PUTOBJECT.
 */
export const MAX_WINDOW: number = PUSHER_CONTEXT.inFlight.max;

export interface PipelineOptions {
  window: number;
  windowBytes: number;
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
}

export async function sendPipelined(ep: Endpoint, objects: readonly PlannedObject[], o: PipelineOptions): Promise<PipelineResult> {
  const window = Math.max(1, Math.min(MAX_WINDOW, Math.floor(o.window)));
  const inFlight: PlannedObject[] = [];
  let bytesInFlight = 0;
  let maxInFlight = 0;
  let sent = 0;
  let bytes = 0;
  let refusal: string | undefined;
  let stop = false; // the reader saw the end of the stream or failed
  let senderDone = false;
  /** The reader failed while the sender was still fine (its failure then caused the sender's). */
  let readFailedFirst = false;
  let sendError: unknown;
  /** spec/machines/pusher.json `windowOpen` for sending `next` now: always open when nothing is in flight. */
  const windowOpen = (next: PlannedObject): boolean =>
    inFlight.length === 0 || (inFlight.length < window && bytesInFlight + next.size <= o.windowBytes);
  let wake: () => void = () => undefined;
  let changed = new Promise<void>((r) => (wake = r));
  const bump = (): void => {
    const w = wake;
    changed = new Promise<void>((r) => (wake = r));
    w();
  };

  const reader = (async (): Promise<void> => {
    try {
      for (;;) {
        while (inFlight.length === 0) {
          if (senderDone || stop) return;
          await changed;
        }
        const head = inFlight[0] as PlannedObject;
        const st = await ep.receive();
        if (st === null) {
          stop = true;
          if (refusal === undefined) throw await o.closed(`awaiting the STATUS for ${head.name}`);
          return;
        }
        if (st.message.type !== 'STATUS') throw new ProtocolError('INTERNAL', 'the machine let a non-STATUS through', {});
        inFlight.shift();
        bytesInFlight -= head.size;
        if (!st.message.result) refusal ??= `${head.name}: ${st.message.message}`;
        else if (refusal === undefined) {
          sent++;
          bytes += head.size;
          o.onAnswered?.(head, sent, bytes);
        }
        bump();
      }
    } catch (e) {
      stop = true;
      readFailedFirst = sendError === undefined;
      bump();
      // A write may be blocked on a receiver that stopped reading: free it.
      o.abort();
      throw e;
    }
  })();
  // The reader's failure is handled below; keep it from being reported as unhandled meanwhile.
  reader.catch(() => undefined);

  try {
    for (const [i, obj] of objects.entries()) {
      while (!windowOpen(obj) && refusal === undefined && !stop) await changed;
      if (refusal !== undefined || stop) break;
      // Let replies that already arrived (a refusal) be read before the next
      // object goes out: a synchronous openRead no longer yields by itself.
      if (inFlight.length > 0) await new Promise<void>((r) => setImmediate(r));
      if (refusal !== undefined || stop) break;
      // The machine's guards, from the data this loop owns, before the object joins those in flight.
      const guards = { moreObjects: i < objects.length, windowOpen: windowOpen(obj) };
      const payload = o.openRead(obj);
      inFlight.push(obj);
      bytesInFlight += obj.size;
      maxInFlight = Math.max(maxInFlight, inFlight.length);
      bump();
      try {
        await ep.sendPutObject({ object: obj.name, size: BigInt(obj.size) }, payload, guards);
      } finally {
        payload.close();
      }
    }
  } catch (e) {
    sendError = e;
  }
  senderDone = true;
  bump();
  if (sendError !== undefined) {
    // A receiver that refused may hang up while we write: read what it said first.
    let readError: unknown;
    try {
      await reader;
    } catch (e) {
      readError = e;
    }
    if (refusal !== undefined) return { sent, bytes, refusal, maxInFlight };
    // The reader failing first (an idle timeout) aborted the output: its error is the cause, the write's a consequence.
    throw readFailedFirst && readError !== undefined ? readError : sendError;
  }
  try {
    await reader;
  } catch (e) {
    o.abort();
    throw e;
  }
  return refusal === undefined ? { sent, bytes, maxInFlight } : { sent, bytes, refusal, maxInFlight };
}
