/**
 * GVariant writer: normal form only (spec/ostree-format.md §2.2–2.6).
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
import { alignUp, type GVType } from './type.js';
import { K_ARRAY, K_BASIC, K_DICT_ENTRY, K_MAYBE, K_TUPLE, K_VARIANT, planFor, planOf, type Plan } from './plan.js';
import { Variant, type GVValue } from './variant.js';
import { checkObjectPath, checkSignature, hasLoneSurrogate } from './strings.js';

export type ByteOrder = 'le' | 'be';

/** GLib's G_VARIANT_MAX_RECURSION_DEPTH; shared with the decoder. */
export const MAX_DEPTH = 128;

// The whole value is written into one growing buffer at absolute positions:
// every container starts aligned (its parent padded to its alignment, the
// top is at 0), and its framing offsets come after its body, so nothing
// written ever moves. Offsets are relative to the container's start.

const utf8 = new TextEncoder();

/** One encode() call's output, and the path segments leading to the value being written (for errors only). */
class Writer {
  buf = new Uint8Array(256);
  dv = new DataView(this.buf.buffer);
  len = 0;
  le = true;
  /** segs[d] is the path segment of the value at depth d + 1 under the top. */
  segs: (string | number)[] = [];
  /** End offsets of variable members, as a stack shared by nested containers: ends[0..top). */
  ends: number[] = [];
  top = 0;

  pushEnd(end: number): void {
    this.ends[this.top++] = end;
  }

  reserve(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }

  /** Zero padding up to `alignment`, relative to `base` (a container start). */
  pad(base: number, alignment: number): void {
    const n = alignUp(this.len - base, alignment) - (this.len - base);
    if (n === 0) return;
    this.reserve(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
  }

  path(depth: number): string {
    let s = '';
    for (let i = 0; i < depth; i++) s += '/' + String(this.segs[i]);
    return s;
  }
}

function bad(p: Plan, why: string, w: Writer, depth: number): GVariantError {
  const path = w.path(depth) || '/';
  return new GVariantError('GVARIANT_BAD_VALUE', `value for ${p.str} at ${path}: ${why}`, { type: p.str, path });
}

/** Width of framing offsets for a container with this body size and offset count. */
export function offsetWidth(bodySize: number, count: number): number {
  if (count === 0) return 0;
  if (bodySize + count <= 0xff) return 1;
  if (bodySize + 2 * count <= 0xffff) return 2;
  if (bodySize + 4 * count <= 0xffffffff) return 4;
  return 8;
}

/** Appends ends[from..top) (in order, or reversed), little-endian, then drops them from the stack. */
function appendOffsets(w: Writer, base: number, from: number, reverse: boolean): void {
  const ends = w.ends;
  const count = w.top - from;
  const width = offsetWidth(w.len - base, count);
  if (width !== 0) {
    w.reserve(count * width);
    const buf = w.buf;
    let p = w.len;
    for (let j = 0; j < count; j++) {
      let v = ends[reverse ? w.top - 1 - j : from + j]!;
      for (let k = 0; k < width; k++) {
        buf[p++] = v & 0xff;
        v = Math.floor(v / 256);
      }
    }
    w.len = p;
  }
  // Setting the stack's length would be a slow builtin call; the top index is enough.
  w.top = from;
}

const INT_LO: Record<string, number> = { y: 0, n: -0x8000, q: 0, i: -0x80000000, u: 0, h: -0x80000000 };
const INT_HI: Record<string, number> = { y: 0xff, n: 0x7fff, q: 0xffff, i: 0x7fffffff, u: 0xffffffff, h: 0x7fffffff };

function encodeString(p: Plan, v: GVValue, w: Writer, depth: number): void {
  if (typeof v !== 'string') throw bad(p, 'expected a string', w, depth);
  const n = v.length;
  // Fast path: plain ASCII is copied as it is checked; anything else takes
  // the general path below (nothing is kept from the attempt).
  w.reserve(n + 1);
  const buf = w.buf;
  const at = w.len;
  let i = 0;
  for (; i < n; i++) {
    const ch = v.charCodeAt(i);
    if (ch === 0 || ch > 0x7f) break;
    buf[at + i] = ch;
  }
  if (i === n) {
    if (p.code === 'o' && !checkObjectPath(v)) throw bad(p, 'not a valid object path', w, depth);
    if (p.code === 'g' && !checkSignature(v)) throw bad(p, 'not a valid signature', w, depth);
    buf[at + n] = 0;
    w.len = at + n + 1;
    return;
  }
  if (v.includes('\0')) throw bad(p, 'string contains NUL', w, depth);
  if (hasLoneSurrogate(v)) throw bad(p, 'string is not valid Unicode (lone surrogate)', w, depth);
  if (p.code === 'o' && !checkObjectPath(v)) throw bad(p, 'not a valid object path', w, depth);
  if (p.code === 'g' && !checkSignature(v)) throw bad(p, 'not a valid signature', w, depth);
  // UTF-8 needs at most 3 bytes per UTF-16 unit.
  w.reserve(3 * n + 1);
  const { written } = utf8.encodeInto(v, w.buf.subarray(w.len, w.len + 3 * n));
  w.buf[w.len + written] = 0;
  w.len += written + 1;
}

function encodeBasic(p: Plan, v: GVValue, w: Writer, depth: number): void {
  const code = p.code;
  switch (code) {
    case 'b':
      if (typeof v !== 'boolean') throw bad(p, 'expected a boolean', w, depth);
      w.reserve(1);
      w.buf[w.len++] = v ? 1 : 0;
      return;
    case 'y': case 'n': case 'q': case 'i': case 'u': case 'h': {
      const lo = INT_LO[code]!;
      const hi = INT_HI[code]!;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw bad(p, `expected an integer in ${lo}..${hi}`, w, depth);
      w.reserve(p.fixedSize);
      const at = w.len;
      if (code === 'y') w.buf[at] = v;
      else if (code === 'n') w.dv.setInt16(at, v, w.le);
      else if (code === 'q') w.dv.setUint16(at, v, w.le);
      else if (code === 'u') w.dv.setUint32(at, v, w.le);
      else w.dv.setInt32(at, v, w.le);
      w.len = at + p.fixedSize;
      return;
    }
    case 'x': case 't': {
      if (typeof v !== 'bigint') throw bad(p, 'expected a bigint', w, depth);
      const ok = code === 'x' ? BigInt.asIntN(64, v) === v : BigInt.asUintN(64, v) === v;
      if (!ok) throw bad(p, `out of range for ${code === 'x' ? 'int64' : 'uint64'}`, w, depth);
      w.reserve(8);
      if (code === 'x') w.dv.setBigInt64(w.len, v, w.le);
      else w.dv.setBigUint64(w.len, v, w.le);
      w.len += 8;
      return;
    }
    case 'd': {
      if (typeof v !== 'number') throw bad(p, 'expected a number', w, depth);
      w.reserve(8);
      w.dv.setFloat64(w.len, v, w.le);
      w.len += 8;
      return;
    }
    default:
      encodeString(p, v, w, depth);
  }
}

/** Tuples and dict entries: `v` is the member array. */
function encodeTuple(p: Plan, v: GVValue, w: Writer, depth: number): void {
  const members = p.members;
  const count = members.length;
  if (!Array.isArray(v) || v.length !== count) throw bad(p, `expected an array of ${count} members`, w, depth);
  if (count === 0) {
    w.reserve(1);
    w.buf[w.len++] = 0;
    return;
  }
  const base = w.len;
  const from = w.top;
  for (let i = 0; i < count; i++) {
    const m = members[i]!;
    w.pad(base, m.alignment);
    w.segs[depth] = i;
    encodeAt(m, v[i]!, w, depth + 1);
    if (m.fixedSize === 0 && i < count - 1) w.pushEnd(w.len - base);
  }
  if (p.fixedSize !== 0) {
    w.pad(base, p.alignment);
    return;
  }
  appendOffsets(w, base, from, true);
}

/** A dict entry from a Map: key and value given apart (no [k, v] array). */
function encodeEntry(p: Plan, k: GVValue, val: GVValue, w: Writer, depth: number): void {
  const [kp, vp] = p.members as [Plan, Plan];
  const base = w.len;
  w.segs[depth] = 0;
  encodeAt(kp, k, w, depth + 1);
  const keyEnd = w.len - base;
  w.pad(base, vp.alignment);
  w.segs[depth] = 1;
  encodeAt(vp, val, w, depth + 1);
  if (p.fixedSize !== 0) {
    w.pad(base, p.alignment);
    return;
  }
  // A key is basic: its end is an offset only when it is a string.
  if (kp.fixedSize === 0) {
    w.pushEnd(keyEnd);
    appendOffsets(w, base, w.top - 1, true);
  }
}

function encodeArray(p: Plan, v: GVValue, w: Writer, depth: number): void {
  const el = p.element!;
  if (el.code === 'y' && v instanceof Uint8Array) {
    w.reserve(v.length);
    w.buf.set(v, w.len);
    w.len += v.length;
    return;
  }
  const base = w.len;
  const from = w.top;
  const variable = el.fixedSize === 0;
  if (el.tag === K_DICT_ENTRY) {
    if (!(v instanceof Map)) throw bad(p, 'expected a Map', w, depth);
    let i = 0;
    for (const [k, val] of v) {
      w.pad(base, el.alignment);
      w.segs[depth] = i++;
      encodeEntry(el, k, val, w, depth + 1);
      if (variable) w.pushEnd(w.len - base);
    }
  } else {
    if (!Array.isArray(v)) throw bad(p, el.code === 'y' ? 'expected a Uint8Array' : 'expected an array', w, depth);
    const items: GVValue[] = v;
    // An index loop, not forEach: a hole in a sparse array must fail, not vanish.
    for (let i = 0; i < items.length; i++) {
      w.pad(base, el.alignment);
      w.segs[depth] = i;
      encodeAt(el, items[i]!, w, depth + 1);
      if (variable) w.pushEnd(w.len - base);
    }
  }
  if (variable) appendOffsets(w, base, from, false);
}

function encodeVariant(p: Plan, v: GVValue, w: Writer, depth: number): void {
  if (!(v instanceof Variant)) throw bad(p, 'expected a Variant', w, depth);
  const inner = planOf(v.gvtype);
  // The decoder's rule (GLib's): depth + depth(child type) < MAX_DEPTH.
  if (depth + inner.depth >= MAX_DEPTH) {
    const path = w.path(depth) || '/';
    throw new GVariantError('GVARIANT_TOO_DEEP', `variants nest deeper than ${MAX_DEPTH} at ${path}`, { path });
  }
  w.segs[depth] = 'v';
  encodeAt(inner, v.value, w, depth + 1);
  const ts = v.type;
  w.reserve(ts.length + 1);
  const buf = w.buf;
  let at = w.len;
  buf[at++] = 0;
  // A valid type string is ASCII.
  for (let i = 0; i < ts.length; i++) buf[at++] = ts.charCodeAt(i);
  w.len = at;
}

function encodeMaybe(p: Plan, v: GVValue, w: Writer, depth: number): void {
  const el = p.element!;
  let inner: GVValue;
  if (el.tag === K_MAYBE) {
    if (v === null) return;
    if (typeof v !== 'object' || !('just' in v) || Object.getPrototypeOf(v) !== Object.prototype) {
      throw bad(p, 'expected null or { just: value }', w, depth);
    }
    inner = v.just;
  } else {
    if (v === null) return;
    inner = v;
  }
  w.segs[depth] = 'just';
  encodeAt(el, inner, w, depth + 1);
  if (el.fixedSize !== 0) return;
  w.reserve(1);
  w.buf[w.len++] = 0;
}

function encodeAt(p: Plan, v: GVValue, w: Writer, depth: number): void {
  switch (p.tag) {
    case K_BASIC: encodeBasic(p, v, w, depth); return;
    case K_VARIANT: encodeVariant(p, v, w, depth); return;
    case K_MAYBE: encodeMaybe(p, v, w, depth); return;
    case K_ARRAY: encodeArray(p, v, w, depth); return;
    case K_TUPLE: case K_DICT_ENTRY: encodeTuple(p, v, w, depth); return;
  }
}

// One writer reused across calls; a nested call (say, from a getter run while
// encoding) gets its own.
let spare: Writer | null = new Writer();

/** Serializes `value` as `type` in normal form. Throws GVARIANT_BAD_TYPE / GVARIANT_BAD_VALUE. */
export function encode(type: string | GVType, value: GVValue, order: ByteOrder = 'le'): Uint8Array {
  if (order !== 'le' && order !== 'be') {
    throw new GVariantError('GVARIANT_BAD_VALUE', `byte order must be 'le' or 'be'`, { order: String(order) });
  }
  const p = planFor(type);
  const w = spare ?? new Writer();
  spare = null;
  try {
    w.len = 0;
    w.le = order === 'le';
    encodeAt(p, value, w, 0);
    return w.buf.slice(0, w.len);
  } finally {
    w.top = 0;
    // A writer grown by a large value is dropped, not kept for the process's life.
    spare = w.buf.length <= 65536 && w.ends.length <= 4096 ? w : new Writer();
  }
}
