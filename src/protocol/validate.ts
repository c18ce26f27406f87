/**
 * Run-time validation of message bodies against spec/messages/*.schema.json
 * (spec/protocol.md, "Message bodies"). Both endpoints call this on every
 * message they send or receive; a body that does not validate is a
 * PROTOCOL_BAD_MESSAGE with the first violation rendered as one line, e.g.
 * "UPDATE: refs/'../x' does not match the ref-name pattern".
 *
 * The JSON form is the decoded body as plain JSON: Maps become objects,
 * PUTOBJECT's u64 `size` becomes a number (a bigint above 2^53-1 rounds to a
 * number that still exceeds the schema's maximum, so it is rejected, never
 * silently accepted), and unknown keys (`extra`) are kept so the schemas can
 * allow them.
 */
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { ProtocolError } from '../errors.js';
import type { MessageBodies, MessageType } from './messages.generated.js';
import * as compiled from './validators.generated.js';

export type { MessageBodies, MessageType } from './messages.generated.js';

/**
 * The validators, compiled from the schemas by spec/generate.ts (ajv's
 * standalone code): a process neither loads ajv's compiler nor compiles at
 * start, which cost about 0.1–0.3 s per process.
 */
const validators = compiled as unknown as Readonly<Record<string, ValidateFunction>>;

/** Names of the shared definitions, as a reader would say them. */
const DEF_WORDS: Record<string, string> = {
  refName: 'the ref-name pattern',
  listedRefName: 'the listed-ref-name rule (a non-empty string of at most 4096 characters)',
  checksum: 'the checksum pattern (64 lowercase hex digits)',
  checksumOrZero: 'the checksum pattern (64 lowercase hex digits)',
  objectName: 'the object-name pattern (<64 hex>.filez|dirtree|dirmeta|commit|commitmeta)',
  pushedObjectName: 'the object-name pattern (<64 hex>.filez|dirtree|dirmeta|commit|commitmeta, or a .sig|.sizes2 compatibility file)',
};

function where(e: ErrorObject): string {
  // Ref names contain '/', so any segment that is not a plain key is quoted.
  // A long name (INFO may list one of 4096 characters) is shortened: the line stays readable.
  const short = (p: string): string => (p.length > 80 ? `${p.slice(0, 77)}...` : p);
  const quote = (p: string): string => (/^[A-Za-z_]\w*$/.test(p) ? p : `'${short(p)}'`);
  const parts = e.instancePath.split('/').slice(1).map((p) => quote(p.replace(/~1/g, '/').replace(/~0/g, '~')));
  const name = (e as ErrorObject & { propertyName?: string }).propertyName;
  if (name !== undefined) parts.push(`'${short(name)}'`);
  return parts.join('/');
}

function describe(e: ErrorObject): string {
  const def = /\$defs\/(\w+)\//.exec(e.schemaPath)?.[1];
  switch (e.keyword) {
    case 'pattern':
      return `does not match ${(def && DEF_WORDS[def]) ?? `the pattern ${String(e.params['pattern'])}`}`;
    case 'required':
      return `is missing the key '${String(e.params['missingProperty'])}'`;
    case 'additionalProperties':
      return `has the unknown key '${String(e.params['additionalProperty'])}'`;
    case 'minProperties':
      return `must name at least ${String(e.params['limit'])} ref`;
    case 'minLength':
    case 'maxLength':
      return def !== undefined && DEF_WORDS[def] !== undefined ? `does not meet ${DEF_WORDS[def]}` : (e.message ?? e.keyword);
    case 'maximum':
      return `must be at most ${String(e.params['limit'])}${e.schemaPath.includes('/then/') ? ' (the metadata object cap)' : ''}`;
    default:
      return e.message ?? e.keyword;
  }
}

/** One line for the first ajv error; propertyNames wrappers are skipped for the inner cause. */
export function renderError(type: string, errors: readonly ErrorObject[]): string {
  const e = errors.find((x) => x.keyword !== 'propertyNames' && x.keyword !== 'if') ?? errors[0];
  if (e === undefined) return `${type}: invalid body`;
  const at = where(e);
  return `${type}: ${at === '' ? 'body' : at} ${describe(e)}`;
}

/** Throws PROTOCOL_BAD_MESSAGE unless `json` is a valid body of message `type`. */
export function validateBody<T extends MessageType>(type: T, json: unknown): asserts json is MessageBodies[T] {
  const v = Object.hasOwn(validators, type) ? validators[type] : undefined;
  if (v === undefined) {
    throw new ProtocolError('PROTOCOL_BAD_MESSAGE', `unknown message type ${JSON.stringify(type)}`, { type });
  }
  if (!v(json)) {
    const errors = v.errors ?? [];
    throw new ProtocolError('PROTOCOL_BAD_MESSAGE', renderError(type, errors), {
      type,
      errors: errors.map((e) => ({ path: e.instancePath, keyword: e.keyword, message: e.message ?? '' })),
    });
  }
}

/**
 * The shape of the wire layer's decoded messages, kept structural to avoid a
 * cycle: any object with a `type`; its other own keys are the body (the wire
 * interfaces of src/wire/messages.ts fit as they are, without a cast).
 */
export type DecodedMessage = { readonly type: string };

/**
 * Objects without a prototype: assigning the key "__proto__" (a ref may be
 * named so) makes an own property, as on any other key, and no key can
 * reach Object.prototype. Cheaper than defineProperty per key.
 */
function bare(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>;
}

function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Map) {
    // An a{sv} inside an extension key (INFO `policy`) holds variants: their values are what the schema checks.
    const out = bare();
    for (const [k, v] of value) out[String(k)] = plain(variantValue(v));
    return out;
  }
  return value;
}

function variantValue(v: unknown): unknown {
  return typeof v === 'object' && v !== null && 'type' in v && 'value' in v ? (v as { value: unknown }).value : v;
}

/** The JSON form of a decoded message's body (see the module comment). */
export function bodyToJson<M extends DecodedMessage>(message: M): Record<string, unknown> {
  const msg = message as DecodedMessage & Record<string, unknown>;
  const out = bare();
  const extra = msg['extra'];
  // Extension keys (spec/protocol.md section 12) are checked by value, like the known ones.
  if (extra instanceof Map) for (const [k, v] of extra) out[String(k)] = plain(variantValue(v));
  for (const k in msg) {
    if (k === 'type' || k === 'extra' || !Object.hasOwn(msg, k)) continue;
    out[k] = plain(msg[k]);
  }
  return out;
}

/** Frozen messages already found valid: a frozen message is taken as immutable (the receiver's STATUS true). */
const validFrozen = new WeakSet<object>();

/** validateBody over a decoded message: what an engine calls on each message. */
export function validateMessage<M extends DecodedMessage>(msg: M): void {
  if (validFrozen.has(msg)) return;
  validateBody(msg.type as MessageType, bodyToJson(msg));
  if (Object.isFrozen(msg)) validFrozen.add(msg);
}

// ---- the wire interfaces and the schemas' body types describe the same bodies ----

/** The JSON form of one decoded value: Maps become objects, the u64 a number (see `bodyToJson`). */
type JsonOf<V> = V extends bigint
  ? number
  : V extends ReadonlyMap<string, infer X>
    ? { [key: string]: JsonOf<X> }
    : V extends readonly (infer X)[]
      ? JsonOf<X>[]
      : V extends object
        ? { [K in keyof V]: JsonOf<V[K]> }
        : V;

/** A wire message's known keys in JSON form (its `extra`, the extension keys, is the bodies' optional and unknown keys). */
export type JsonBody<M extends DecodedMessage> = { [K in Exclude<keyof M, 'type' | 'extra'>]: JsonOf<M[K]> };

/** The keys a body type names (not its index signature). */
type Named<T> = keyof { [K in keyof T as string extends K ? never : number extends K ? never : K]: 0 };
/** The keys a body type requires. */
type Required_<T> = keyof { [K in Named<T> as object extends Pick<T, K> ? never : K]: 0 };

/**
 * true when a wire interface `M` and the schema's body type `B` agree: every
 * known key of `M`, in JSON form, is a key of `B` with that type, and every
 * key `B` requires is a known key of `M`. A schema changed without the wire
 * interface (or the other way round) makes it false, and `WIRE_MATCHES_SCHEMAS`
 * below a type error.
 */
export type Agrees<M extends DecodedMessage, B> = [JsonBody<M>] extends [B]
  ? [Exclude<keyof JsonBody<M>, Named<B>>] extends [never]
    ? [Exclude<Required_<B>, keyof JsonBody<M>>] extends [never]
      ? true
      : false
    : false
  : false;

/** For each message type: its wire interface of src/wire/messages.ts agrees with its schema's body type. */
export type WireMatchesSchemas<W extends DecodedMessage & { type: MessageType }> = { [T in MessageType]: Agrees<Extract<W, { type: T }>, MessageBodies[T]> };
