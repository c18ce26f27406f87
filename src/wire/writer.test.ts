import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough, Writable } from 'node:stream';
import fc from 'fast-check';
import { WireError } from '../errors.js';
import { messageArb, orderArb } from '../../testkit/wire-arb.js';
import { encodeMessage, type Message } from './messages.js';
import { MessageReader } from './reader.js';
import { MessageWriter } from './writer.js';

function wireCode(code: string) {
  return (e: unknown) => e instanceof WireError && e.code === code;
}

/** A Writable that keeps what it gets and takes a macrotask per chunk. */
function slowSink(highWaterMark: number) {
  const got: Buffer[] = [];
  const w = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      got.push(chunk);
      setImmediate(cb);
    },
  });
  return { w, bytes: () => new Uint8Array(Buffer.concat(got)) };
}

async function* chunksOf(n: number, size: number, onYield?: () => void): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < n; i++) {
    onYield?.();
    yield new Uint8Array(size).fill(i & 0xff);
  }
}

describe('MessageWriter', () => {
  it('writes exactly the encoded bytes of each message', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(messageArb.filter((m) => m.type !== 'PUTOBJECT' || m.size === 0n), orderArb), { maxLength: 4 }), async (ms) => {
        const sink = slowSink(64);
        const writer = new MessageWriter(sink.w);
        for (const [m, o] of ms) await writer.send(m, o);
        await writer.end();
        const expected = Buffer.concat(ms.map(([m, o]) => encodeMessage(m, o)));
        assert.deepEqual(Buffer.from(sink.bytes()), expected);
        assert.equal(writer.bytesWritten, expected.length);
      }),
      { numRuns: 40, interruptAfterTimeLimit: 3000 },
    );
  });

  it('hands the messages of one turn to the stream in one writev, at the next tick or on flush()', async () => {
    const calls: number[] = [];
    const w = new Writable({
      write(_chunk: Buffer, _enc, cb) {
        calls.push(1);
        cb();
      },
      writev(chunks, cb) {
        calls.push(chunks.length);
        cb();
      },
    });
    const writer = new MessageWriter(w);
    const status: Message = { type: 'STATUS', result: true, message: '', extra: new Map() };
    for (let i = 0; i < 5; i++) await writer.send(status);
    assert.deepEqual(calls, [], 'nothing reaches the stream within the turn');
    await new Promise((r) => process.nextTick(r));
    assert.deepEqual(calls, [5], 'one writev of five messages');
    await writer.send(status);
    await writer.send(status);
    writer.flush();
    assert.deepEqual(calls, [5, 2]);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls, [5, 2], 'the tick after a flush finds nothing corked');
  });

  it('writes a frozen message as encodeMessage would, in either byte order, each time', async () => {
    const got: Buffer[] = [];
    const w = new Writable({ write(chunk: Buffer, _enc, cb) { got.push(Buffer.from(chunk)); cb(); } });
    const writer = new MessageWriter(w);
    const status: Message = Object.freeze({ type: 'STATUS', result: false, message: 'no', extra: new Map() });
    for (const order of ['le', 'be', 'le'] as const) {
      await writer.send(status, order);
      writer.flush();
    }
    assert.deepEqual(got.map((b) => new Uint8Array(b)), [encodeMessage(status, 'le'), encodeMessage(status, 'be'), encodeMessage(status, 'le')]);
  });

  it('uses little endian unless told', async () => {
    const sink = slowSink(64);
    const w = new MessageWriter(sink.w);
    await w.send({ type: 'DONE', extra: new Map() });
    await w.send({ type: 'DONE', extra: new Map() }, 'be');
    await w.end();
    assert.deepEqual([...sink.bytes()], [0x6c, 0, 4, 0, 0, 0x42, 0, 4, 0, 0]);
  });

  it('streams a PUTOBJECT payload that a reader reads back', async () => {
    const pipe = new PassThrough();
    const writer = new MessageWriter(pipe);
    const reader = new MessageReader(pipe);
    const sending = (async () => {
      await writer.sendPutObject({ object: 'x.filez', size: 3000n }, chunksOf(3, 1000), 'be');
      await writer.send({ type: 'DONE', extra: new Map() }, 'be');
      await writer.end();
    })();
    const r = (await reader.next())!;
    assert.equal(r.order, 'be');
    assert.deepEqual(r.message, { type: 'PUTOBJECT', object: 'x.filez', size: 3000n, extra: new Map() });
    const got: number[] = [];
    for await (const c of r.payload!) got.push(...c);
    assert.equal(got.length, 3000);
    assert.deepEqual([got[0], got[1000], got[2999]], [0, 1, 2]);
    assert.equal((await reader.next())!.message.type, 'DONE');
    assert.equal(await reader.next(), null);
    await sending;
  });

  it('buffers no more than highWaterMark plus one chunk while streaming a payload', async () => {
    const hwm = 16;
    const chunk = 32;
    const n = 200;
    const sink = slowSink(hwm);
    let maxBuffered = 0;
    const writer = new MessageWriter(sink.w);
    await writer.sendPutObject({ object: 'o', size: BigInt(n * chunk) }, chunksOf(n, chunk, () => {
      maxBuffered = Math.max(maxBuffered, sink.w.writableLength);
    }));
    await writer.end();
    assert.ok(maxBuffered <= hwm + chunk, `buffered up to ${maxBuffered} bytes`);
    const put: Message = { type: 'PUTOBJECT', object: 'o', size: BigInt(n * chunk), extra: new Map() };
    assert.equal(sink.bytes().length, encodeMessage(put).length + n * chunk);
  });

  it('refuses a payload shorter or longer than announced, and stays refused', async () => {
    for (const [size, n] of [[100n, 2], [100n, 5]] as const) {
      const writer = new MessageWriter(slowSink(1024).w);
      await assert.rejects(writer.sendPutObject({ object: 'o', size }, chunksOf(n, 30)), wireCode('WIRE_PAYLOAD_SIZE_MISMATCH'));
      await assert.rejects(writer.send({ type: 'DONE', extra: new Map() }), wireCode('WIRE_PAYLOAD_SIZE_MISMATCH'));
    }
  });

  it('never writes the bytes past the announced size', async () => {
    const sink = slowSink(1024);
    const writer = new MessageWriter(sink.w);
    await assert.rejects(writer.sendPutObject({ object: 'o', size: 50n }, chunksOf(2, 30)), wireCode('WIRE_PAYLOAD_SIZE_MISMATCH'));
    await new Promise((r) => setImmediate(r));
    const head = encodeMessage({ type: 'PUTOBJECT', object: 'o', size: 50n, extra: new Map() });
    assert.equal(writer.bytesWritten, head.length + 30);
  });

  it('passes a payload source error on and refuses further use', async () => {
    const writer = new MessageWriter(slowSink(1024).w);
    async function* failing() {
      yield new Uint8Array(10);
      throw new Error('EIO');
    }
    await assert.rejects(writer.sendPutObject({ object: 'o', size: 100n }, failing()), /EIO/);
    await assert.rejects(writer.send({ type: 'DONE', extra: new Map() }), wireCode('WIRE_PAYLOAD_SIZE_MISMATCH'));
  });

  it('refuses send() of a PUTOBJECT that has a payload', async () => {
    const writer = new MessageWriter(slowSink(64).w);
    await assert.rejects(writer.send({ type: 'PUTOBJECT', object: 'o', size: 1n, extra: new Map() }), wireCode('WIRE_PAYLOAD_SIZE_MISMATCH'));
  });

  it('fails with WIRE_STREAM_CLOSED when the stream is destroyed mid-payload', async () => {
    const sink = slowSink(16);
    const writer = new MessageWriter(sink.w);
    let i = 0;
    const sending = writer.sendPutObject({ object: 'o', size: 100_000n }, chunksOf(1000, 100, () => {
      if (++i === 10) sink.w.destroy(new Error('EPIPE'));
    }));
    await assert.rejects(sending, wireCode('WIRE_STREAM_CLOSED'));
    await assert.rejects(writer.send({ type: 'DONE', extra: new Map() }), wireCode('WIRE_STREAM_CLOSED'));
  });

  it('fails with WIRE_STREAM_CLOSED while waiting for drain on a stream closed without error', async () => {
    const sink = slowSink(1);
    const writer = new MessageWriter(sink.w);
    const sending = writer.send({ type: 'STATUS', result: true, message: 'x'.repeat(100), extra: new Map() });
    sink.w.destroy();
    await assert.rejects(sending, wireCode('WIRE_STREAM_CLOSED'));
  });

  it('refuses to write to an ended stream', async () => {
    const sink = slowSink(64);
    const writer = new MessageWriter(sink.w);
    await writer.end();
    await assert.rejects(writer.send({ type: 'DONE', extra: new Map() }), wireCode('WIRE_STREAM_CLOSED'));
  });
});
