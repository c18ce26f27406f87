/**
 * Object names in a given order, with the position of each: 33 bytes a name
 * (32 bytes of checksum, one type byte, grown by half) plus index slots of 4
 * bytes at most half full, 41–66 bytes an object in typed arrays. An array of
 * ObjectNames with a Map from `checksum.type` to position cost about 250
 * bytes an object in heap objects (a string per name and per key, a hash
 * entry), every one of them kept for a whole publication and visited by
 * the collector; at 30,000 objects that was 8 MB of live heap, and the
 * heap V8 lets grow before it collects is a multiple of what is live.
 *
 * Names are checked on the way in (64 lowercase hex digits, a known type):
 * anything else is REPO_BAD_OBJECT_NAME. A name added twice keeps its first
 * position. `at(i)` makes a new ObjectName each time.
 */
import { RepoError } from '../errors.js';
import { isChecksum, OBJECT_TYPES, type ObjectName, type ObjectType } from '../repo/object-names.js';

const SUM = 32;
const TYPE_CODE = new Map<ObjectType, number>(OBJECT_TYPES.map((t, i) => [t, i]));

export class NameList {
  #sums: Buffer;
  #types: Uint8Array;
  #n = 0;
  /** Open addressing, linear probing: position + 1 of a name, 0 for an empty slot. */
  #slots: Int32Array;
  readonly #key = Buffer.alloc(SUM);
  /** Set by #find when the name is absent. */
  #slot = 0;

  constructor(initialCapacity = 1024) {
    const cap = Math.max(8, Math.ceil(initialCapacity));
    this.#sums = Buffer.alloc(cap * SUM);
    this.#types = new Uint8Array(cap);
    this.#slots = new Int32Array(slotsFor(cap));
  }

  static from(names: Iterable<ObjectName>): NameList {
    const list = new NameList(Array.isArray(names) ? names.length : 1024);
    for (const o of names) list.push(o.checksum, o.type);
    return list;
  }

  get length(): number {
    return this.#n;
  }

  /** Bytes held by the tables. */
  get byteLength(): number {
    return this.#sums.byteLength + this.#types.byteLength + this.#slots.byteLength;
  }

  /** Appends a name; returns its position (the first one when it was there already). */
  push(checksum: string, type: ObjectType): number {
    const code = this.#parse(checksum, type);
    const found = this.#find(code);
    if (found >= 0) return found;
    const slot = this.#slot;
    if (this.#n === this.#types.length) this.#grow();
    const i = this.#n++;
    this.#key.copy(this.#sums, i * SUM);
    this.#types[i] = code;
    if (this.#n * 2 > this.#slots.length) this.#rehash();
    else this.#slots[slot] = i + 1;
    return i;
  }

  /** The position of a name, or -1. */
  indexOf(checksum: string, type: ObjectType): number {
    return this.#find(this.#parse(checksum, type));
  }

  at(i: number): ObjectName {
    if (i < 0 || i >= this.#n) throw new RangeError(`no name at ${i} of ${this.#n}`);
    return { checksum: this.#sums.toString('hex', i * SUM, (i + 1) * SUM), type: OBJECT_TYPES[this.#types[i] as number] as ObjectType };
  }

  *[Symbol.iterator](): IterableIterator<ObjectName> {
    for (let i = 0; i < this.#n; i++) yield this.at(i);
  }

  /** Fills #key with the checksum's bytes; returns the type's code. */
  #parse(checksum: string, type: ObjectType): number {
    const code = TYPE_CODE.get(type);
    if (code === undefined || !isChecksum(checksum)) {
      throw new RepoError('REPO_BAD_OBJECT_NAME', `invalid object name ${String(checksum)}.${String(type)}`, { checksum: String(checksum), type: String(type) });
    }
    this.#key.write(checksum, 0, SUM, 'hex');
    return code;
  }

  /** The position of the name in #key, or -1 (then #slot is the empty slot where it would go). */
  #find(code: number): number {
    const mask = this.#slots.length - 1;
    let s = (this.#key.readUInt32LE(0) ^ code) & mask;
    for (;;) {
      const v = this.#slots[s] as number;
      if (v === 0) {
        this.#slot = s;
        return -1;
      }
      const i = v - 1;
      if (this.#types[i] === code && this.#key.compare(this.#sums, i * SUM, (i + 1) * SUM) === 0) return i;
      s = (s + 1) & mask;
    }
  }

  #grow(): void {
    const cap = Math.ceil(this.#types.length * 1.5);
    const sums = Buffer.alloc(cap * SUM);
    this.#sums.copy(sums, 0, 0, this.#n * SUM);
    this.#sums = sums;
    const types = new Uint8Array(cap);
    types.set(this.#types.subarray(0, this.#n));
    this.#types = types;
  }

  #rehash(): void {
    const slots = new Int32Array(slotsFor(this.#n * 2));
    const mask = slots.length - 1;
    for (let i = 0; i < this.#n; i++) {
      let s = (this.#sums.readUInt32LE(i * SUM) ^ (this.#types[i] as number)) & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = i + 1;
    }
    this.#slots = slots;
  }
}

/** A power of two at least twice `n`. */
function slotsFor(n: number): number {
  let s = 16;
  while (s < n * 2) s *= 2;
  return s;
}
