/**
 * GVariant writer: normal form only (ostree-format.md §2.2–2.6).
 *
 *   fixed-element array: elements back to back; variable: each aligned, then
 *   one end offset per element. Tuple/dict entry: members aligned, end offsets
 *   of variable members except the last, appended in reverse order; a fixed
 *   tuple is padded to its fixed size. v: child, 00, type string. mT: Nothing
 *   empty, Just fixed = child, Just variable = child + 00. Offsets are
 *   little-endian, width = the smallest w in 1/2/4/8 with body + n·w ≤ 2^(8w)-1.
 *   Numbers are in the requested byte order. Padding is zero.
 *
 * Each value is checked against its type; a mismatch is GVARIANT_BAD_VALUE.
 */
import { GVariantError } from '../errors.js';
import { alignUp, layout, toType, typeString, type GVType } from './type.js';
import { Variant, type GVValue } from './variant.js';
import { checkObjectPath, checkSignature, hasLoneSurrogate } from './strings.js';

export type ByteOrder = 'le' | 'be';

/** GLib's G_VARIANT_MAX_RECURSION_DEPTH; shared with the decoder. */
export const MAX_DEPTH = 128;

const utf8 = new TextEncoder();

function bad(t: GVType, why: string, path: string): GVariantError {
  return new GVariantError('GVARIANT_BAD_VALUE', `value for ${typeString(t)} at ${path || '/'}: ${why}`, {
    type: typeString(t),
    path: path || '/',
  });
}

/** Byte chunks with a running length, concatenated once at the end of each container. */
class Builder {
  parts: Uint8Array[] = [];
  length = 0;
  push(b: Uint8Array): void {
    this.parts.push(b);
    this.length += b.length;
  }
  pad(alignment: number): void {
    const n = alignUp(this.length, alignment) - this.length;
    if (n > 0) this.push(new Uint8Array(n));
  }
  finish(): Uint8Array {
    if (this.parts.length === 1) return this.parts[0]!;
    const out = new Uint8Array(this.length);
    let p = 0;
    for (const part of this.parts) {
      out.set(part, p);
      p += part.length;
    }
    return out;
  }
}

/** Width of framing offsets for a container with this body size and offset count. */
export function offsetWidth(bodySize: number, count: number): number {
  if (count === 0) return 0;
  if (bodySize + count <= 0xff) return 1;
  if (bodySize + 2 * count <= 0xffff) return 2;
  if (bodySize + 4 * count <= 0xffffffff) return 4;
  return 8;
}

function appendOffsets(b: Builder, ends: number[]): void {
  const w = offsetWidth(b.length, ends.length);
  if (w === 0) return;
  const table = new Uint8Array(ends.length * w);
  ends.forEach((end, i) => {
    let v = end;
    for (let k = 0; k < w; k++) {
      table[i * w + k] = v & 0xff;
      v = Math.floor(v / 256);
    }
  });
  b.push(table);
}

const INT_RANGES: Record<string, [number, number]> = {
  y: [0, 0xff], n: [-0x8000, 0x7fff], q: [0, 0xffff],
  i: [-0x80000000, 0x7fffffff], u: [0, 0xffffffff], h: [-0x80000000, 0x7fffffff],
};

function encodeBasic(t: GVType & { kind: 'basic' }, v: GVValue, le: boolean, path: string): Uint8Array {
  const code = t.code;
  switch (code) {
    case 'b':
      if (typeof v !== 'boolean') throw bad(t, 'expected a boolean', path);
      return Uint8Array.of(v ? 1 : 0);
    case 'y': case 'n': case 'q': case 'i': case 'u': case 'h': {
      const [lo, hi] = INT_RANGES[code]!;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw bad(t, `expected an integer in ${lo}..${hi}`, path);
      const out = new Uint8Array(layout(t).fixedSize);
      const dv = new DataView(out.buffer);
      if (code === 'y') out[0] = v;
      else if (code === 'n') dv.setInt16(0, v, le);
      else if (code === 'q') dv.setUint16(0, v, le);
      else if (code === 'u') dv.setUint32(0, v, le);
      else dv.setInt32(0, v, le);
      return out;
    }
    case 'x': case 't': {
      if (typeof v !== 'bigint') throw bad(t, 'expected a bigint', path);
      const ok = code === 'x' ? BigInt.asIntN(64, v) === v : BigInt.asUintN(64, v) === v;
      if (!ok) throw bad(t, `out of range for ${code === 'x' ? 'int64' : 'uint64'}`, path);
      const out = new Uint8Array(8);
      const dv = new DataView(out.buffer);
      if (code === 'x') dv.setBigInt64(0, v, le);
      else dv.setBigUint64(0, v, le);
      return out;
    }
    case 'd': {
      if (typeof v !== 'number') throw bad(t, 'expected a number', path);
      const out = new Uint8Array(8);
      new DataView(out.buffer).setFloat64(0, v, le);
      return out;
    }
    case 's': case 'o': case 'g': {
      if (typeof v !== 'string') throw bad(t, 'expected a string', path);
      if (v.includes('\0')) throw bad(t, 'string contains NUL', path);
      if (hasLoneSurrogate(v)) throw bad(t, 'string is not valid Unicode (lone surrogate)', path);
      if (code === 'o' && !checkObjectPath(v)) throw bad(t, 'not a valid object path', path);
      if (code === 'g' && !checkSignature(v)) throw bad(t, 'not a valid signature', path);
      const bytes = utf8.encode(v);
      const out = new Uint8Array(bytes.length + 1);
      out.set(bytes);
      return out;
    }
  }
}

function isPlainArray(v: GVValue): v is GVValue[] {
  return Array.isArray(v);
}

function encodeTuple(t: GVType, members: GVType[], v: GVValue, le: boolean, path: string, depth: number): Uint8Array {
  if (!isPlainArray(v) || v.length !== members.length) throw bad(t, `expected an array of ${members.length} members`, path);
  if (members.length === 0) return Uint8Array.of(0);
  const b = new Builder();
  const ends: number[] = [];
  members.forEach((m, i) => {
    const l = layout(m);
    b.pad(l.alignment);
    b.push(encodeAt(m, v[i]!, le, `${path}/${i}`, depth + 1));
    if (l.fixedSize === 0 && i < members.length - 1) ends.push(b.length);
  });
  const tl = layout(t);
  if (tl.fixedSize !== 0) {
    b.pad(tl.alignment);
    return b.finish();
  }
  appendOffsets(b, ends.reverse());
  return b.finish();
}

function encodeArray(t: GVType & { kind: 'array' }, v: GVValue, le: boolean, path: string, depth: number): Uint8Array {
  const el = t.element;
  if (el.kind === 'basic' && el.code === 'y' && v instanceof Uint8Array) return v.slice();
  let items: GVValue[];
  if (el.kind === 'dictEntry') {
    if (!(v instanceof Map)) throw bad(t, 'expected a Map', path);
    items = [];
    for (const [k, val] of v) items.push([k, val]);
  } else {
    if (!isPlainArray(v)) throw bad(t, el.kind === 'basic' && el.code === 'y' ? 'expected a Uint8Array' : 'expected an array', path);
    items = v;
  }
  const l = layout(el);
  const b = new Builder();
  const ends: number[] = [];
  // An index loop, not forEach: a hole in a sparse array must fail, not vanish.
  for (let i = 0; i < items.length; i++) {
    b.pad(l.alignment);
    b.push(encodeAt(el, items[i]!, le, `${path}/${i}`, depth + 1));
    ends.push(b.length);
  }
  if (l.fixedSize === 0) appendOffsets(b, ends);
  return b.finish();
}

function encodeAt(t: GVType, v: GVValue, le: boolean, path: string, depth = 0): Uint8Array {
  switch (t.kind) {
    case 'basic':
      return encodeBasic(t, v, le, path);
    case 'variant': {
      if (!(v instanceof Variant)) throw bad(t, 'expected a Variant', path);
      const inner = v.gvtype;
      // The decoder's rule (GLib's): depth + depth(child type) < MAX_DEPTH.
      if (depth + layout(inner).depth >= MAX_DEPTH) {
        throw new GVariantError('GVARIANT_TOO_DEEP', `variants nest deeper than ${MAX_DEPTH} at ${path || '/'}`, { path: path || '/' });
      }
      const body = encodeAt(inner, v.value, le, `${path}/v`, depth + 1);
      const ts = utf8.encode(v.type);
      const out = new Uint8Array(body.length + 1 + ts.length);
      out.set(body);
      out.set(ts, body.length + 1);
      return out;
    }
    case 'maybe': {
      const el = t.element;
      let inner: GVValue;
      if (el.kind === 'maybe') {
        if (v === null) return new Uint8Array(0);
        if (typeof v !== 'object' || !('just' in v) || Object.getPrototypeOf(v) !== Object.prototype) {
          throw bad(t, 'expected null or { just: value }', path);
        }
        inner = v.just;
      } else {
        if (v === null) return new Uint8Array(0);
        inner = v;
      }
      const bytes = encodeAt(el, inner, le, `${path}/just`, depth + 1);
      if (layout(el).fixedSize !== 0) return bytes;
      const out = new Uint8Array(bytes.length + 1);
      out.set(bytes);
      return out;
    }
    case 'array':
      return encodeArray(t, v, le, path, depth);
    case 'tuple':
      return encodeTuple(t, t.members, v, le, path, depth);
    case 'dictEntry':
      return encodeTuple(t, [t.key, t.value], v, le, path, depth);
  }
}

/** Serializes `value` as `type` in normal form. Throws GVARIANT_BAD_TYPE / GVARIANT_BAD_VALUE. */
export function encode(type: string | GVType, value: GVValue, order: ByteOrder = 'le'): Uint8Array {
  if (order !== 'le' && order !== 'be') {
    throw new GVariantError('GVARIANT_BAD_VALUE', `byte order must be 'le' or 'be'`, { order: String(order) });
  }
  return encodeAt(toType(type), value, order === 'le', '');
}
