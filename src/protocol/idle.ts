/**
 * An input stream with an idle limit: a peer that sends nothing for `ms`
 * milliseconds while we wait for it ends the session with an error
 * (PROTOCOL_IDLE_TIMEOUT by default: the receiver must not hold its staging
 * directory and the repository's attention forever; the pusher passes
 * TRANSPORT_IDLE_TIMEOUT). Time we spend working between reads does not
 * count: the clock runs only while a read is pending.
 *
 * `progress`, when given, counts our own bytes the peer has taken from the
 * link (written minus still buffered). While it moves the peer is alive,
 * only busy reading what we send: a pusher streaming one large object waits
 * for its STATUS all along and must not give up on a receiver that is
 * reading it. It is sampled every quarter of `ms`, so the limit then ends a
 * wait between `ms` and 1.25 `ms` after the last sign of life.
 *
 * `deadline`, when given, ends any read still pending at that time: the
 * receiver's whole-session limit, against a pusher that sends one byte
 * just often enough never to be idle.
 */
import { ProtocolError } from '../errors.js';

/** The pusher's default idle timeout: a receiver silent this long while we wait for it is given up (here, not in pusher.ts, so the command line reads it without loading the engine). */
export const DEFAULT_PUSH_IDLE_TIMEOUT_MS = 60_000;

export interface IdleOptions {
  /** The error when the time runs out (default PROTOCOL_IDLE_TIMEOUT, about the pusher). */
  error?: (ms: number) => Error;
  /** Bytes of ours the peer has taken so far; a change counts as a sign of life. */
  progress?: () => number;
  /** A read still pending at this time (Date.now() scale) fails with `error()`, however lively the peer. */
  deadline?: { at: number; error: () => Error };
}

const pusherSilent = (ms: number): Error => new ProtocolError('PROTOCOL_IDLE_TIMEOUT', `the pusher sent nothing for ${ms} ms; giving up`, { ms });

export async function* idleLimited(source: AsyncIterable<Uint8Array>, limit: number | (() => number), options: IdleOptions = {}): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  const error = options.error ?? pusherSilent;
  const progress = options.progress;
  const deadline = options.deadline;
  try {
    for (;;) {
      // A function: the limit of this read (the pusher waits longer for the REPORT after DONE).
      const ms = typeof limit === 'number' ? limit : limit();
      const step = progress === undefined ? ms : Math.max(1, Math.floor(ms / 4));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        let last = Date.now();
        let seen = progress?.();
        const tick = (): void => {
          const now = Date.now();
          const p = progress?.();
          if (p !== seen) {
            seen = p;
            last = now;
          }
          const left = ms - (now - last);
          const end = deadline === undefined ? Infinity : deadline.at - now;
          if (end <= 0) reject(deadline?.error());
          else if (left <= 0) reject(error(ms));
          else timer = setTimeout(tick, Math.min(left, step, end));
        };
        timer = setTimeout(tick, Math.max(0, Math.min(ms, step, deadline === undefined ? Infinity : deadline.at - Date.now())));
      });
      let r: IteratorResult<Uint8Array>;
      try {
        r = await Promise.race([it.next(), timeout]);
      } finally {
        clearTimeout(timer);
      }
      if (r.done === true) return;
      yield r.value;
    }
  } finally {
    // Stop the source (a Readable is destroyed); do not wait for a read that may never end.
    void it.return?.()?.catch(() => undefined);
  }
}
