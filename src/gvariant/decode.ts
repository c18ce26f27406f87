/**
 * GVariant reader for untrusted bytes (spec/ostree-format.md §2.2–2.6), strict:
 * it accepts exactly the bytes our encoder would write for some value, and
 * rejects everything else with a GVariantError.
 *
 *   offset width from the container's total size: ≤0xff → 1, ≤0xffff → 2,
 *   ≤0xffffffff → 4, else 8; offsets little-endian; variable array: last
 *   offset = table start, n = (size - start) / width; tuple: offsets of
 *   non-last variable members read from the end; the last member ends where
 *   the table begins. v: child, 00, one complete type string (last 00 splits).
 *
 * Every length comes from the input and is checked against it before use;
 * the only allocations are the decoded values (bounded by the input size).
 * Recursion is bounded: type strings nest ≤ 128 containers, and a value's
 * depth (containers above it, variants included) follows GLib's rule.
 */
import { GVariantError } from '../errors.js';
import { MAX_DEPTH, type ByteOrder } from './encode.js';
import { alignUp } from './type.js';
import type { GVType } from './type.js';
import { K_ARRAY, K_BASIC, K_DICT_ENTRY, K_MAYBE, K_VARIANT, planFor, planForUntrusted, type Plan } from './plan.js';
import { Variant, type GVValue } from './variant.js';
import { checkObjectPath, checkSignature } from './strings.js';

// The walk keeps absolute positions in the one input buffer: no slice objects
// per value. Every container's start is aligned (its parent aligned it, and
// the top is at 0), but alignment is still computed relative to the
// container's start, as the format defines it.

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function notNormal(p: Plan, why: string, at: number): GVariantError {
  return new GVariantError('GVARIANT_NOT_NORMAL', `not normal ${p.str} at byte ${at}: ${why}`, {
    type: p.str,
    offset: at,
  });
}

/** The input of one decode() call. */
interface Input {
  b: Uint8Array;
  dv: DataView;
  le: boolean;
}

export function widthForSize(size: number): number {
  if (size <= 0xff) return 1;
  if (size <= 0xffff) return 2;
  if (size <= 0xffffffff) return 4;
  return 8;
}

/** Reads a little-endian framing offset; values beyond 2^53 come back as Infinity (always out of range). */
function readOffset(b: Uint8Array, pos: number, w: number): number {
  if (w === 1) return b[pos]!;
  if (w === 2) return b[pos]! | (b[pos + 1]! << 8);
  let v = 0;
  for (let k = w - 1; k >= 0; k--) v = v * 256 + b[pos + k]!;
  return Number.isSafeInteger(v) ? v : Infinity;
}

function checkZero(p: Plan, b: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to; i++) if (b[i] !== 0) throw notNormal(p, 'non-zero padding', i);
}

function decodeString(p: Plan, b: Uint8Array, start: number, end: number): string {
  const last = end - 1;
  if (end === start || b[last] !== 0) throw notNormal(p, 'string not NUL-terminated', end);
  // One pass: the first inner NUL is an error; note whether all is ASCII.
  let ascii = true;
  for (let i = start; i < last; i++) {
    const c = b[i]!;
    if (c === 0) throw notNormal(p, 'string contains NUL', i);
    if (c > 0x7f) ascii = false;
  }
  let str: string;
  if (ascii && last - start <= 16) {
    // Short ASCII (dictionary keys, most names): cheaper than a decoder call.
    str = '';
    for (let i = start; i < last; i++) str += String.fromCharCode(b[i]!);
  } else {
    try {
      str = utf8.decode(b.subarray(start, last));
    } catch {
      throw notNormal(p, 'string is not valid UTF-8', start);
    }
  }
  if (p.code === 'o' && !checkObjectPath(str)) throw notNormal(p, 'invalid object path', start);
  if (p.code === 'g' && !checkSignature(str)) throw notNormal(p, 'invalid signature', start);
  return str;
}

function decodeBasic(p: Plan, c: Input, start: number, end: number): GVValue {
  const fixed = p.fixedSize;
  if (fixed === 0) return decodeString(p, c.b, start, end);
  if (end - start !== fixed) throw notNormal(p, `size ${end - start}, expected ${fixed}`, start);
  const { dv, le } = c;
  switch (p.code) {
    case 'b': {
      const v = c.b[start]!;
      if (v > 1) throw notNormal(p, `boolean byte ${v}`, start);
      return v === 1;
    }
    case 'y': return c.b[start]!;
    case 'n': return dv.getInt16(start, le);
    case 'q': return dv.getUint16(start, le);
    case 'i': case 'h': return dv.getInt32(start, le);
    case 'u': return dv.getUint32(start, le);
    case 'x': return dv.getBigInt64(start, le);
    case 't': return dv.getBigUint64(start, le);
    default: return dv.getFloat64(start, le);
  }
}

function decodeVariant(p: Plan, c: Input, start: number, end: number, depth: number): Variant {
  const { b } = c;
  let z = end - 1;
  while (z >= start && b[z] !== 0) z--;
  if (z < start) throw notNormal(p, 'variant has no type string separator', start);
  let ts = '';
  for (let i = z + 1; i < end; i++) ts += String.fromCharCode(b[i]!);
  let child: Plan;
  try {
    child = planForUntrusted(ts);
  } catch (e) {
    if (!(e instanceof GVariantError)) throw e;
    throw notNormal(p, `variant type string ${JSON.stringify(ts.slice(0, 40))} is not one complete type`, z + 1);
  }
  // GLib: the child is kept only if depth + depth(child type) < MAX_DEPTH.
  if (depth + child.depth >= MAX_DEPTH) {
    throw new GVariantError('GVARIANT_TOO_DEEP', `variant at byte ${start} nests deeper than ${MAX_DEPTH}`, { offset: start, depth });
  }
  return new Variant(child.t, decodeAt(child, c, start, z, depth + 1));
}

function decodeMaybe(p: Plan, c: Input, start: number, end: number, depth: number): GVValue {
  const size = end - start;
  if (size === 0) return null;
  const el = p.element!;
  const fixed = el.fixedSize;
  let v: GVValue;
  if (fixed !== 0) {
    if (size !== fixed) throw notNormal(p, `Just of size ${size}, expected ${fixed}`, start);
    v = decodeAt(el, c, start, end, depth + 1);
  } else {
    if (c.b[end - 1] !== 0) throw notNormal(p, 'Just of a variable type must end in 00', end - 1);
    v = decodeAt(el, c, start, end - 1, depth + 1);
  }
  return el.tag === K_MAYBE ? { just: v } : v;
}

/**
 * Checks an array's framing and padding, all of it before any element is
 * decoded. Returns the element count, and for variable elements the offset
 * width and table start (the second pass re-reads the ends from the table).
 */
function arrayFraming(p: Plan, b: Uint8Array, start: number, end: number): [n: number, w: number, table: number] {
  const size = end - start;
  if (size === 0) return [0, 0, 0];
  const el = p.element!;
  if (el.fixedSize !== 0) {
    if (size % el.fixedSize !== 0) throw notNormal(p, `size ${size} is not a multiple of ${el.fixedSize}`, start);
    return [size / el.fixedSize, 0, 0];
  }
  const w = widthForSize(size);
  if (size < w) throw notNormal(p, 'too short for its offset table', start);
  const tableStart = readOffset(b, end - w, w);
  if (tableStart > size || (size - tableStart) % w !== 0) throw notNormal(p, 'bad offset table start', end - w);
  const n = (size - tableStart) / w;
  if (n === 0) throw notNormal(p, 'non-empty array without elements', start);
  const table = start + tableStart;
  let prevEnd = 0;
  for (let i = 0; i < n; i++) {
    const s = alignUp(prevEnd, el.alignment);
    const e = readOffset(b, table + i * w, w);
    if (e < s || e > tableStart) throw notNormal(p, `element ${i} has bad bounds`, table + i * w);
    checkZero(p, b, start + prevEnd, start + s);
    prevEnd = e;
  }
  return [n, w, table];
}

function decodeArray(p: Plan, c: Input, start: number, end: number, depth: number): GVValue {
  const el = p.element!;
  const { b } = c;
  if (el.code === 'y') return b.slice(start, end);
  const [n, w, table] = arrayFraming(p, b, start, end);
  const dict = el.tag === K_DICT_ENTRY;
  const map = dict ? new Map<GVValue, GVValue>() : null;
  const out: GVValue[] = dict ? [] : new Array<GVValue>(n);
  const fixed = el.fixedSize;
  let prevEnd = 0;
  for (let i = 0; i < n; i++) {
    let s: number;
    let e: number;
    if (fixed !== 0) {
      s = i * fixed;
      e = s + fixed;
    } else {
      s = alignUp(prevEnd, el.alignment);
      e = readOffset(b, table + i * w, w);
    }
    prevEnd = e;
    if (map !== null) {
      const kv = decodeTuple(el, c, start + s, start + e, depth + 1);
      const k = kv[0]!;
      if (map.has(k)) {
        throw new GVariantError('GVARIANT_DUPLICATE_KEY', `dictionary ${p.str} at byte ${start} repeats key ${String(k)}`, {
          type: p.str,
          offset: start + s,
        });
      }
      map.set(k, kv[1]!);
    } else {
      out[i] = decodeAt(el, c, start + s, start + e, depth + 1);
    }
  }
  return map ?? out;
}

/** Decodes a tuple, or a dict entry as [key, value]. */
function decodeTuple(p: Plan, c: Input, start: number, end: number, depth: number): GVValue[] {
  const { b } = c;
  const size = end - start;
  if (p.fixedSize !== 0 && size !== p.fixedSize) throw notNormal(p, `size ${size}, expected ${p.fixedSize}`, start);
  const members = p.members;
  const count = members.length;
  if (count === 0) {
    checkZero(p, b, start, end);
    return [];
  }
  const nOffsets = p.nOffsets;
  const w = nOffsets === 0 ? 0 : widthForSize(size);
  const tableStart = size - nOffsets * w;
  if (tableStart < 0) throw notNormal(p, 'too short for its offset table', start);
  const out = new Array<GVValue>(count);
  let pos = 0;
  let k = 0;
  for (let i = 0; i < count; i++) {
    const m = members[i]!;
    const s = alignUp(pos, m.alignment);
    let e: number;
    if (m.fixedSize !== 0) e = s + m.fixedSize;
    else if (i === count - 1) e = tableStart;
    else e = readOffset(b, end - ++k * w, w);
    if (s > e || e > tableStart) throw notNormal(p, `member ${i} has bad bounds`, start + s);
    checkZero(p, b, start + pos, start + s);
    out[i] = decodeAt(m, c, start + s, start + e, depth + 1);
    pos = e;
  }
  if (p.fixedSize !== 0) checkZero(p, b, start + pos, end);
  else if (pos !== tableStart) throw notNormal(p, `${tableStart - pos} stray bytes before the offset table`, start + pos);
  return out;
}

function decodeAt(p: Plan, c: Input, start: number, end: number, depth: number): GVValue {
  switch (p.tag) {
    case K_BASIC: return decodeBasic(p, c, start, end);
    case K_VARIANT: return decodeVariant(p, c, start, end, depth);
    case K_MAYBE: return decodeMaybe(p, c, start, end, depth);
    case K_ARRAY: return decodeArray(p, c, start, end, depth);
    default: return decodeTuple(p, c, start, end, depth);
  }
}

/**
 * Decodes `bytes` as one value of `type`. The whole input is the value:
 * nothing may follow it. Throws GVariantError (GVARIANT_BAD_TYPE,
 * GVARIANT_NOT_NORMAL, GVARIANT_TOO_DEEP, GVARIANT_DUPLICATE_KEY).
 */
export function decode(type: string | GVType, bytes: Uint8Array, order: ByteOrder = 'le'): GVValue {
  if (order !== 'le' && order !== 'be') {
    throw new GVariantError('GVARIANT_BAD_VALUE', `byte order must be 'le' or 'be'`, { order: String(order) });
  }
  if (!(bytes instanceof Uint8Array)) throw new GVariantError('GVARIANT_BAD_VALUE', 'decode needs a Uint8Array', {});
  const p = planFor(type);
  try {
    const input: Input = { b: bytes, dv: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), le: order === 'le' };
    return decodeAt(p, input, 0, bytes.length, 0);
  } catch (e) {
    if (e instanceof GVariantError) throw e;
    // A bug, not an input problem; still surface a typed error.
    throw new GVariantError('INTERNAL', `GVariant decoder failed: ${e instanceof Error ? e.message : String(e)}`, {}, { cause: e });
  }
}
