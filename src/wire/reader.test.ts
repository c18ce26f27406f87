import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough, Readable } from 'node:stream';
import fc from 'fast-check';
import { WireError } from '../errors.js';
import { Variant } from '../gvariant/index.js';
import { messageArb, orderArb } from '../../testkit/wire-arb.js';
import { encodeHeader } from './header.js';
import { encodeMessage, encodeStatus, type Message } from './messages.js';
import { MessageReader, type ReadResult } from './reader.js';

interface Framed {
  message: Message;
  payload: Uint8Array | null;
}

/** A message as bytes, with a payload of its `size` for PUTOBJECT (sizes kept small). */
function frame(m: Message, order: 'le' | 'be', seed: number): { framed: Framed; bytes: Uint8Array; parts: number[] } {
  if (m.type === 'PUTOBJECT') m = { ...m, size: m.size % 300n };
  const head = encodeMessage(m, order);
  if (m.type !== 'PUTOBJECT') return { framed: { message: m, payload: null }, bytes: head, parts: [5, head.length - 5] };
  const payload = Uint8Array.from({ length: Number(m.size) }, (_, i) => (i * 31 + seed) & 0xff);
  return { framed: { message: m, payload }, bytes: concat([head, payload]), parts: [5, head.length - 5, payload.length] };
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

async function* chunked(bytes: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (const c of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (c <= at || c >= bytes.length) continue;
    yield bytes.slice(at, c);
    at = c;
  }
  if (at < bytes.length) yield bytes.slice(at);
}

async function* bytewise(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i++) yield bytes.slice(i, i + 1);
}

async function readAll(reader: MessageReader): Promise<Framed[]> {
  const out: Framed[] = [];
  for (;;) {
    const r: ReadResult | null = await reader.next();
    if (r === null) break;
    let payload: Uint8Array | null = null;
    if (r.payload) {
      const parts: Uint8Array[] = [];
      for await (const c of r.payload) parts.push(c.slice());
      payload = concat(parts);
    }
    out.push({ message: r.message, payload });
  }
  return out;
}

function wireCode(code: string, data: Record<string, unknown> = {}) {
  return (e: unknown) => e instanceof WireError && e.code === code && Object.entries(data).every(([k, v]) => e.data[k] === v);
}

const streamArb = fc
  .tuple(fc.array(fc.tuple(messageArb, orderArb), { minLength: 1, maxLength: 5 }), fc.nat())
  .map(([ms, seed]) => {
    const framed = ms.map(([m, o], i) => frame(m, o, seed + i));
    return { expected: framed.map((f) => f.framed), bytes: concat(framed.map((f) => f.bytes)), framed };
  });

describe('MessageReader', () => {
  it('yields the same messages and payloads for any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(streamArb, fc.array(fc.nat(), { maxLength: 30 }), async ({ expected, bytes }, cuts) => {
        const reader = new MessageReader(chunked(bytes, cuts.map((c) => c % (bytes.length + 1))));
        assert.deepEqual(await readAll(reader), expected);
        assert.equal(reader.bytesRead, bytes.length);
        assert.equal(reader.messagesRead, expected.length);
      }),
      { numRuns: 150, interruptAfterTimeLimit: 4000 },
    );
  });

  it('yields the same messages from 1-byte chunks', async () => {
    await fc.assert(
      fc.asyncProperty(streamArb, async ({ expected, bytes }) => {
        assert.deepEqual(await readAll(new MessageReader(bytewise(bytes))), expected);
      }),
      { numRuns: 40, interruptAfterTimeLimit: 3000 },
    );
  });

  it('reads from a Node Readable', async () => {
    const { bytes, expected } = fc.sample(streamArb, { numRuns: 1, seed: 7 })[0]!;
    const pass = new PassThrough();
    pass.end(Buffer.from(bytes));
    assert.deepEqual(await readAll(new MessageReader(pass)), expected);
  });

  it('ends cleanly at every message boundary and reports truncation everywhere else', async () => {
    const { bytes, framed } = fc.sample(streamArb.filter((s) => s.framed.some((f) => f.parts.length === 3 && f.parts[2]! > 0)), {
      numRuns: 1,
      seed: 42,
    })[0]!;
    // Segment ends (header, body, payload) and the stages they close.
    const ends: { end: number; stage: string; boundary: boolean }[] = [];
    let at = 0;
    for (const f of framed) {
      f.parts.forEach((len, i) => {
        at += len;
        ends.push({ end: at, stage: ['header', 'body', 'payload'][i]!, boundary: i === f.parts.length - 1 });
      });
    }
    let truncations = 0;
    for (let cut = 0; cut <= bytes.length; cut++) {
      const reader = new MessageReader(chunked(bytes.subarray(0, cut), [1, 3, 9]));
      if (cut === 0 || ends.some((s) => s.end === cut && s.boundary)) {
        await readAll(reader);
        continue;
      }
      // The first segment not complete at the cut is where bytes are missing.
      const open = ends.find((s) => s.end > cut)!;
      await assert.rejects(readAll(reader), wireCode('WIRE_TRUNCATED', { stage: open.stage, missing: open.end - cut }), `cut at ${cut}`);
      truncations++;
    }
    assert.equal(truncations, bytes.length - framed.length);
  });

  it('surfaces EOF inside a payload from the payload stream', async () => {
    const head = encodeMessage({ type: 'PUTOBJECT', object: 'o.filez', size: 10n, extra: new Map() });
    const reader = new MessageReader(chunked(concat([head, new Uint8Array(4)]), []));
    const r = (await reader.next())!;
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const c of r.payload!) seen.push(c.length);
      })(),
      wireCode('WIRE_TRUNCATED', { stage: 'payload', missing: 6 }),
    );
    assert.deepEqual(seen, [4]);
    await assert.rejects(reader.next(), wireCode('WIRE_TRUNCATED'), 'the reader stays failed');
  });

  it('rejects a body whose length field lies', async () => {
    const body = encodeStatus({ result: true, message: 'fine' });
    for (const delta of [-3, -1, 1, 2]) {
      const lying = concat([encodeHeader({ order: 'le', version: 0, type: 'STATUS', length: body.length + delta }), body, encodeMessage({ type: 'DONE', extra: new Map() })]);
      await assert.rejects(
        readAll(new MessageReader(chunked(lying, []))),
        (e) => e instanceof WireError && ['WIRE_BAD_BODY', 'WIRE_BAD_ORDER', 'WIRE_TRUNCATED'].includes(e.code),
        `delta ${delta}`,
      );
    }
    // One byte too long, with a stray byte in the body: the body itself is refused.
    const long = concat([encodeHeader({ order: 'le', version: 0, type: 'STATUS', length: body.length + 1 }), body, new Uint8Array([0])]);
    await assert.rejects(readAll(new MessageReader(chunked(long, []))), wireCode('WIRE_BAD_BODY'));
  });

  it('refuses an oversized payload before reading any payload byte', async () => {
    const head = encodeMessage({ type: 'PUTOBJECT', object: 'huge.filez', size: 2n ** 60n, extra: new Map() });
    let pulledPayload = false;
    async function* source() {
      yield head;
      pulledPayload = true;
      yield new Uint8Array(1024);
    }
    const reader = new MessageReader(source(), { maxPayloadSize: 1024 });
    await assert.rejects(reader.next(), wireCode('WIRE_PAYLOAD_TOO_LARGE', { size: String(2n ** 60n), max: '1024' }));
    assert.equal(pulledPayload, false);
    assert.equal(reader.bytesReceived, head.length);
  });

  it('accepts a payload of exactly maxPayloadSize', async () => {
    const head = encodeMessage({ type: 'PUTOBJECT', object: 'o', size: 8n, extra: new Map() });
    const got = await readAll(new MessageReader(chunked(concat([head, new Uint8Array(8).fill(7)]), []), { maxPayloadSize: 8n }));
    assert.deepEqual(got[0]!.payload, new Uint8Array(8).fill(7));
  });

  it('requires the payload to be consumed or skipped before the next message', async () => {
    const put = encodeMessage({ type: 'PUTOBJECT', object: 'o', size: 5n, extra: new Map() });
    const done = encodeMessage({ type: 'DONE', extra: new Map([['k', new Variant('s', 'v')]]) });
    const reader = new MessageReader(bytewise(concat([put, new Uint8Array(5), done])));
    const r = (await reader.next())!;
    await assert.rejects(reader.next(), wireCode('WIRE_PAYLOAD_PENDING'));
    await r.payload!.skip();
    assert.equal(r.payload!.received, 5n);
    assert.equal((await reader.next())!.message.type, 'DONE');
    assert.equal(await reader.next(), null);
    assert.equal(await reader.next(), null);
  });

  it('continues a payload after the consumer broke out of its loop', async () => {
    const put = encodeMessage({ type: 'PUTOBJECT', object: 'o', size: 4n, extra: new Map() });
    const reader = new MessageReader(bytewise(concat([put, Uint8Array.of(1, 2, 3, 4)])));
    const r = (await reader.next())!;
    const got: number[] = [];
    for await (const c of r.payload!) {
      got.push(...c);
      break;
    }
    for await (const c of r.payload!) got.push(...c);
    assert.deepEqual(got, [1, 2, 3, 4]);
    assert.equal(await reader.next(), null);
  });

  it('holds at most one incoming chunk of a large payload', async () => {
    const chunk = 64 * 1024;
    const count = 160; // 10 MiB
    const put = encodeMessage({ type: 'PUTOBJECT', object: 'big', size: BigInt(chunk * count), extra: new Map() });
    let produced = 0;
    let consumed = 0;
    let maxAhead = 0;
    async function* source() {
      yield put;
      for (let i = 0; i < count; i++) {
        produced++;
        maxAhead = Math.max(maxAhead, produced - consumed);
        yield new Uint8Array(chunk);
      }
    }
    const reader = new MessageReader(source());
    const r = (await reader.next())!;
    for await (const c of r.payload!) {
      assert.ok(c.length <= chunk);
      consumed++;
    }
    assert.equal(r.payload!.received, BigInt(chunk * count));
    assert.ok(maxAhead <= 1, `source ran ${maxAhead} chunks ahead`);
  });

  it('hands payload bytes that share a chunk with the next message correctly', async () => {
    const put = encodeMessage({ type: 'PUTOBJECT', object: 'o', size: 3n, extra: new Map() }, 'be');
    const done = encodeMessage({ type: 'DONE', extra: new Map() }, 'be');
    const all = concat([put, Uint8Array.of(9, 8, 7), done, put, Uint8Array.of(1, 2, 3)]);
    const got = await readAll(new MessageReader(Readable.from([Buffer.from(all)])));
    assert.deepEqual(got.map((f) => [f.message.type, f.payload && [...f.payload]]), [
      ['PUTOBJECT', [9, 8, 7]],
      ['DONE', null],
      ['PUTOBJECT', [1, 2, 3]],
    ]);
  });

  it('wraps a failing source as WIRE_STREAM_CLOSED', async () => {
    async function* source() {
      yield Uint8Array.of(0x6c, 0);
      throw new Error('ECONNRESET');
    }
    await assert.rejects(new MessageReader(source()).next(), wireCode('WIRE_STREAM_CLOSED'));
  });

  it('refuses garbage at its first byte', async () => {
    let pulls = 0;
    async function* source() {
      for (;;) {
        pulls++;
        yield Uint8Array.of(0x00);
      }
    }
    await assert.rejects(new MessageReader(source()).next(), wireCode('WIRE_BAD_ORDER'));
    assert.equal(pulls, 1);
  });
});
