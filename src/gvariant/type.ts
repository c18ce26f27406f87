/**
 * GVariant type strings (spec/ostree-format.md §2.1).
 *
 *   basic   y b n q i u x t h d s o g      fixed size 1 1 2 2 4 4 8 8 4 8, s/o/g variable
 *   v       variant, variable, align 8
 *   aT mT   array / maybe, variable, align(T)
 *   (...)   tuple, {KV} dict entry (K basic): fixed iff every member is fixed,
 *           align = max member align (1 for `()`), fixed size rounded up to it; `()` is 1 byte
 *
 * Only definite types are accepted (no `*`, `?`, `r`). Nesting is limited to
 * MAX_TYPE_NESTING container levels, the limit GLib applies to type strings.
 */
import { GVariantError } from '../errors.js';

export type BasicCode = 'b' | 'y' | 'n' | 'q' | 'i' | 'u' | 'x' | 't' | 'h' | 'd' | 's' | 'o' | 'g';

export type GVType =
  | { kind: 'basic'; code: BasicCode }
  | { kind: 'variant' }
  | { kind: 'array'; element: GVType }
  | { kind: 'maybe'; element: GVType }
  | { kind: 'tuple'; members: GVType[] }
  | { kind: 'dictEntry'; key: GVType; value: GVType };

/** GLib refuses type strings with more than 128 nested containers (`a`×128 `y` is the deepest valid). */
export const MAX_TYPE_NESTING = 128;

const BASIC_SIZES: Record<BasicCode, number> = {
  b: 1, y: 1, n: 2, q: 2, i: 4, u: 4, x: 8, t: 8, h: 4, d: 8, s: 0, o: 0, g: 0,
};

export function isBasicCode(c: string | undefined): c is BasicCode {
  return c !== undefined && c.length === 1 && Object.hasOwn(BASIC_SIZES, c);
}

function badType(s: string, why: string): GVariantError {
  return new GVariantError('GVARIANT_BAD_TYPE', `bad GVariant type ${JSON.stringify(s.slice(0, 80))}: ${why}`, { type: s.slice(0, 256) });
}

/**
 * Reads one complete type starting at `pos`. Returns the type and the index
 * after it. Iterative over nesting depth only through recursion bounded by
 * MAX_TYPE_NESTING, so hostile strings cannot exhaust the stack.
 */
export function scanType(s: string, pos: number, nesting = 0): [GVType, number] {
  const c = s[pos];
  if (c === undefined) throw badType(s, 'incomplete type');
  if (isBasicCode(c)) return [{ kind: 'basic', code: c }, pos + 1];
  if (c === 'v') return [{ kind: 'variant' }, pos + 1];
  if (c !== 'a' && c !== 'm' && c !== '(' && c !== '{') throw badType(s, `unexpected ${JSON.stringify(c)} at ${pos}`);
  if (nesting >= MAX_TYPE_NESTING) throw badType(s, `nested deeper than ${MAX_TYPE_NESTING}`);
  if (c === 'a' || c === 'm') {
    const [element, next] = scanType(s, pos + 1, nesting + 1);
    return [c === 'a' ? { kind: 'array', element } : { kind: 'maybe', element }, next];
  }
  if (c === '{') {
    const k = s[pos + 1];
    if (!isBasicCode(k)) throw badType(s, 'dict entry key must be a basic type');
    const [value, next] = scanType(s, pos + 2, nesting + 1);
    if (s[next] !== '}') throw badType(s, 'dict entry must have exactly two members');
    return [{ kind: 'dictEntry', key: { kind: 'basic', code: k }, value }, next + 1];
  }
  const members: GVType[] = [];
  let p = pos + 1;
  while (s[p] !== ')') {
    if (p >= s.length) throw badType(s, 'unclosed tuple');
    const [m, next] = scanType(s, p, nesting + 1);
    members.push(m);
    p = next;
  }
  return [{ kind: 'tuple', members }, p + 1];
}

const cache = new Map<string, GVType>();
const CACHE_LIMIT = 4096;

/** Parses a single complete definite type string. Throws GVARIANT_BAD_TYPE. */
export function parseType(s: string): GVType {
  const hit = cache.get(s);
  if (hit) return hit;
  if (typeof s !== 'string' || s.length === 0) throw badType(String(s), 'empty');
  const [t, end] = scanType(s, 0);
  if (end !== s.length) throw badType(s, 'more than one complete type');
  if (cache.size < CACHE_LIMIT) cache.set(s, t);
  return t;
}

/** Parses a type string without caching it (for type strings read from untrusted data). */
export function parseTypeUncached(s: string): GVType {
  if (s.length === 0) throw badType(s, 'empty');
  const [t, end] = scanType(s, 0);
  if (end !== s.length) throw badType(s, 'more than one complete type');
  return t;
}

export function toType(t: string | GVType): GVType {
  return typeof t === 'string' ? parseType(t) : t;
}

const strings = new WeakMap<GVType, string>();

export function typeString(t: GVType): string {
  const hit = strings.get(t);
  if (hit !== undefined) return hit;
  let s: string;
  switch (t.kind) {
    case 'basic': s = t.code; break;
    case 'variant': s = 'v'; break;
    case 'array': s = 'a' + typeString(t.element); break;
    case 'maybe': s = 'm' + typeString(t.element); break;
    case 'tuple': s = '(' + t.members.map(typeString).join('') + ')'; break;
    case 'dictEntry': s = '{' + typeString(t.key) + typeString(t.value) + '}'; break;
  }
  strings.set(t, s);
  return s;
}

export interface Layout {
  /** Serialized size when every value of the type has the same size, else 0. */
  fixedSize: number;
  alignment: number;
  /** GLib's depth: 1 for a basic type or `v`, 1 + deepest member for containers. */
  depth: number;
}

const layouts = new WeakMap<GVType, Layout>();

export function alignUp(n: number, a: number): number {
  return (n + a - 1) & ~(a - 1);
}

function tupleLayout(members: GVType[]): Layout {
  let alignment = 1;
  let offset = 0;
  let fixed = true;
  let depth = 0;
  for (const m of members) {
    const l = layout(m);
    alignment = Math.max(alignment, l.alignment);
    depth = Math.max(depth, l.depth);
    if (l.fixedSize === 0) fixed = false;
    else offset = alignUp(offset, l.alignment) + l.fixedSize;
  }
  let fixedSize = 0;
  if (fixed) fixedSize = members.length === 0 ? 1 : alignUp(offset, alignment);
  return { fixedSize, alignment, depth: depth + 1 };
}

/** Fixed size, alignment and depth of a type (memoised per type object). */
export function layout(t: GVType): Layout {
  const hit = layouts.get(t);
  if (hit) return hit;
  let l: Layout;
  switch (t.kind) {
    case 'basic': {
      const size = BASIC_SIZES[t.code];
      l = { fixedSize: size, alignment: size === 0 ? 1 : size, depth: 1 };
      break;
    }
    case 'variant': l = { fixedSize: 0, alignment: 8, depth: 1 }; break;
    case 'array':
    case 'maybe': {
      const e = layout(t.element);
      l = { fixedSize: 0, alignment: e.alignment, depth: e.depth + 1 };
      break;
    }
    case 'tuple': l = tupleLayout(t.members); break;
    case 'dictEntry': l = tupleLayout([t.key, t.value]); break;
  }
  layouts.set(t, l);
  return l;
}
