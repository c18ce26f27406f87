/**
 * Reads framed messages off a byte stream (spec/protocol.md, "Framing"):
 * a 5-byte header, a body of exactly the header's length, and, after a
 * PUTOBJECT only, a payload of exactly the body's `size` bytes.
 *
 * Memory is bounded whatever the peer sends: a header and a body (at most
 * 65,535 bytes) are assembled; a payload never is. It is handed on as an
 * async stream of views into the incoming chunks, so the reader holds at most
 * one incoming chunk (the unread rest of it is the "carry"). A PUTOBJECT whose
 * `size` exceeds `maxPayloadSize` is refused before any payload byte is read.
 *
 * The caller consumes (or `skip()`s) a payload before asking for the next
 * message; asking earlier is WIRE_PAYLOAD_PENDING. After any error the reader
 * is spent: every later `next()` throws the same error.
 */
import { OstreePushError, WireError } from '../errors.js';
import { type ByteOrder, DEFAULT_MAX_PAYLOAD_SIZE, HEADER_SIZE } from './constants.js';
import { decodeHeader, decodeOrderByte, type Header } from './header.js';
import { decodeBody, type Message } from './messages.js';

export interface ReaderOptions {
  /** Largest PUTOBJECT payload accepted, in bytes (default 64 GiB). */
  maxPayloadSize?: bigint | number;
}

export interface ReadResult {
  order: ByteOrder;
  header: Header;
  message: Message;
  /** Present exactly when `message.type` is 'PUTOBJECT'. */
  payload?: Payload;
}

const EMPTY = new Uint8Array(0);

/** The bytes after a PUTOBJECT body, as a bounded async stream. */
export class Payload implements AsyncIterable<Uint8Array> {
  readonly size: bigint;
  #received = 0n;
  readonly #pull: (max: bigint) => Promise<Uint8Array>;

  /** @internal the reader builds these. */
  constructor(size: bigint, pull: (max: bigint) => Promise<Uint8Array>) {
    this.size = size;
    this.#pull = pull;
  }

  /** Payload bytes handed on so far. */
  get received(): bigint {
    return this.#received;
  }

  get done(): boolean {
    return this.#received === this.size;
  }

  /**
   * Yields the payload's bytes in order, as views into the incoming chunks
   * (copy a chunk to keep it past the next step). Iterating again continues
   * where the last iteration stopped. The stream ending early throws
   * WIRE_TRUNCATED from here.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    while (this.#received < this.size) {
      const chunk = await this.#pull(this.size - this.#received);
      this.#received += BigInt(chunk.length);
      yield chunk;
    }
  }

  /** Reads and discards the rest of the payload (to refuse an object and go on). */
  async skip(): Promise<void> {
    while (this.#received < this.size) {
      const chunk = await this.#pull(this.size - this.#received);
      this.#received += BigInt(chunk.length);
    }
  }
}

export class MessageReader {
  readonly #source: AsyncIterator<unknown>;
  readonly #maxPayload: bigint;
  #carry: Uint8Array = EMPTY;
  #eof = false;
  #failed: unknown = null;
  #payload: Payload | null = null;
  #bytesReceived = 0;
  #bytesRead = 0;
  #messagesRead = 0;

  constructor(source: AsyncIterable<Uint8Array>, options: ReaderOptions = {}) {
    this.#source = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    this.#maxPayload = BigInt(options.maxPayloadSize ?? DEFAULT_MAX_PAYLOAD_SIZE);
  }

  /** Bytes taken from the source so far (read plus the carry not yet framed). */
  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  /** Bytes framed so far: headers, bodies and payload bytes handed on. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  get messagesRead(): number {
    return this.#messagesRead;
  }

  /**
   * The next message, or null at a clean end of stream (the source ended
   * exactly at a message boundary).
   */
  async next(): Promise<ReadResult | null> {
    if (this.#failed !== null) throw this.#failed;
    if (this.#payload !== null && !this.#payload.done) {
      throw new WireError('WIRE_PAYLOAD_PENDING', 'the previous PUTOBJECT payload must be consumed or skipped first', {
        size: String(this.#payload.size),
        received: String(this.#payload.received),
      });
    }
    this.#payload = null;
    try {
      return await this.#readMessage();
    } catch (e) {
      throw this.#fail(e);
    }
  }

  async #readMessage(): Promise<ReadResult | null> {
    if (this.#carry.length === 0 && !(await this.#fill())) return null;
    // Refuse garbage at its first byte rather than waiting for five.
    decodeOrderByte(this.#carry[0]!);
    const header = decodeHeader(await this.#readExact(HEADER_SIZE, 'header'));
    const body = await this.#readExact(header.length, 'body');
    const message = decodeBody(header.type, body, header.order);
    this.#messagesRead++;
    if (message.type !== 'PUTOBJECT') return { order: header.order, header, message };
    if (message.size > this.#maxPayload) {
      throw new WireError('WIRE_PAYLOAD_TOO_LARGE', `PUTOBJECT ${message.object} announces ${message.size} bytes; the limit is ${this.#maxPayload}`, {
        object: message.object,
        size: String(message.size),
        max: String(this.#maxPayload),
      });
    }
    const payload = new Payload(message.size, (max) => this.#payloadChunk(max));
    this.#payload = payload;
    return { order: header.order, header, message, payload };
  }

  #fail(e: unknown): unknown {
    let err = e;
    if (!(e instanceof OstreePushError)) {
      err = new WireError('WIRE_STREAM_CLOSED', `the input stream failed: ${e instanceof Error ? e.message : String(e)}`, {}, { cause: e });
    }
    this.#failed = err;
    return err;
  }

  /** Makes the carry non-empty; false at end of stream. */
  async #fill(): Promise<boolean> {
    while (this.#carry.length === 0) {
      if (this.#eof) return false;
      const r = await this.#source.next();
      if (r.done === true) {
        this.#eof = true;
        return false;
      }
      const chunk = r.value;
      if (!(chunk instanceof Uint8Array)) {
        throw new OstreePushError('INTERNAL', 'MessageReader needs a byte stream (Uint8Array chunks, no encoding set)', {});
      }
      this.#bytesReceived += chunk.length;
      this.#carry = chunk;
    }
    return true;
  }

  /** Exactly n bytes: a view of the carry when it holds them, else a copy. */
  async #readExact(n: number, stage: 'header' | 'body'): Promise<Uint8Array> {
    if (n === 0) return EMPTY;
    if (this.#carry.length >= n) return this.#take(n);
    const out = new Uint8Array(n);
    let have = 0;
    while (have < n) {
      if (!(await this.#fill())) {
        throw new WireError('WIRE_TRUNCATED', `stream ended ${n - have} bytes short of a message ${stage}`, {
          stage,
          missing: n - have,
        });
      }
      const part = this.#take(Math.min(n - have, this.#carry.length));
      out.set(part, have);
      have += part.length;
    }
    return out;
  }

  #take(n: number): Uint8Array {
    const part = this.#carry.subarray(0, n);
    this.#carry = this.#carry.subarray(n);
    this.#bytesRead += n;
    return part;
  }

  async #payloadChunk(max: bigint): Promise<Uint8Array> {
    if (this.#failed !== null) throw this.#failed;
    try {
      if (!(await this.#fill())) {
        throw new WireError('WIRE_TRUNCATED', `stream ended ${max} bytes short of a PUTOBJECT payload`, {
          stage: 'payload',
          missing: Number(max),
        });
      }
      const n = BigInt(this.#carry.length) < max ? this.#carry.length : Number(max);
      return this.#take(n);
    } catch (e) {
      throw this.#fail(e);
    }
  }
}
