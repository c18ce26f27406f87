/**
 * The order in which GLib's GVariantDict serializes its keys.
 *
 * ostree builds the summary's `a{sv}` maps with GVariantDict, which keeps its
 * entries in a GHashTable and writes them out in bucket order: not sorted, not
 * in insertion order. To produce the same bytes as `ostree summary -u` we
 * replay GHashTable (GLib 2.74, observed identical on every key set tried):
 *
 *   hash   = g_str_hash: h = 5381; h = h * 33 + (signed char) c   (32-bit)
 *            (0 and 1 mark empty/deleted buckets, so they become 2)
 *   table  = 8 buckets (mask 7), modulus 7 until it grows
 *   bucket = (hash * 11) % 7 (32-bit product), then quadratic probing:
 *            step += 1; bucket = (bucket + step) & 7
 *   iteration = bucket 0 .. 7
 *
 * The table grows when 8 buckets are occupied, which reshuffles entries; we
 * never need more than 7 keys, so a larger set is an INTERNAL error rather
 * than a silently different order. Insertion order matters only when keys
 * collide; callers pass keys in the order ostree inserts them.
 */
import { OstreePushError } from '../errors.js';

const TABLE_SIZE = 8;
const TABLE_MOD = 7;

export function gStrHash(key: string): number {
  let h = 5381;
  for (const byte of Buffer.from(key, 'utf8')) {
    const c = byte >= 0x80 ? byte - 0x100 : byte;
    h = (Math.imul(h, 33) + c) >>> 0;
  }
  return h;
}

/** Keys (distinct, in insertion order) → the order a GVariantDict writes them. */
export function glibDictOrder(keys: readonly string[]): string[] {
  if (keys.length >= TABLE_SIZE) {
    throw new OstreePushError('INTERNAL', `glibDictOrder models at most ${TABLE_SIZE - 1} keys, got ${keys.length}`, { count: keys.length });
  }
  const buckets: Array<string | undefined> = new Array<string | undefined>(TABLE_SIZE).fill(undefined);
  for (const key of keys) {
    let hash = gStrHash(key);
    if (hash < 2) hash = 2;
    let index = Math.imul(hash, 11) >>> 0;
    index %= TABLE_MOD;
    let step = 0;
    while (buckets[index] !== undefined) {
      if (buckets[index] === key) throw new OstreePushError('INTERNAL', `glibDictOrder: duplicate key ${key}`, { key });
      step += 1;
      index = (index + step) & (TABLE_SIZE - 1);
    }
    buckets[index] = key;
  }
  return buckets.filter((k): k is string => k !== undefined);
}
