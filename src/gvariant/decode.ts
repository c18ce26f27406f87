/**
 * GVariant reader for untrusted bytes (ostree-format.md §2.2–2.6), strict:
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
import { alignUp, layout, parseTypeUncached, toType, typeString, type GVType } from './type.js';
import { Variant, type GVValue } from './variant.js';
import { checkObjectPath, checkSignature } from './strings.js';


const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function notNormal(t: GVType, why: string, at: number): GVariantError {
  return new GVariantError('GVARIANT_NOT_NORMAL', `not normal ${typeString(t)} at byte ${at}: ${why}`, {
    type: typeString(t),
    offset: at,
  });
}

/** The input slice being decoded and its absolute position (for error messages). */
interface Slice {
  b: Uint8Array;
  at: number;
}

function sub(s: Slice, start: number, end: number): Slice {
  return { b: s.b.subarray(start, end), at: s.at + start };
}

export function widthForSize(size: number): number {
  if (size <= 0xff) return 1;
  if (size <= 0xffff) return 2;
  if (size <= 0xffffffff) return 4;
  return 8;
}

/** Reads a little-endian framing offset; values beyond 2^53 come back as Infinity (always out of range). */
function readOffset(b: Uint8Array, pos: number, w: number): number {
  let v = 0;
  for (let k = w - 1; k >= 0; k--) v = v * 256 + b[pos + k]!;
  return Number.isSafeInteger(v) ? v : Infinity;
}

function checkZero(t: GVType, s: Slice, from: number, to: number): void {
  for (let p = from; p < to; p++) if (s.b[p] !== 0) throw notNormal(t, 'non-zero padding', s.at + p);
}

function decodeBasic(t: GVType & { kind: 'basic' }, s: Slice, le: boolean): GVValue {
  const { b } = s;
  const fixed = layout(t).fixedSize;
  if (fixed !== 0) {
    if (b.length !== fixed) throw notNormal(t, `size ${b.length}, expected ${fixed}`, s.at);
    const dv = new DataView(b.buffer, b.byteOffset, b.length);
    switch (t.code) {
      case 'b':
        if (b[0]! > 1) throw notNormal(t, `boolean byte ${b[0]}`, s.at);
        return b[0] === 1;
      case 'y': return b[0]!;
      case 'n': return dv.getInt16(0, le);
      case 'q': return dv.getUint16(0, le);
      case 'i': case 'h': return dv.getInt32(0, le);
      case 'u': return dv.getUint32(0, le);
      case 'x': return dv.getBigInt64(0, le);
      case 't': return dv.getBigUint64(0, le);
      case 'd': return dv.getFloat64(0, le);
    }
  }
  if (b.length === 0 || b[b.length - 1] !== 0) throw notNormal(t, 'string not NUL-terminated', s.at + b.length);
  const nul = b.indexOf(0);
  if (nul !== b.length - 1) throw notNormal(t, 'string contains NUL', s.at + nul);
  let str: string;
  try {
    str = utf8.decode(b.subarray(0, b.length - 1));
  } catch {
    throw notNormal(t, 'string is not valid UTF-8', s.at);
  }
  if (t.code === 'o' && !checkObjectPath(str)) throw notNormal(t, 'invalid object path', s.at);
  if (t.code === 'g' && !checkSignature(str)) throw notNormal(t, 'invalid signature', s.at);
  return str;
}

function decodeVariant(t: GVType, s: Slice, le: boolean, depth: number): Variant {
  const { b } = s;
  const z = b.lastIndexOf(0);
  if (z < 0) throw notNormal(t, 'variant has no type string separator', s.at);
  let ts = '';
  for (let p = z + 1; p < b.length; p++) ts += String.fromCharCode(b[p]!);
  let child: GVType;
  try {
    child = parseTypeUncached(ts);
  } catch (e) {
    if (!(e instanceof GVariantError)) throw e;
    throw notNormal(t, `variant type string ${JSON.stringify(ts.slice(0, 40))} is not one complete type`, s.at + z + 1);
  }
  // GLib: the child is kept only if depth + depth(child type) < MAX_DEPTH.
  if (depth + layout(child).depth >= MAX_DEPTH) {
    throw new GVariantError('GVARIANT_TOO_DEEP', `variant at byte ${s.at} nests deeper than ${MAX_DEPTH}`, { offset: s.at, depth });
  }
  return new Variant(child, decodeAt(child, sub(s, 0, z), le, depth + 1));
}

function decodeMaybe(t: GVType & { kind: 'maybe' }, s: Slice, le: boolean, depth: number): GVValue {
  const { b } = s;
  if (b.length === 0) return null;
  const el = t.element;
  const fixed = layout(el).fixedSize;
  let v: GVValue;
  if (fixed !== 0) {
    if (b.length !== fixed) throw notNormal(t, `Just of size ${b.length}, expected ${fixed}`, s.at);
    v = decodeAt(el, s, le, depth + 1);
  } else {
    if (b[b.length - 1] !== 0) throw notNormal(t, 'Just of a variable type must end in 00', s.at + b.length - 1);
    v = decodeAt(el, sub(s, 0, b.length - 1), le, depth + 1);
  }
  return el.kind === 'maybe' ? { just: v } : v;
}

/** Splits an array into element slices (checking framing and padding), then decodes each. */
function arrayElements(t: GVType & { kind: 'array' }, s: Slice): Slice[] {
  const { b } = s;
  const size = b.length;
  if (size === 0) return [];
  const el = layout(t.element);
  if (el.fixedSize !== 0) {
    if (size % el.fixedSize !== 0) throw notNormal(t, `size ${size} is not a multiple of ${el.fixedSize}`, s.at);
    const out: Slice[] = [];
    for (let p = 0; p < size; p += el.fixedSize) out.push(sub(s, p, p + el.fixedSize));
    return out;
  }
  const w = widthForSize(size);
  if (size < w) throw notNormal(t, 'too short for its offset table', s.at);
  const tableStart = readOffset(b, size - w, w);
  if (tableStart > size || (size - tableStart) % w !== 0) throw notNormal(t, 'bad offset table start', s.at + size - w);
  const n = (size - tableStart) / w;
  if (n === 0) throw notNormal(t, 'non-empty array without elements', s.at);
  const out: Slice[] = [];
  let prevEnd = 0;
  for (let i = 0; i < n; i++) {
    const start = alignUp(prevEnd, el.alignment);
    const end = readOffset(b, tableStart + i * w, w);
    if (end < start || end > tableStart) throw notNormal(t, `element ${i} has bad bounds`, s.at + tableStart + i * w);
    checkZero(t, s, prevEnd, start);
    out.push(sub(s, start, end));
    prevEnd = end;
  }
  return out;
}

function decodeArray(t: GVType & { kind: 'array' }, s: Slice, le: boolean, depth: number): GVValue {
  const el = t.element;
  if (el.kind === 'basic' && el.code === 'y') return s.b.slice();
  const parts = arrayElements(t, s);
  if (el.kind === 'dictEntry') {
    const map = new Map<GVValue, GVValue>();
    for (const part of parts) {
      const [k, v] = decodeTuple(el, [el.key, el.value], part, le, depth + 1);
      if (map.has(k!)) {
        throw new GVariantError('GVARIANT_DUPLICATE_KEY', `dictionary ${typeString(t)} at byte ${s.at} repeats key ${String(k)}`, {
          type: typeString(t),
          offset: part.at,
        });
      }
      map.set(k!, v!);
    }
    return map;
  }
  return parts.map((part) => decodeAt(el, part, le, depth + 1));
}

function decodeTuple(t: GVType, members: GVType[], s: Slice, le: boolean, depth: number): GVValue[] {
  const { b } = s;
  const size = b.length;
  const tl = layout(t);
  if (tl.fixedSize !== 0 && size !== tl.fixedSize) throw notNormal(t, `size ${size}, expected ${tl.fixedSize}`, s.at);
  if (members.length === 0) {
    checkZero(t, s, 0, size);
    return [];
  }
  let nOffsets = 0;
  members.forEach((m, i) => {
    if (layout(m).fixedSize === 0 && i < members.length - 1) nOffsets++;
  });
  const w = nOffsets === 0 ? 0 : widthForSize(size);
  const tableStart = size - nOffsets * w;
  if (tableStart < 0) throw notNormal(t, 'too short for its offset table', s.at);
  const out: GVValue[] = [];
  let pos = 0;
  let k = 0;
  members.forEach((m, i) => {
    const l = layout(m);
    const start = alignUp(pos, l.alignment);
    let end: number;
    if (l.fixedSize !== 0) end = start + l.fixedSize;
    else if (i === members.length - 1) end = tableStart;
    else end = readOffset(b, size - ++k * w, w);
    if (start > end || end > tableStart) throw notNormal(t, `member ${i} has bad bounds`, s.at + start);
    checkZero(t, s, pos, start);
    out.push(decodeAt(m, sub(s, start, end), le, depth + 1));
    pos = end;
  });
  if (tl.fixedSize !== 0) checkZero(t, s, pos, size);
  else if (pos !== tableStart) throw notNormal(t, `${tableStart - pos} stray bytes before the offset table`, s.at + pos);
  return out;
}

function decodeAt(t: GVType, s: Slice, le: boolean, depth: number): GVValue {
  switch (t.kind) {
    case 'basic': return decodeBasic(t, s, le);
    case 'variant': return decodeVariant(t, s, le, depth);
    case 'maybe': return decodeMaybe(t, s, le, depth);
    case 'array': return decodeArray(t, s, le, depth);
    case 'tuple': return decodeTuple(t, t.members, s, le, depth);
    case 'dictEntry': return decodeTuple(t, [t.key, t.value], s, le, depth);
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
  const t = toType(type);
  try {
    return decodeAt(t, { b: bytes, at: 0 }, order === 'le', 0);
  } catch (e) {
    if (e instanceof GVariantError) throw e;
    // A bug, not an input problem; still surface a typed error.
    throw new GVariantError('INTERNAL', `GVariant decoder failed: ${e instanceof Error ? e.message : String(e)}`, {}, { cause: e });
  }
}
