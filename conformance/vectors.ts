/**
 * The byte vectors of conformance/vectors/ replayed against this project's
 * codecs, as results of level `vectors` (`npm run conformance -- --vectors`):
 *
 * - gvariant.json: `encode(type, value, order)` gives exactly `hex`, and
 *   decoding `hex` gives `value` back (tagged JSON, src/gvariant/json.ts);
 * - gvariant-reject.json: decoding `hex` as `type` fails with GVariantError
 *   `code`;
 * - messages.json: the message (JSON form, src/wire/json.ts) encodes to
 *   exactly `hex`, and `hex` read back gives the message;
 * - messages-reject.json: reading the stream fails with WireError `code`
 *   (naming `key` when one is given).
 *
 * Another implementation's codec cannot be driven through a command, so it
 * replays the same JSON files in its own tests (README.md says how); the
 * protocol vectors also reach any receiver or pusher as core cases (case.ts).
 */
import { readFileSync } from 'node:fs';
import { GVariantError, WireError } from '../src/errors.js';
import { decode, encode, fromTaggedJSON, toTaggedJSON, type ByteOrder, type TaggedJSON } from '../src/gvariant/index.js';
import { encodeMessage, MessageReader, messageFromJSON, messageToJSON, type MessageJSON } from '../src/wire/index.js';
import { VECTORS_DIR } from './case.js';
import type { CaseResult } from './run.js';

interface ValueVector { name: string; type: string; order: ByteOrder; hex: string; value: TaggedJSON }
interface ValueReject { name: string; type: string; order: ByteOrder; hex: string; code: string }
interface MessageVector { name: string; order: ByteOrder; hex: string; message: MessageJSON }
interface MessageReject { name: string; hex: string; code: string; key: string | null }

function load<T>(file: string, dir: string): T[] {
  return (JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as { vectors: T[] }).vectors;
}

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytesOf = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** Every message of `bytes`, payloads skipped; throws what the reader throws. */
async function readAll(bytes: Uint8Array): Promise<MessageJSON[]> {
  const reader = new MessageReader(once(bytes), { maxPayloadSize: 2n ** 64n });
  const out: MessageJSON[] = [];
  for (let r = await reader.next(); r !== null; r = await reader.next()) {
    if (r.payload !== undefined) await r.payload.skip();
    out.push(messageToJSON(r.message));
  }
  return out;
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message}` : String(e);
}

/** One check; returns why it failed, or undefined. */
type Check = () => Promise<string | undefined> | string | undefined;

async function result(id: string, summary: string, check: Check): Promise<CaseResult> {
  const started = Date.now();
  let message: string | undefined;
  try {
    message = await check();
  } catch (e) {
    message = `unexpected ${errorText(e)}`;
  }
  return { id, level: 'vectors', role: 'codec', summary, status: message === undefined ? 'pass' : 'fail', ...(message !== undefined ? { message } : {}), ms: Date.now() - started };
}

/** Replays every vector file; one result per vector, in file order. */
export async function runVectors(dir = VECTORS_DIR, only?: (id: string) => boolean): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  const add = async (id: string, summary: string, check: Check): Promise<void> => {
    if (only === undefined || only(id)) out.push(await result(id, summary, check));
  };
  for (const v of load<ValueVector>('gvariant.json', dir)) {
    await add(`vectors/gvariant/${v.name}`, `'${v.type}' ${v.order}: encodes to GLib's bytes and decodes back`, () => {
      const got = hexOf(encode(v.type, fromTaggedJSON(v.type, v.value), v.order));
      if (got !== v.hex) return `encoded ${got || '(empty)'}, GLib wrote ${v.hex || '(empty)'}`;
      const back = toTaggedJSON(v.type, decode(v.type, bytesOf(v.hex), v.order));
      return same(back, v.value) ? undefined : `decoded ${JSON.stringify(back)}, expected ${JSON.stringify(v.value)}`;
    });
  }
  for (const v of load<ValueReject>('gvariant-reject.json', dir)) {
    await add(`vectors/gvariant-reject/${v.name}`, `'${v.type.length > 20 ? `${v.type.slice(0, 20)}…` : v.type}' ${v.order}: refused with ${v.code}`, () => {
      try {
        decode(v.type, bytesOf(v.hex), v.order);
      } catch (e) {
        if (e instanceof GVariantError && e.code === v.code) return undefined;
        return `refused with ${errorText(e)}, expected ${v.code}`;
      }
      return `accepted; expected ${v.code}`;
    });
  }
  for (const v of load<MessageVector>('messages.json', dir)) {
    await add(`vectors/messages/${v.name}`, `${v.message.type} ${v.order}: encodes to GLib's bytes and reads back`, async () => {
      const got = hexOf(encodeMessage(messageFromJSON(v.message), v.order));
      if (got !== v.hex) return `encoded ${got}, GLib wrote ${v.hex}`;
      // A PUTOBJECT vector stops before its payload: read the one message, not what follows it.
      const r = await new MessageReader(once(bytesOf(v.hex)), { maxPayloadSize: 2n ** 64n }).next();
      const back = r === null ? null : messageToJSON(r.message);
      return same(back, v.message) ? undefined : `read back ${JSON.stringify(back)}`;
    });
  }
  for (const v of load<MessageReject>('messages-reject.json', dir)) {
    await add(`vectors/messages-reject/${v.name}`, `stream refused with ${v.code}${v.key === null ? '' : ` naming '${v.key}'`}`, async () => {
      try {
        await readAll(bytesOf(v.hex));
      } catch (e) {
        if (e instanceof WireError && e.code === v.code && (v.key === null || e.data.key === v.key)) return undefined;
        return `refused with ${errorText(e)}${e instanceof WireError && e.data.key !== undefined ? ` (key ${String(e.data.key)})` : ''}, expected ${v.code}`;
      }
      return `read without error; expected ${v.code}`;
    });
  }
  return out;
}
