/**
 * An input stream with an idle limit: a peer that sends nothing for `ms`
 * milliseconds while we wait for it ends the session with
 * PROTOCOL_IDLE_TIMEOUT (the receiver must not hold its staging directory
 * and the repository's attention forever). Time we spend working between
 * reads does not count: the clock runs only while a read is pending.
 */
import { ProtocolError } from '../errors.js';

export async function* idleLimited(source: AsyncIterable<Uint8Array>, ms: number): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ProtocolError('PROTOCOL_IDLE_TIMEOUT', `the pusher sent nothing for ${ms} ms; giving up`, { ms })), ms);
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
