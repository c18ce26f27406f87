/**
 * A pusher made of a bare MessageWriter/MessageReader pair, with no machine
 * of its own: tests and the simulator script exactly what goes on the wire
 * (including what a correct pusher never sends) against an in-process
 * receiver over in-memory pipes.
 */
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { type Repo, objectBasename, objectRelPath, type ObjectName, closure } from '../src/repo/index.js';
import type { ByteOrder } from '../src/wire/constants.js';
import type { InfoMessage, StatusMessage } from '../src/wire/messages.js';
import { MessageReader } from '../src/wire/reader.js';
import { MessageWriter } from '../src/wire/writer.js';
import { receive, type ReceiveOptions, type ReceiveResult } from '../src/protocol/index.js';

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

export class ScriptedPusher {
  readonly toReceiver = new PassThrough();
  readonly fromReceiver = new PassThrough();
  readonly writer = new MessageWriter(this.toReceiver);
  readonly reader = new MessageReader(this.fromReceiver);
  /** Byte order of every message received, in order. */
  readonly orders: ByteOrder[] = [];

  constructor(readonly order: ByteOrder = 'le') {}

  async info(): Promise<InfoMessage> {
    const r = await this.reader.next();
    if (r !== null) this.orders.push(r.order);
    if (r?.message.type !== 'INFO') throw new Error(`expected INFO, got ${r?.message.type ?? 'end of stream'}`);
    return r.message;
  }

  /** The next STATUS, or null when the receiver ended the session. */
  async status(): Promise<StatusMessage | null> {
    const r = await this.reader.next().catch(() => null);
    if (r === null) return null;
    this.orders.push(r.order);
    if (r.message.type !== 'STATUS') throw new Error(`expected STATUS, got ${r.message.type}`);
    return r.message;
  }

  async update(refs: Record<string, { from: string; to: string }>): Promise<StatusMessage | null> {
    await this.writer.send({ type: 'UPDATE', refs: new Map(Object.entries(refs)) }, this.order);
    return this.status();
  }

  async put(name: string, bytes: Uint8Array, size: bigint = BigInt(bytes.length)): Promise<StatusMessage | null> {
    await this.writer.sendPutObject({ object: name, size }, once(bytes), this.order);
    return this.status();
  }

  /** Sends DONE and ends the stream. */
  async done(): Promise<void> {
    await this.writer.send({ type: 'DONE', extra: new Map() }, this.order);
    this.toReceiver.end();
  }

  /** Raw bytes, for framing the writer refuses to produce. */
  raw(bytes: Uint8Array, end = false): void {
    this.toReceiver.write(bytes);
    if (end) this.toReceiver.end();
  }

  end(): void {
    this.toReceiver.end();
  }
}

/** The archive bytes of an object of `repo`, as a PUTOBJECT carries them. */
export function objectBytes(repo: Repo | string, o: ObjectName): Uint8Array {
  const root = typeof repo === 'string' ? repo : repo.path;
  return readFileSync(`${root}/${objectRelPath(o.checksum, o.type)}`);
}

/** A commit's closure (child first), with the names PUTOBJECT uses. */
export async function closureObjects(repo: Repo | string, commit: string): Promise<Array<ObjectName & { name: string }>> {
  const out: Array<ObjectName & { name: string }> = [];
  for await (const o of closure(repo, commit)) out.push({ ...o, name: objectBasename(o.checksum, o.type) });
  return out;
}

/**
 * Runs `receive` against a script. When the receiver finishes first its
 * output is ended, so a script waiting for a STATUS sees null and stops.
 */
export async function runSession(
  options: Omit<ReceiveOptions, 'input' | 'output'>,
  script: (p: ScriptedPusher) => Promise<void>,
  order: ByteOrder = 'le',
): Promise<{ result: ReceiveResult; pusher: ScriptedPusher }> {
  const p = new ScriptedPusher(order);
  const receiving = receive({ ...options, input: p.toReceiver, output: p.fromReceiver }).finally(() => {
    p.fromReceiver.end();
    // Nobody reads any more: a script still writing must fail, not wait for 'drain'.
    p.toReceiver.destroy();
  });
  const scripted = script(p).catch((e: unknown) => {
    // A write after the receiver gave up is expected in hostile scripts.
    if ((e as { code?: string }).code !== 'WIRE_STREAM_CLOSED') throw e;
  });
  const [result] = await Promise.all([receiving, scripted]);
  return { result, pusher: p };
}
