/**
 * A set of object names (checksum, type) that costs memory by the object,
 * not by the JavaScript value: each name is 32 bytes of checksum and one
 * type byte in typed arrays (open addressing, linear probing, at most 3/4
 * full, grown by half), 44–66 bytes an object. A `Set` of `checksum.type` strings
 * costs 110–130 bytes an object in a string and a hash entry, every one of
 * them a heap object the collector visits: a walk or a receive of a
 * million objects kept them all.
 *
 * Checksums are SHA-256 digests, uniform: their first word is the hash.
 * Names are checked (64 lowercase hex digits, a known type) on the way in:
 * anything else is REPO_BAD_OBJECT_NAME. Iteration yields new ObjectNames
 * in slot order, not insertion order.
 */
import { RepoError } from '../errors.js';
import { OBJECT_TYPES, type ObjectName, type ObjectType } from './object-names.js';

const WORDS = 8;
const HEX = '0123456789abcdef';

/** Slot index of each type, plus one (0 marks an empty slot). */
const TYPE_CODE = new Map<ObjectType, number>(OBJECT_TYPES.map((t, i) => [t, i + 1]));

function badName(checksum: string, type: ObjectType): RepoError {
  return new RepoError('REPO_BAD_OBJECT_NAME', `invalid object name ${checksum}.${String(type)}`, { checksum, type: String(type) });
}

/** The value of one lowercase hex digit, or -1. */
function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

export class ObjectSet implements Iterable<ObjectName> {
  #words: Uint32Array;
  #types: Uint8Array;
  #capacity: number;
  #size = 0;
  /** The name being looked up, as words (reused: no allocation per call). */
  readonly #key = new Uint32Array(WORDS);

  constructor(initialCapacity = 1024) {
    this.#capacity = Math.max(8, Math.ceil(initialCapacity));
    this.#words = new Uint32Array(this.#capacity * WORDS);
    this.#types = new Uint8Array(this.#capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Bytes held by the tables. */
  get byteLength(): number {
    return this.#words.byteLength + this.#types.byteLength;
  }

  has(checksum: string, type: ObjectType): boolean {
    return this.#find(this.#parse(checksum, type)) >= 0;
  }

  /** true when the name was not in the set before. */
  add(checksum: string, type: ObjectType): boolean {
    const code = this.#parse(checksum, type);
    if (this.#find(code) >= 0) return false;
    if ((this.#size + 1) * 4 > this.#capacity * 3) this.#grow();
    this.#put(this.#key, 0, code);
    this.#size++;
    return true;
  }

  /** true when the name was in the set. */
  delete(checksum: string, type: ObjectType): boolean {
    let hole = this.#find(this.#parse(checksum, type));
    if (hole < 0) return false;
    const cap = this.#capacity;
    const words = this.#words;
    const types = this.#types;
    types[hole] = 0;
    this.#size--;
    // Backward shift: every entry of the run after the hole that may live there moves into it.
    for (let j = (hole + 1) % cap; types[j] !== 0; j = (j + 1) % cap) {
      const home = (words[j * WORDS] as number) % cap;
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      words.copyWithin(hole * WORDS, j * WORDS, j * WORDS + WORDS);
      types[hole] = types[j] as number;
      types[j] = 0;
      hole = j;
    }
    return true;
  }

  *[Symbol.iterator](): IterableIterator<ObjectName> {
    for (let i = 0; i < this.#capacity; i++) {
      const code = this.#types[i] as number;
      if (code !== 0) yield { checksum: this.#hex(i), type: OBJECT_TYPES[code - 1] as ObjectType };
    }
  }

  /** Fills #key from the checksum; the type's code. */
  #parse(checksum: string, type: ObjectType): number {
    const code = TYPE_CODE.get(type);
    if (code === undefined || checksum.length !== 64) throw badName(checksum, type);
    const key = this.#key;
    for (let w = 0; w < WORDS; w++) {
      let v = 0;
      for (let k = 0; k < 8; k++) {
        const n = nibble(checksum.charCodeAt(w * 8 + k));
        if (n < 0) throw badName(checksum, type);
        v = (v << 4) | n;
      }
      key[w] = v >>> 0;
    }
    return code;
  }

  /** The slot holding #key with this type, or -1. */
  #find(code: number): number {
    const cap = this.#capacity;
    const words = this.#words;
    const types = this.#types;
    const key = this.#key;
    for (let i = (key[0] as number) % cap; ; i = (i + 1) % cap) {
      const t = types[i] as number;
      if (t === 0) return -1;
      if (t !== code) continue;
      const o = i * WORDS;
      let same = true;
      for (let w = 0; w < WORDS; w++) {
        if (words[o + w] !== key[w]) {
          same = false;
          break;
        }
      }
      if (same) return i;
    }
  }

  /** Puts the name at `from` (words of `src`) into a free slot; the caller knows it is absent. */
  #put(src: Uint32Array, from: number, code: number): void {
    const cap = this.#capacity;
    let i = (src[from] as number) % cap;
    while (this.#types[i] !== 0) i = (i + 1) % cap;
    this.#words.set(src.subarray(from, from + WORDS), i * WORDS);
    this.#types[i] = code;
  }

  #grow(): void {
    const oldWords = this.#words;
    const oldTypes = this.#types;
    const oldCap = this.#capacity;
    // By half again: a table at most 3/4 and at least 1/2 full.
    this.#capacity = Math.ceil(oldCap * 1.5);
    this.#words = new Uint32Array(this.#capacity * WORDS);
    this.#types = new Uint8Array(this.#capacity);
    for (let i = 0; i < oldCap; i++) {
      const code = oldTypes[i] as number;
      if (code !== 0) this.#put(oldWords, i * WORDS, code);
    }
  }

  #hex(slot: number): string {
    let s = '';
    for (let w = 0; w < WORDS; w++) {
      const v = this.#words[slot * WORDS + w] as number;
      for (let k = 28; k >= 0; k -= 4) s += HEX[(v >>> k) & 15];
    }
    return s;
  }
}
