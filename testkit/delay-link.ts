/**
 * A one-way in-memory stream that delivers every chunk `ms` milliseconds
 * after it was written, in order: half of a link with a round trip of 2×ms.
 * Writes never block (the test decides how much is in flight), so it models
 * latency, not bandwidth. For protocol tests; sim/link.ts is the full model.
 */
import { PassThrough, Writable } from 'node:stream';

export interface DelayedPipe {
  /** Write here (the sender's output). */
  input: Writable;
  /** Read here (the peer's input). */
  output: PassThrough;
}

export function delayedPipe(ms: number): DelayedPipe {
  const output = new PassThrough();
  if (ms <= 0) return { input: output, output };
  const input = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const copy = Buffer.from(chunk);
      setTimeout(() => output.write(copy), ms);
      cb();
    },
    final(cb) {
      setTimeout(() => {
        output.end();
        cb();
      }, ms);
    },
    destroy(err, cb) {
      setTimeout(() => output.destroy(), ms);
      cb(err);
    },
  });
  return { input, output };
}
