/**
 * The objects of a push plan, in sending order, held by the object and not
 * by the JavaScript value: 32 bytes of checksum, one type byte and an 8-byte
 * size in typed arrays, 41 bytes an object. One object per planned object
 * (checksum string, type, size) cost about 140 bytes each, 140 MB in a plan
 * of a million objects, all of them heap objects the collector visits.
 *
 * Storage is chunked (65,536 objects a chunk; the first chunk grows by
 * doubling from 64), so a plan never copies more than one chunk when it
 * grows. `at(i)` makes a PlannedObject view on demand (the window holds at
 * most a few thousand at a time). Arrays of PlannedObject satisfy
 * PlannedList too (tests, a plan of one commit).
 */
import { RepoError } from '../errors.js';
import { isChecksum, objectBasename, OBJECT_TYPES, type ObjectType } from '../repo/object-names.js';

export interface PlannedObject {
  checksum: string;
  type: ObjectType;
  /** The object file's basename, as PUTOBJECT names it. */
  name: string;
  size: number;
}

/** What the sender reads of a plan: its length and the object at an index. */
export interface PlannedList {
  readonly length: number;
  at(index: number): PlannedObject | undefined;
}

const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;
const FIRST = 64;
const TYPE_CODE = new Map<ObjectType, number>(OBJECT_TYPES.map((t, i) => [t, i]));

/** A planned object made from the plan's arrays: its file name is made when asked for. */
class Planned implements PlannedObject {
  constructor(
    readonly checksum: string,
    readonly type: ObjectType,
    readonly size: number,
  ) {}

  get name(): string {
    return objectBasename(this.checksum, this.type, 'archive');
  }
}

interface Chunk {
  sums: Buffer;
  types: Uint8Array;
  sizes: Float64Array;
}

function chunk(capacity: number): Chunk {
  return { sums: Buffer.alloc(capacity * 32), types: new Uint8Array(capacity), sizes: new Float64Array(capacity) };
}

export class PlannedObjects implements PlannedList, Iterable<PlannedObject> {
  readonly #chunks: Chunk[] = [];
  #length = 0;
  /** The sum of the sizes. */
  bytes = 0;

  static of(objects: Iterable<Pick<PlannedObject, 'checksum' | 'type' | 'size'>>): PlannedObjects {
    const out = new PlannedObjects();
    for (const o of objects) out.push(o.checksum, o.type, o.size);
    return out;
  }

  get length(): number {
    return this.#length;
  }

  /** Appends an object (REPO_BAD_OBJECT_NAME for a checksum or type that is not one). */
  push(checksum: string, type: ObjectType, size: number): void {
    const code = TYPE_CODE.get(type);
    if (!isChecksum(checksum) || code === undefined) {
      throw new RepoError('REPO_BAD_OBJECT_NAME', `invalid object name ${String(checksum).slice(0, 100)}.${String(type)}`, { checksum: String(checksum).slice(0, 100), type: String(type) });
    }
    const i = this.#length;
    const c = i >>> CHUNK_BITS;
    const j = i & (CHUNK - 1);
    let ch = this.#chunks[c];
    if (ch === undefined) {
      ch = chunk(c === 0 ? FIRST : CHUNK);
      this.#chunks.push(ch);
    } else if (j === ch.types.length) {
      // Only the first chunk grows (by doubling, up to CHUNK); the others are made full-size.
      const grown = chunk(Math.min(CHUNK, j * 2));
      grown.sums.set(ch.sums);
      grown.types.set(ch.types);
      grown.sizes.set(ch.sizes);
      this.#chunks[c] = grown;
      ch = grown;
    }
    ch.sums.write(checksum, j * 32, 32, 'hex');
    ch.types[j] = code;
    ch.sizes[j] = size;
    this.#length = i + 1;
    this.bytes += size;
  }

  at(index: number): PlannedObject | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.#length) return undefined;
    const ch = this.#chunks[index >>> CHUNK_BITS] as Chunk;
    const j = index & (CHUNK - 1);
    const checksum = ch.sums.toString('hex', j * 32, j * 32 + 32);
    return new Planned(checksum, OBJECT_TYPES[ch.types[j] as number] as ObjectType, ch.sizes[j] as number);
  }

  *[Symbol.iterator](): Iterator<PlannedObject> {
    for (let i = 0; i < this.#length; i++) yield this.at(i) as PlannedObject;
  }

  /** The objects `keep` keeps, in the same order. */
  filter(keep: (o: PlannedObject) => boolean): PlannedObjects {
    const out = new PlannedObjects();
    for (const o of this) if (keep(o)) out.push(o.checksum, o.type, o.size);
    return out;
  }

  map<T>(f: (o: PlannedObject, i: number) => T): T[] {
    const out: T[] = [];
    let i = 0;
    for (const o of this) out.push(f(o, i++));
    return out;
  }
}
