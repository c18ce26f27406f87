/**
 * fast-check arbitraries for GVariant: random definite types (bounded depth)
 * and values that fit them, for oracle, round-trip and fuzz tests.
 */
import fc from 'fast-check';
import { typeString, type BasicCode, type GVType } from '../src/gvariant/type.js';
import { Variant, type GVValue } from '../src/gvariant/variant.js';

const BASIC: BasicCode[] = ['b', 'y', 'n', 'q', 'i', 'u', 'x', 't', 'h', 'd', 's', 'o', 'g'];

export const basicTypeArb: fc.Arbitrary<GVType> = fc.constantFrom(...BASIC).map((code) => ({ kind: 'basic', code }) as GVType);

/** Types nesting at most `depth` containers; `noMaybe` for D-Bus signatures. */
export function typeArb(depth = 3, noMaybe = false): fc.Arbitrary<GVType> {
  const leaf = fc.oneof({ weight: 4, arbitrary: basicTypeArb }, { weight: 1, arbitrary: fc.constant<GVType>({ kind: 'variant' }) });
  if (depth <= 0) return leaf;
  const sub = fc.constant(null).chain(() => typeArb(depth - 1, noMaybe));
  const choices: fc.WeightedArbitrary<GVType>[] = [
    { weight: 4, arbitrary: leaf },
    { weight: 2, arbitrary: sub.map((element) => ({ kind: 'array', element }) as GVType) },
    { weight: 2, arbitrary: fc.array(sub, { maxLength: 4 }).map((members) => ({ kind: 'tuple', members }) as GVType) },
    { weight: 1, arbitrary: fc.tuple(basicTypeArb, sub).map(([key, value]) => ({ kind: 'array', element: { kind: 'dictEntry', key, value } }) as GVType) },
    { weight: 1, arbitrary: fc.tuple(basicTypeArb, sub).map(([key, value]) => ({ kind: 'dictEntry', key, value }) as GVType) },
  ];
  if (!noMaybe) choices.push({ weight: 2, arbitrary: sub.map((element) => ({ kind: 'maybe', element }) as GVType) });
  return fc.oneof(...choices);
}

const segment = fc.stringMatching(/^[A-Za-z0-9_]{1,6}$/);
export const objectPathArb = fc.array(segment, { maxLength: 3 }).map((s) => '/' + s.join('/'));
export const signatureArb = fc.array(typeArb(2, true).map(typeString), { maxLength: 3 }).map((s) => s.join(''));
const stringArb = fc.string({ unit: 'binary', maxLength: 12 }).map((s) => s.replaceAll('\0', ''));

function basicValueArb(code: BasicCode): fc.Arbitrary<GVValue> {
  switch (code) {
    case 'b': return fc.boolean();
    case 'y': return fc.integer({ min: 0, max: 0xff });
    case 'n': return fc.integer({ min: -0x8000, max: 0x7fff });
    case 'q': return fc.integer({ min: 0, max: 0xffff });
    case 'i': case 'h': return fc.integer({ min: -0x80000000, max: 0x7fffffff });
    case 'u': return fc.integer({ min: 0, max: 0xffffffff });
    case 'x': return fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
    case 't': return fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    case 'd': return fc.double();
    case 's': return stringArb;
    case 'o': return objectPathArb;
    case 'g': return signatureArb;
  }
}

/** Values of type `t`; `variantDepth` bounds the types chosen inside `v`. */
export function valueArb(t: GVType, variantDepth = 2): fc.Arbitrary<GVValue> {
  switch (t.kind) {
    case 'basic': return basicValueArb(t.code);
    case 'variant':
      return typeArb(Math.max(0, variantDepth - 1)).chain((inner) =>
        valueArb(inner, variantDepth - 1).map((v) => new Variant(inner, v)));
    case 'maybe': {
      const inner = valueArb(t.element, variantDepth);
      const just = t.element.kind === 'maybe' ? inner.map((v) => ({ just: v }) as GVValue) : inner;
      return fc.option(just, { nil: null, freq: 3 });
    }
    case 'array': {
      const el = t.element;
      if (el.kind === 'basic' && el.code === 'y') return fc.uint8Array({ maxLength: 16 });
      if (el.kind === 'dictEntry') {
        return fc
          .uniqueArray(fc.tuple(valueArb(el.key, variantDepth), valueArb(el.value, variantDepth)), {
            maxLength: 4,
            selector: (e) => e[0],
            comparator: 'SameValueZero',
          })
          .map((entries) => new Map(entries));
      }
      return fc.array(valueArb(el, variantDepth), { maxLength: 4 });
    }
    case 'tuple':
      return fc.tuple(...t.members.map((m) => valueArb(m, variantDepth))).map((v) => v as GVValue[]);
    case 'dictEntry':
      return fc.tuple(valueArb(t.key, variantDepth), valueArb(t.value, variantDepth)).map((v) => v as GVValue[]);
  }
}

/** A type together with a value of it. */
export function typedValueArb(depth = 3): fc.Arbitrary<{ type: GVType; value: GVValue }> {
  return typeArb(depth).chain((type) => valueArb(type).map((value) => ({ type, value })));
}
