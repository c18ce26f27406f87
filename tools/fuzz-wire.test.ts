import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeMessage } from '../src/wire/messages.js';
import { FUZZ_MAX_PAYLOAD, fuzzCase, fuzzInputArb } from './fuzz-wire.js';

describe('reader fuzzing (short run; `npx tsx tools/fuzz-wire.ts --runs 100000` for a long one)', () => {
  it('ends every input cleanly or with a typed error, in time', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fuzzInputArb, async (input) => {
        const code = (await fuzzCase(input)).split('/')[0]!;
        seen.set(code, (seen.get(code) ?? 0) + 1);
      }),
      { numRuns: 3000, interruptAfterTimeLimit: 8000 },
    );
    // The mix reaches deep into the reader, not only the first byte.
    for (const code of ['EOF', 'WIRE_BAD_ORDER', 'WIRE_TRUNCATED', 'WIRE_BAD_BODY', 'WIRE_PAYLOAD_TOO_LARGE']) {
      assert.ok((seen.get(code) ?? 0) > 0, `no case ended in ${code}: ${JSON.stringify([...seen])}`);
    }
  });

  it('refuses a 2^60 size without allocating for it', async () => {
    const before = process.memoryUsage().arrayBuffers;
    const bytes = encodeMessage({ type: 'PUTOBJECT', object: 'x.filez', size: 2n ** 60n, extra: new Map() });
    assert.equal(await fuzzCase({ bytes, cuts: [], iterate: true }), 'WIRE_PAYLOAD_TOO_LARGE');
    assert.ok(FUZZ_MAX_PAYLOAD < 2n ** 60n);
    assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024);
  });
});
