/**
 * fast-check arbitraries for wire messages, shared by the wire tests and the
 * fuzz script (test-only: nothing in the implementation imports this).
 */
import fc from 'fast-check';
import { Variant } from '../src/gvariant/index.js';
import { encodeMessage, type Message } from '../src/wire/messages.js';

// Plain objects, so that deepEqual against decoded messages compares values only.
const NO_NULL_PROTO = { noNullPrototype: true } as const;

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
// Structure only: the wire layer does not check ref-name rules, so any
// NUL-free string will do as a key.
const name = fc.string({ minLength: 0, maxLength: 24, unit: 'grapheme' }).filter((s) => !s.includes('\0'));
const text = fc.string({ maxLength: 40 }).filter((s) => !s.includes('\0') && !/[\uD800-\uDFFF]/.test(s));

const extraValue: fc.Arbitrary<Variant> = fc.oneof(
  text.map((s) => new Variant('s', s)),
  fc.boolean().map((b) => new Variant('b', b)),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((n) => new Variant('i', n)),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((n) => new Variant('t', n)),
  fc.array(text, { maxLength: 4 }).map((a) => new Variant('as', a)),
);

function extra(known: string[]): fc.Arbitrary<Map<string, Variant>> {
  return fc
    .uniqueArray(fc.tuple(name.filter((k) => !known.includes(k)), extraValue), { maxLength: 3, selector: ([k]) => k })
    .map((entries) => new Map(entries));
}

function stringMap<V>(value: fc.Arbitrary<V>, maxLength: number): fc.Arbitrary<Map<string, V>> {
  return fc.uniqueArray(fc.tuple(name, value), { maxLength, selector: ([k]) => k }).map((e) => new Map(e));
}

export const infoArb: fc.Arbitrary<Message> = fc.record({
  type: fc.constant('INFO' as const),
  mode: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  refs: stringMap(hex64, 6),
  extra: extra(['mode', 'refs']),
}, NO_NULL_PROTO);

export const updateArb: fc.Arbitrary<Message> = fc.record({
  type: fc.constant('UPDATE' as const),
  refs: stringMap(fc.record({ from: fc.oneof(hex64, fc.constant('0'.repeat(64))), to: hex64 }, NO_NULL_PROTO), 5),
}, NO_NULL_PROTO);

export const putObjectArb: fc.Arbitrary<Message> = fc.record({
  type: fc.constant('PUTOBJECT' as const),
  object: fc.oneof(hex64.map((h) => `${h}.filez`), text),
  size: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  extra: extra(['object', 'size']),
}, NO_NULL_PROTO);

export const statusArb: fc.Arbitrary<Message> = fc.record({
  type: fc.constant('STATUS' as const),
  result: fc.boolean(),
  message: text,
  extra: extra(['result', 'message']),
}, NO_NULL_PROTO);

export const doneArb: fc.Arbitrary<Message> = fc.record({ type: fc.constant('DONE' as const), extra: extra([]) }, NO_NULL_PROTO);

export const messageArb: fc.Arbitrary<Message> = fc.oneof(infoArb, updateArb, putObjectArb, statusArb, doneArb);

export const orderArb = fc.constantFrom('le' as const, 'be' as const);

/**
 * A valid stream of 1..maxMessages messages as bytes; PUTOBJECT sizes are cut
 * down below 300 and followed by that many payload bytes.
 */
export function validStreamArb(maxMessages = 5): fc.Arbitrary<Uint8Array> {
  return fc.array(fc.tuple(messageArb, orderArb), { minLength: 1, maxLength: maxMessages }).map((ms) => {
    const parts: Uint8Array[] = [];
    for (const [m0, order] of ms) {
      const m = m0.type === 'PUTOBJECT' ? { ...m0, size: m0.size % 300n } : m0;
      parts.push(encodeMessage(m, order));
      if (m.type === 'PUTOBJECT') parts.push(new Uint8Array(Number(m.size)).fill(0xa5));
    }
    return new Uint8Array(Buffer.concat(parts));
  });
}
