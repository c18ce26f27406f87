/**
 * Writes framed messages to a byte stream (spec/protocol.md, "Framing"):
 * header and body in the chosen byte order ('le' unless told), and after a
 * PUTOBJECT exactly `size` payload bytes.
 *
 * Backpressure: when `write()` returns false the writer waits for 'drain'
 * before writing more, so at most the stream's highWaterMark plus one chunk
 * is buffered. If the stream errors or closes, the pending and every later
 * call fail with WIRE_STREAM_CLOSED (the stream's error as `cause`).
 *
 * Coalescing: the first write of a turn corks the stream and the next tick
 * uncorks it, so everything written in between (a receiver's STATUS for
 * each small object of one incoming chunk; a pusher's PUTOBJECT header and
 * payload) leaves in one writev instead of one system call per message.
 * Nothing waits on it: the tick comes as soon as the caller awaits anything
 * (`flush()` for a caller that needs the bytes in the stream now; `end()`
 * flushes too, `destroy()` of the stream drops what is corked).
 *
 * A payload that turns out shorter or longer than its announced size is
 * WIRE_PAYLOAD_SIZE_MISMATCH. The header has already gone out by then, so the
 * stream is out of step with the peer: the writer refuses further use and the
 * caller must abandon the connection.
 */
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { type OstreePushError, WireError } from '../errors.js';
import type { ByteOrder } from './constants.js';
import { encodeMessage, type Message, type PutObjectMessage } from './messages.js';

/**
 * Encoded bytes of frozen messages (a receiver's STATUS true, sent once per
 * object), by byte order. A frozen message is taken as immutable; the bytes
 * are shared by every write of it, and streams never modify what they get.
 */
const frozenBytes = new WeakMap<Message, Partial<Record<ByteOrder, Uint8Array>>>();

function encoded(message: Message, order: ByteOrder): Uint8Array {
  if (!Object.isFrozen(message)) return encodeMessage(message, order);
  let cached = frozenBytes.get(message);
  if (cached === undefined) {
    cached = {};
    frozenBytes.set(message, cached);
  }
  const bytes = cached[order] ?? encodeMessage(message, order);
  cached[order] = bytes;
  return bytes;
}

export class MessageWriter {
  readonly #w: Writable;
  #error: Error | null = null;
  #closed = false;
  #broken: OstreePushError | null = null;
  #bytesWritten = 0;
  #corked = false;
  /** The PUTOBJECT whose body went out and whose payload must come next. */
  #owed: PutObjectMessage | null = null;

  constructor(w: Writable) {
    this.#w = w;
    // Owning the stream, the writer records its failure and reports it from
    // the next call, instead of leaving an 'error' event unhandled.
    w.on('error', (e: Error) => {
      this.#error ??= e;
    });
    w.on('close', () => {
      this.#closed = true;
    });
  }

  /** Bytes handed to the stream so far. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Sends a message without payload. A PUTOBJECT goes through sendPutObject (except size 0). */
  async send(message: Message, order: ByteOrder = 'le'): Promise<void> {
    if (message.type === 'PUTOBJECT' && message.size !== 0n) {
      throw new WireError('WIRE_PAYLOAD_SIZE_MISMATCH', 'a PUTOBJECT with a payload must be sent with sendPutObject', {
        object: message.object,
        expected: String(message.size),
        actual: '0',
      });
    }
    this.#check();
    this.#checkNotOwed();
    await this.#write(encoded(message, order));
  }

  /** Sends PUTOBJECT and streams its payload, which must hold exactly `size` bytes. */
  async sendPutObject(
    put: Pick<PutObjectMessage, 'object' | 'size'> & { extra?: PutObjectMessage['extra'] },
    payload: AsyncIterable<Uint8Array>,
    order: ByteOrder = 'le',
  ): Promise<void> {
    const message: PutObjectMessage = { type: 'PUTOBJECT', object: put.object, size: put.size, extra: put.extra ?? new Map() };
    await this.sendPutObjectBody(message, order);
    await this.sendPayload(payload);
  }

  /**
   * Sends a PUTOBJECT's header and body only; `sendPayload` must follow
   * before anything else is sent (the peer expects the payload next).
   */
  async sendPutObjectBody(message: PutObjectMessage, order: ByteOrder = 'le'): Promise<void> {
    this.#check();
    this.#checkNotOwed();
    this.#owed = message;
    await this.#write(encodeMessage(message, order));
  }

  /** Streams the payload owed after `sendPutObjectBody`: exactly its `size` bytes. */
  async sendPayload(payload: AsyncIterable<Uint8Array>): Promise<void> {
    const put = this.#owed;
    if (put === null) throw new WireError('WIRE_PAYLOAD_SIZE_MISMATCH', 'a payload must follow a PUTOBJECT body', { object: '', expected: '0', actual: 'a payload' });
    this.#owed = null;
    this.#check();
    let sent = 0n;
    try {
      for await (const chunk of payload) {
        if (chunk.length === 0) continue;
        if (sent + BigInt(chunk.length) > put.size) {
          throw this.#break(put, `more than ${put.size}`);
        }
        sent += BigInt(chunk.length);
        await this.#write(chunk);
      }
    } catch (e) {
      // The payload source failed (or overran): the peer still expects the
      // rest of the payload, so this stream cannot carry another message.
      const streamFailed = e instanceof WireError && e.code === 'WIRE_STREAM_CLOSED';
      if (this.#broken === null && !streamFailed) this.#break(put, `${sent} (aborted)`);
      throw e;
    }
    if (sent !== put.size) throw this.#break(put, String(sent));
  }

  /** A PUTOBJECT body was sent and its payload not yet. */
  get owesPayload(): boolean {
    return this.#owed !== null;
  }

  /** Hands what this turn has written to the stream now, instead of at the next tick. */
  flush(): void {
    if (!this.#corked) return;
    this.#corked = false;
    this.#w.uncork();
  }

  /** Ends the stream and waits until everything written is flushed. */
  async end(): Promise<void> {
    this.#check();
    this.#w.end();
    try {
      await finished(this.#w);
    } catch (e) {
      throw this.#closedError(e);
    }
  }

  #break(put: { object: string; size: bigint }, actual: string): WireError {
    const e = new WireError('WIRE_PAYLOAD_SIZE_MISMATCH', `payload of ${put.object} is ${actual} bytes, not the announced ${put.size}`, {
      object: put.object,
      expected: String(put.size),
      actual,
    });
    this.#broken = e;
    return e;
  }

  #closedError(cause?: unknown): WireError {
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    return new WireError('WIRE_STREAM_CLOSED', `the output stream is closed${why}`, {}, cause === undefined ? {} : { cause });
  }

  #check(): void {
    if (this.#error !== null) throw this.#closedError(this.#error);
    const w = this.#w;
    if (this.#closed || w.destroyed || w.writableEnded) throw this.#closedError();
    if (this.#broken !== null) throw this.#broken;
  }

  /** Anything but the payload owed after a PUTOBJECT body would put the stream out of step. */
  #checkNotOwed(): void {
    const put = this.#owed;
    if (put !== null) throw this.#break(put, '0 (another message was sent instead)');
  }

  async #write(chunk: Uint8Array): Promise<void> {
    this.#check();
    if (!this.#corked) {
      this.#corked = true;
      this.#w.cork();
      process.nextTick(() => this.flush());
    }
    const ok = this.#w.write(chunk);
    this.#bytesWritten += chunk.length;
    if (!ok) await this.#drain();
  }

  #drain(): Promise<void> {
    const w = this.#w;
    return new Promise<void>((resolve, reject) => {
      if (this.#closed || w.destroyed) {
        reject(this.#closedError(this.#error ?? undefined));
        return;
      }
      const done = (err: WireError | null) => {
        w.off('drain', onDrain);
        w.off('error', onError);
        w.off('close', onClose);
        if (err === null) resolve();
        else reject(err);
      };
      const onDrain = () => done(null);
      const onError = (e: Error) => done(this.#closedError(e));
      const onClose = () => done(this.#closedError(this.#error ?? undefined));
      w.on('drain', onDrain);
      w.on('error', onError);
      w.on('close', onClose);
    });
  }
}
