/**
 * A type compiled once for the codec: its layout, its type string, its
 * children already compiled, and for tuples how many framing offsets they
 * carry. The encoder and decoder walk plans, so per value they do no map
 * lookups, no layout derivation and no type-string building.
 *
 * Type strings the program names (`decode('a{sv}', …)`) are few and repeat;
 * their plans live as long as their GVType objects (a WeakMap). Type strings
 * read from a `v` in untrusted input go through a small bounded cache: only
 * short strings, and the cache is emptied when full, so hostile input can cost
 * time but not memory.
 */
import { layout, parseType, parseTypeUncached, typeString, type BasicCode, type GVType } from './type.js';

/** Kind tags as small integers, for cheap switches in the hot paths. */
export const K_BASIC = 0;
export const K_VARIANT = 1;
export const K_ARRAY = 2;
export const K_MAYBE = 3;
export const K_TUPLE = 4;
export const K_DICT_ENTRY = 5;

export class Plan {
  /** Tuple and dict entry: the members ([key, value] for a dict entry); else empty. */
  readonly members: Plan[];
  /** Tuple and dict entry: framing offsets written (variable members but the last). */
  readonly nOffsets: number;

  constructor(
    readonly t: GVType,
    readonly tag: number,
    /** Basic types: the code letter; else ''. */
    readonly code: BasicCode | '',
    readonly fixedSize: number,
    readonly alignment: number,
    readonly depth: number,
    readonly str: string,
    /** Array and maybe: the element; else null. */
    readonly element: Plan | null,
    members: Plan[],
  ) {
    this.members = members;
    let n = 0;
    for (let i = 0; i < members.length - 1; i++) if (members[i]!.fixedSize === 0) n++;
    this.nOffsets = n;
  }
}

const plans = new WeakMap<GVType, Plan>();

/** The plan of a type object (compiled once per object). */
export function planOf(t: GVType): Plan {
  const hit = plans.get(t);
  if (hit !== undefined) return hit;
  const l = layout(t);
  let p: Plan;
  switch (t.kind) {
    case 'basic': p = new Plan(t, K_BASIC, t.code, l.fixedSize, l.alignment, l.depth, typeString(t), null, []); break;
    case 'variant': p = new Plan(t, K_VARIANT, '', l.fixedSize, l.alignment, l.depth, typeString(t), null, []); break;
    case 'array': p = new Plan(t, K_ARRAY, '', l.fixedSize, l.alignment, l.depth, typeString(t), planOf(t.element), []); break;
    case 'maybe': p = new Plan(t, K_MAYBE, '', l.fixedSize, l.alignment, l.depth, typeString(t), planOf(t.element), []); break;
    case 'tuple': p = new Plan(t, K_TUPLE, '', l.fixedSize, l.alignment, l.depth, typeString(t), null, t.members.map(planOf)); break;
    case 'dictEntry':
      p = new Plan(t, K_DICT_ENTRY, '', l.fixedSize, l.alignment, l.depth, typeString(t), null, [planOf(t.key), planOf(t.value)]);
      break;
  }
  plans.set(t, p);
  return p;
}

const byName = new Map<string, Plan>();

/** The plan for a type string or type object the program names (parseType's cache rules apply). */
export function planFor(type: string | GVType): Plan {
  if (typeof type !== 'string') return planOf(type);
  const hit = byName.get(type);
  if (hit !== undefined) return hit;
  const p = planOf(parseType(type));
  if (byName.size < 4096) byName.set(type, p);
  return p;
}

const UNTRUSTED_MAX_LENGTH = 32;
const UNTRUSTED_MAX_ENTRIES = 256;
const untrusted = new Map<string, Plan>();

/**
 * The plan for a type string read from input. Throws GVARIANT_BAD_TYPE like
 * parseTypeUncached. Invalid strings are never cached.
 */
export function planForUntrusted(ts: string): Plan {
  const hit = untrusted.get(ts);
  if (hit !== undefined) return hit;
  const p = planOf(parseTypeUncached(ts));
  if (ts.length <= UNTRUSTED_MAX_LENGTH) {
    if (untrusted.size >= UNTRUSTED_MAX_ENTRIES) untrusted.clear();
    untrusted.set(ts, p);
  }
  return p;
}

/** How many input type strings the bounded cache holds (for tests). */
export function untrustedCacheSize(): number {
  return untrusted.size;
}
