/**
 * Message bodies of protocol version 0 (spec/protocol.md, "Message types").
 * Every body is a GVariant `a{sv}` in the header's byte order:
 *
 * | type | name      | body keys |
 * | 0    | INFO      | `mode` : i, `refs` : a{ss} |
 * | 1    | UPDATE    | one key per ref, value (ss) = (from, to) |
 * | 2    | PUTOBJECT | `object` : s, `size` : t (payload follows the body) |
 * | 3    | STATUS    | `result` : b, `message` : s |
 * | 4    | DONE      | empty (extension: `report` : b) |
 * | 5    | QUERY     | `objects` : as, `refs` : as (extension `query`) |
 * | 6    | ANSWER    | `have` : ab, `refs` : a{ss} (extension `query`) |
 * | 7    | REPORT    | `moved` : as, `refused` : a{ss} (extension `report`) |
 *
 * This module decodes structure and types only: a missing required key or a
 * known key with another variant type is WIRE_BAD_BODY naming the key. What
 * the strings mean (ref-name rules, hex checksums, modes) is the protocol
 * layer's to check.
 *
 * Unknown keys are kept in `extra` (INFO, PUTOBJECT, STATUS, DONE) so that a
 * later version can add capabilities without breaking this one; in UPDATE
 * every key is a ref name, so there are none.
 *
 * Encoding order is deterministic: the known keys in the order of the table
 * above, then `extra` in its Map order; ref maps (INFO `refs`, UPDATE) in
 * their Map order. Decoders must not depend on it (v0 peers build bodies from
 * Python dicts), but equal inputs give equal bytes, which the vectors need.
 */
import { GVariantError, WireError } from '../errors.js';
import { type ByteOrder, decode, encode, Variant } from '../gvariant/index.js';
import { HEADER_SIZE, MAX_BODY_SIZE, type MessageTypeName, PROTOCOL_VERSION } from './constants.js';
import { encodeHeader } from './header.js';

// The message interfaces are generated from spec/messages/*.schema.json (spec/generate.ts): one
// description per message, whose JSON form src/protocol/validate.ts checks against the same schema.
import type { AnswerMessage, DoneMessage, InfoMessage, Message, PutObjectMessage, QueryMessage, ReportMessage, StatusMessage, UpdateMessage } from './messages.generated.js';

export type { AnswerMessage, DoneMessage, InfoMessage, Message, PutObjectMessage, QueryMessage, ReportMessage, StatusMessage, UpdateMessage } from './messages.generated.js';

type Dict = Map<string, Variant>;

/** What an encoder takes: the message without its `type`; `extra` may be left out. */
export type EncodeInput<M extends Message> = Omit<M, 'type' | 'extra'> & { extra?: Map<string, Variant> };

const NO_EXTRA: Dict = new Map();

// ---- helpers -------------------------------------------------------------

/** Known keys first, then extras; an extra may not shadow a known key. */
function withExtra(type: MessageTypeName, known: [string, Variant][], extra: Dict = NO_EXTRA): Dict {
  const body: Dict = new Map(known);
  for (const [k, v] of extra) {
    if (body.has(k)) {
      throw new WireError('WIRE_BAD_BODY', `${type}: extra key '${k}' shadows a known key`, { type, key: k });
    }
    body.set(k, v);
  }
  return body;
}

function finish(type: MessageTypeName, body: Dict, order: ByteOrder): Uint8Array {
  const bytes = encode('a{sv}', body, order);
  if (bytes.length > MAX_BODY_SIZE) {
    throw new WireError('WIRE_BODY_TOO_LARGE', `${type} body is ${bytes.length} bytes; the 16-bit length field allows ${MAX_BODY_SIZE}`, {
      type,
      length: bytes.length,
      max: MAX_BODY_SIZE,
    });
  }
  return bytes;
}

function parseBody(type: MessageTypeName, bytes: Uint8Array, order: ByteOrder): Dict {
  try {
    return decode('a{sv}', bytes, order) as Dict;
  } catch (e) {
    if (e instanceof GVariantError) {
      throw new WireError('WIRE_BAD_BODY', `${type} body is not a valid a{sv}: ${e.message}`, { type, gvariant: e.code, ...e.data }, { cause: e });
    }
    throw e;
  }
}

/** Takes a required key out of `body` (so the rest is `extra`), checking its type. */
function take(type: MessageTypeName, body: Dict, key: string, vtype: string): Variant['value'] {
  const v = body.get(key);
  if (v === undefined) {
    throw new WireError('WIRE_BAD_BODY', `${type} body lacks key '${key}'`, { type, key, reason: 'missing' });
  }
  if (v.type !== vtype) {
    throw new WireError('WIRE_BAD_BODY', `${type} key '${key}' has type '${v.type}', expected '${vtype}'`, {
      type,
      key,
      reason: 'type',
      expected: vtype,
      actual: v.type,
    });
  }
  body.delete(key);
  return v.value;
}

// ---- INFO ----------------------------------------------------------------

export function encodeInfo(m: EncodeInput<InfoMessage>, order: ByteOrder = 'le'): Uint8Array {
  const refs = new Map<string, string>(m.refs);
  return finish('INFO', withExtra('INFO', [['mode', new Variant('i', m.mode)], ['refs', new Variant('a{ss}', refs)]], m.extra), order);
}

export function decodeInfo(bytes: Uint8Array, order: ByteOrder = 'le'): InfoMessage {
  const body = parseBody('INFO', bytes, order);
  const mode = take('INFO', body, 'mode', 'i') as number;
  const refs = take('INFO', body, 'refs', 'a{ss}') as Map<string, string>;
  return { type: 'INFO', mode, refs, extra: body };
}

// ---- UPDATE --------------------------------------------------------------

export function encodeUpdate(m: EncodeInput<UpdateMessage>, order: ByteOrder = 'le'): Uint8Array {
  const body: Dict = new Map();
  for (const [ref, { from, to }] of m.refs) body.set(ref, new Variant('(ss)', [from, to]));
  return finish('UPDATE', body, order);
}

export function decodeUpdate(bytes: Uint8Array, order: ByteOrder = 'le'): UpdateMessage {
  const body = parseBody('UPDATE', bytes, order);
  const refs = new Map<string, { from: string; to: string }>();
  for (const ref of [...body.keys()]) {
    const [from, to] = take('UPDATE', body, ref, '(ss)') as [string, string];
    refs.set(ref, { from, to });
  }
  return { type: 'UPDATE', refs };
}

// ---- PUTOBJECT -----------------------------------------------------------

export function encodePutObject(m: EncodeInput<PutObjectMessage>, order: ByteOrder = 'le'): Uint8Array {
  return finish('PUTOBJECT', withExtra('PUTOBJECT', [['object', new Variant('s', m.object)], ['size', new Variant('t', m.size)]], m.extra), order);
}

export function decodePutObject(bytes: Uint8Array, order: ByteOrder = 'le'): PutObjectMessage {
  const body = parseBody('PUTOBJECT', bytes, order);
  const object = take('PUTOBJECT', body, 'object', 's') as string;
  const size = take('PUTOBJECT', body, 'size', 't') as bigint;
  return { type: 'PUTOBJECT', object, size, extra: body };
}

// ---- STATUS --------------------------------------------------------------

export function encodeStatus(m: EncodeInput<StatusMessage>, order: ByteOrder = 'le'): Uint8Array {
  return finish('STATUS', withExtra('STATUS', [['result', new Variant('b', m.result)], ['message', new Variant('s', m.message)]], m.extra), order);
}

export function decodeStatus(bytes: Uint8Array, order: ByteOrder = 'le'): StatusMessage {
  const body = parseBody('STATUS', bytes, order);
  const result = take('STATUS', body, 'result', 'b') as boolean;
  const message = take('STATUS', body, 'message', 's') as string;
  return { type: 'STATUS', result, message, extra: body };
}

// ---- DONE ----------------------------------------------------------------

export function encodeDone(m: EncodeInput<DoneMessage>, order: ByteOrder = 'le'): Uint8Array {
  return finish('DONE', withExtra('DONE', [], m.extra), order);
}

export function decodeDone(bytes: Uint8Array, order: ByteOrder = 'le'): DoneMessage {
  return { type: 'DONE', extra: parseBody('DONE', bytes, order) };
}

// ---- QUERY, ANSWER, REPORT (extensions) ------------------------------------

export function encodeQuery(m: EncodeInput<QueryMessage>, order: ByteOrder = 'le'): Uint8Array {
  return finish('QUERY', withExtra('QUERY', [['objects', new Variant('as', [...m.objects])], ['refs', new Variant('as', [...m.refs])]], m.extra), order);
}

export function decodeQuery(bytes: Uint8Array, order: ByteOrder = 'le'): QueryMessage {
  const body = parseBody('QUERY', bytes, order);
  const objects = take('QUERY', body, 'objects', 'as') as string[];
  const refs = take('QUERY', body, 'refs', 'as') as string[];
  return { type: 'QUERY', objects, refs, extra: body };
}

export function encodeAnswer(m: EncodeInput<AnswerMessage>, order: ByteOrder = 'le'): Uint8Array {
  return finish('ANSWER', withExtra('ANSWER', [['have', new Variant('ab', [...m.have])], ['refs', new Variant('a{ss}', new Map(m.refs))]], m.extra), order);
}

export function decodeAnswer(bytes: Uint8Array, order: ByteOrder = 'le'): AnswerMessage {
  const body = parseBody('ANSWER', bytes, order);
  const have = take('ANSWER', body, 'have', 'ab') as boolean[];
  const refs = take('ANSWER', body, 'refs', 'a{ss}') as Map<string, string>;
  return { type: 'ANSWER', have, refs, extra: body };
}

export function encodeReport(m: EncodeInput<ReportMessage>, order: ByteOrder = 'le'): Uint8Array {
  return finish('REPORT', withExtra('REPORT', [['moved', new Variant('as', [...m.moved])], ['refused', new Variant('a{ss}', new Map(m.refused))]], m.extra), order);
}

export function decodeReport(bytes: Uint8Array, order: ByteOrder = 'le'): ReportMessage {
  const body = parseBody('REPORT', bytes, order);
  const moved = take('REPORT', body, 'moved', 'as') as string[];
  const refused = take('REPORT', body, 'refused', 'a{ss}') as Map<string, string>;
  return { type: 'REPORT', moved, refused, extra: body };
}

// ---- any message ---------------------------------------------------------

/** The `a{sv}` body of any message. */
export function encodeBody(m: Message, order: ByteOrder = 'le'): Uint8Array {
  switch (m.type) {
    case 'INFO':
      return encodeInfo(m, order);
    case 'UPDATE':
      return encodeUpdate(m, order);
    case 'PUTOBJECT':
      return encodePutObject(m, order);
    case 'STATUS':
      return encodeStatus(m, order);
    case 'DONE':
      return encodeDone(m, order);
    case 'QUERY':
      return encodeQuery(m, order);
    case 'ANSWER':
      return encodeAnswer(m, order);
    case 'REPORT':
      return encodeReport(m, order);
  }
}

const DECODERS: Record<MessageTypeName, (bytes: Uint8Array, order: ByteOrder) => Message> = {
  INFO: decodeInfo,
  UPDATE: decodeUpdate,
  PUTOBJECT: decodePutObject,
  STATUS: decodeStatus,
  DONE: decodeDone,
  QUERY: decodeQuery,
  ANSWER: decodeAnswer,
  REPORT: decodeReport,
};

export function decodeBody(type: MessageTypeName, bytes: Uint8Array, order: ByteOrder = 'le'): Message {
  return DECODERS[type](bytes, order);
}

/** Header and body of a message, ready to write (a PUTOBJECT's payload follows separately). */
export function encodeMessage(m: Message, order: ByteOrder = 'le'): Uint8Array {
  const body = encodeBody(m, order);
  const out = new Uint8Array(HEADER_SIZE + body.length);
  out.set(encodeHeader({ order, version: PROTOCOL_VERSION, type: m.type, length: body.length }), 0);
  out.set(body, HEADER_SIZE);
  return out;
}
