/**
 * The link carries messages intact whatever the chunking and timing, and each
 * fault does what its description says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MessageReader } from '../src/wire/reader.js';
import { MessageWriter } from '../src/wire/writer.js';
import type { Message } from '../src/wire/messages.js';
import { createLink, describeLink, type LinkParams } from './link.js';
import { describeFault, type LinkFault } from './faults.js';

const status = (i: number): Message => ({ type: 'STATUS', result: true, message: `m${i}`, extra: new Map() });
const PAYLOAD = new Uint8Array(3000).map((_, i) => i & 0xff);

/** Sends STATUS m0, PUTOBJECT (3000 bytes), STATUS m2, STATUS m3 up the link; returns what arrived as text. */
async function exchange(params: LinkParams, faults: LinkFault[] = []): Promise<{ got: string[]; error?: string; link: ReturnType<typeof createLink> }> {
  const link = createLink(params, faults);
  const w = new MessageWriter(link.pusher.output);
  const sending = (async () => {
    await w.send(status(0));
    await w.sendPutObject({ object: `${'a'.repeat(64)}.dirmeta`, size: BigInt(PAYLOAD.length) }, [PAYLOAD].values() as unknown as AsyncIterable<Uint8Array>);
    await w.send(status(2));
    await w.send(status(3));
    await w.end();
  })().catch(() => undefined);
  const r = new MessageReader(link.receiver.input);
  const got: string[] = [];
  try {
    for (;;) {
      const m = await r.next();
      if (m === null) break;
      if (m.payload !== undefined) {
        const parts: Uint8Array[] = [];
        for await (const c of m.payload) parts.push(new Uint8Array(c));
        const bytes = Buffer.concat(parts);
        got.push(`PUT:${Buffer.compare(bytes, Buffer.from(PAYLOAD)) === 0 ? 'ok' : 'bad'}`);
      } else if (m.message.type === 'STATUS') got.push(m.message.message);
    }
  } catch (e) {
    await sending;
    return { got, error: (e as { code?: string }).code ?? String(e), link };
  }
  await sending;
  return { got, link };
}

const params = (over: Partial<LinkParams> = {}): LinkParams => ({ seed: 7, minChunk: 1, maxChunk: 700, latencyMs: 0, jitterMs: 0, bandwidth: 0, ...over });

test('messages arrive intact and in order under any chunking, latency and jitter', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        seed: fc.integer(),
        minChunk: fc.integer({ min: 1, max: 64 }),
        maxChunk: fc.integer({ min: 64, max: 1 << 20 }),
        latencyMs: fc.integer({ min: 0, max: 3 }),
        jitterMs: fc.integer({ min: 0, max: 3 }),
        bandwidth: fc.constantFrom(0, 500, 5000),
      }),
      async (p) => {
        const { got, error } = await exchange(p);
        assert.equal(error, undefined, describeLink(p));
        assert.deepEqual(got, ['m0', 'PUT:ok', 'm2', 'm3']);
      },
    ),
    { numRuns: 40, interruptAfterTimeLimit: 8000 },
  );
});

test('the same seed splits the same way', async () => {
  const sizes = async (): Promise<number[]> => {
    const link = createLink(params({ seed: 42, maxChunk: 100 }));
    const out: number[] = [];
    link.receiver.input.on('data', (c: Buffer) => out.push(c.length));
    link.pusher.output.end(Buffer.alloc(1000));
    await new Promise((r) => link.receiver.input.on('end', r));
    return out;
  };
  const a = await sizes();
  assert.ok(a.length > 10);
  assert.deepEqual(await sizes(), a);
});

test('message faults: drop, duplicate, swap', async () => {
  assert.deepEqual((await exchange(params(), [{ kind: 'drop-message', dir: 'up', index: 2 }])).got, ['m0', 'PUT:ok', 'm3']);
  assert.deepEqual((await exchange(params(), [{ kind: 'dup-message', dir: 'up', index: 1 }])).got, ['m0', 'PUT:ok', 'PUT:ok', 'm2', 'm3']);
  assert.deepEqual((await exchange(params(), [{ kind: 'swap-message', dir: 'up', index: 0 }])).got, ['PUT:ok', 'm0', 'm2', 'm3']);
  // A fault in the other direction changes nothing here.
  assert.deepEqual((await exchange(params(), [{ kind: 'drop-message', dir: 'down', index: 0 }])).got, ['m0', 'PUT:ok', 'm2', 'm3']);
});

test('cut after message K: the reader sees a clean end there, the writer a reset', async () => {
  const r = await exchange(params(), [{ kind: 'cut-message', dir: 'up', after: 1 }]);
  assert.deepEqual(r.got, ['m0', 'PUT:ok']);
  assert.equal(r.error, undefined);
  assert.equal(r.link.stats.cut, true);
  assert.equal(r.link.pusher.output.destroyed, true);
});

test('cut at byte N inside a payload: the reader sees a truncation after exactly N bytes', async () => {
  const r = await exchange(params(), [{ kind: 'cut-byte', dir: 'up', at: 500 }]);
  assert.equal(r.error, 'WIRE_TRUNCATED');
  assert.equal(r.link.stats.bytes.up, 500);
});

test('corrupting a payload byte, and dropping or duplicating a chunk, damage what arrives', async () => {
  const c = await exchange(params(), [{ kind: 'corrupt', dir: 'up', at: 1000, bit: 3 }]);
  assert.deepEqual(c.got, ['m0', 'PUT:bad', 'm2', 'm3']);
  const fixed = params({ minChunk: 100, maxChunk: 100 });
  const d = await exchange(fixed, [{ kind: 'drop-chunk', dir: 'up', index: 5 }]);
  // Chunk 5 is payload bytes 500..599 of 100-byte chunks: the reader takes the next
  // 100 bytes (STATUS m2, m3) as payload and finds the stream 100 bytes short.
  assert.deepEqual([d.got, d.error], [['m0'], 'WIRE_TRUNCATED']);
  assert.deepEqual(d.link.stats.fired, [{ kind: 'drop-chunk', dir: 'up', index: 5 }]);
  const s = await exchange(fixed, [{ kind: 'swap-chunk', dir: 'up', index: 5 }]);
  assert.deepEqual(s.got.slice(0, 2), ['m0', 'PUT:bad']);
});

test('a stall holds the bytes until the link is closed', async () => {
  const link = createLink(params(), [{ kind: 'stall', dir: 'up', at: 10 }]);
  const chunks: Buffer[] = [];
  // A pause point, not a sleep: the first bytes arrive in one delivery round with
  // all the others that would (one write is scheduled at once).
  const arrived = new Promise<void>((resolve) =>
    link.receiver.input.on('data', (c: Buffer) => {
      chunks.push(c);
      if (Buffer.concat(chunks).length >= 10) resolve();
    }),
  );
  link.pusher.output.write(Buffer.alloc(100));
  await arrived;
  assert.equal(link.stats.bytes.up, 10, 'the link let 10 bytes through');
  const ended = new Promise((r) => link.receiver.input.on('end', r));
  link.close();
  await ended;
  assert.equal(Buffer.concat(chunks).length, 10, 'nothing past the stall arrived, before or at the close');
});

test('faults print as readable steps', () => {
  assert.equal(describeFault({ kind: 'cut-byte', dir: 'up', at: 5 }), 'cut the connection at byte 5 of pusher→receiver');
  assert.equal(describeFault({ kind: 'kill', at: 'ref', step: 1 }), 'SIGKILL the receiver after ref step 1');
  assert.equal(describeFault({ kind: 'swap-message', dir: 'down', index: 2 }), 'swap message 2 of receiver→pusher');
});
