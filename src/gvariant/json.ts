/**
 * Tagged JSON for GVariant values: the one form shared by the vector files,
 * the GLib oracle and tests. The type drives both directions, so only what
 * plain JSON cannot say is tagged:
 *
 *   b → true/false            y n q i u h → number      s o g → string
 *   x t → {"bigint": "-12"}   d → number, or {"double": "NaN"|"Infinity"|"-Infinity"|"-0"}
 *   ay → {"bytes": "0a0b"}    v → {"variant": "<type>", "value": <tagged>}
 *   a{KV} → {"dict": [[k, v], ...]} (order kept)   other arrays, tuples, {KV} → JSON arrays
 *   mT → null | <tagged>, except mmT: null | {"just": <tagged>}
 */
import { GVariantError } from '../errors.js';
import { toType, typeString, type GVType } from './type.js';
import { Variant, type GVValue } from './variant.js';

export type TaggedJSON = null | boolean | number | string | TaggedJSON[] | { [k: string]: TaggedJSON };

function bad(t: GVType, why: string): GVariantError {
  return new GVariantError('GVARIANT_BAD_VALUE', `tagged JSON for ${typeString(t)}: ${why}`, { type: typeString(t) });
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

function isObj(j: TaggedJSON | undefined): j is { [k: string]: TaggedJSON } {
  return typeof j === 'object' && j !== null && !Array.isArray(j);
}

function toJ(t: GVType, v: GVValue): TaggedJSON {
  switch (t.kind) {
    case 'basic':
      if (t.code === 'x' || t.code === 't') {
        if (typeof v !== 'bigint') throw bad(t, 'expected a bigint');
        return { bigint: v.toString() };
      }
      if (t.code === 'd' && typeof v === 'number') {
        if (Number.isNaN(v)) return { double: 'NaN' };
        if (v === Infinity || v === -Infinity) return { double: String(v) };
        if (Object.is(v, -0)) return { double: '-0' };
      }
      if (typeof v !== 'boolean' && typeof v !== 'number' && typeof v !== 'string') throw bad(t, 'expected a scalar');
      return v;
    case 'variant':
      if (!(v instanceof Variant)) throw bad(t, 'expected a Variant');
      return { variant: v.type, value: toJ(v.gvtype, v.value) };
    case 'maybe':
      if (v === null) return null;
      if (t.element.kind === 'maybe') {
        if (typeof v !== 'object' || !('just' in v)) throw bad(t, 'expected { just }');
        return { just: toJ(t.element, (v as { just: GVValue }).just) };
      }
      return toJ(t.element, v);
    case 'array': {
      const el = t.element;
      if (el.kind === 'basic' && el.code === 'y') {
        if (v instanceof Uint8Array) return { bytes: hex(v) };
        if (Array.isArray(v)) return { bytes: hex(Uint8Array.from(v as number[])) };
        throw bad(t, 'expected bytes');
      }
      if (el.kind === 'dictEntry') {
        if (!(v instanceof Map)) throw bad(t, 'expected a Map');
        return { dict: [...v].map(([k, val]) => [toJ(el.key, k), toJ(el.value, val)]) };
      }
      if (!Array.isArray(v)) throw bad(t, 'expected an array');
      return v.map((x) => toJ(el, x));
    }
    case 'tuple':
    case 'dictEntry': {
      const members = t.kind === 'tuple' ? t.members : [t.key, t.value];
      if (!Array.isArray(v) || v.length !== members.length) throw bad(t, 'expected a member array');
      return members.map((m, i) => toJ(m, v[i]!));
    }
  }
}

function fromJ(t: GVType, j: TaggedJSON | undefined): GVValue {
  switch (t.kind) {
    case 'basic':
      if (t.code === 'x' || t.code === 't') {
        if (!isObj(j) || typeof j.bigint !== 'string' || !/^-?\d+$/.test(j.bigint)) throw bad(t, 'expected {"bigint": "<decimal>"}');
        return BigInt(j.bigint);
      }
      if (t.code === 'd' && isObj(j)) {
        const d = j.double;
        if (d === 'NaN') return NaN;
        if (d === 'Infinity') return Infinity;
        if (d === '-Infinity') return -Infinity;
        if (d === '-0') return -0;
        throw bad(t, 'bad {"double"} tag');
      }
      if (t.code === 'b' ? typeof j !== 'boolean' : 'sog'.includes(t.code) ? typeof j !== 'string' : typeof j !== 'number') {
        throw bad(t, `unexpected ${JSON.stringify(j)}`);
      }
      return j as boolean | number | string;
    case 'variant': {
      if (!isObj(j) || typeof j.variant !== 'string') throw bad(t, 'expected {"variant", "value"}');
      const inner = new Variant(j.variant, null);
      return new Variant(inner.type, fromJ(inner.gvtype, j.value));
    }
    case 'maybe':
      if (j === null) return null;
      if (t.element.kind === 'maybe') {
        if (!isObj(j) || !('just' in j)) throw bad(t, 'expected null or {"just"}');
        return { just: fromJ(t.element, j.just) };
      }
      return fromJ(t.element, j);
    case 'array': {
      const el = t.element;
      if (el.kind === 'basic' && el.code === 'y') {
        if (!isObj(j) || typeof j.bytes !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(j.bytes)) throw bad(t, 'expected {"bytes": "<hex>"}');
        return new Uint8Array(Buffer.from(j.bytes, 'hex'));
      }
      if (el.kind === 'dictEntry') {
        if (!isObj(j) || !Array.isArray(j.dict)) throw bad(t, 'expected {"dict": [[k, v], ...]}');
        const m = new Map<GVValue, GVValue>();
        for (const e of j.dict) {
          if (!Array.isArray(e) || e.length !== 2) throw bad(t, 'dict entry must be [k, v]');
          m.set(fromJ(el.key, e[0]), fromJ(el.value, e[1]));
        }
        return m;
      }
      if (!Array.isArray(j)) throw bad(t, 'expected an array');
      return j.map((x) => fromJ(el, x));
    }
    case 'tuple':
    case 'dictEntry': {
      const members = t.kind === 'tuple' ? t.members : [t.key, t.value];
      if (!Array.isArray(j) || j.length !== members.length) throw bad(t, `expected ${members.length} members`);
      return members.map((m, i) => fromJ(m, j[i]));
    }
  }
}

/** A value of `type` as tagged JSON (see the table above). */
export function toTaggedJSON(type: string | GVType, value: GVValue): TaggedJSON {
  return toJ(toType(type), value);
}

/** The value of `type` that tagged JSON describes. Throws GVARIANT_BAD_VALUE on a shape mismatch. */
export function fromTaggedJSON(type: string | GVType, json: TaggedJSON): GVValue {
  return fromJ(toType(type), json);
}
