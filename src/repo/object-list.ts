/**
 * A list of object names (checksum, type) in the order added, held by the
 * object and not by the JavaScript value: 32 bytes of checksum and a type
 * byte in typed arrays, 33 bytes an object. An ObjectName per object (a
 * 64-character string and an object) cost about 120 bytes each: the
 * receiver's publication order and its levels hold every staged object.
 *
 * Storage is chunked (65,536 names a chunk; the first grows by doubling from
 * 64), so growing never copies more than one chunk. Iteration and `at(i)`
 * make ObjectName views on demand.
 */
import { RepoError } from '../errors.js';
import { isChecksum, OBJECT_TYPES, type ObjectName, type ObjectType } from './object-names.js';

/** What the publication reads of a list of names: arrays are ones too. */
export interface ObjectNames extends Iterable<ObjectName> {
  readonly length: number;
}

const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;
const FIRST = 64;
const TYPE_CODE = new Map<ObjectType, number>(OBJECT_TYPES.map((t, i) => [t, i]));

interface Chunk {
  sums: Buffer;
  types: Uint8Array;
}

const chunk = (capacity: number): Chunk => ({ sums: Buffer.alloc(capacity * 32), types: new Uint8Array(capacity) });

export class ObjectList implements ObjectNames {
  readonly #chunks: Chunk[] = [];
  #length = 0;

  static of(names: Iterable<ObjectName>): ObjectList {
    const out = new ObjectList();
    for (const o of names) out.push(o.checksum, o.type);
    return out;
  }

  get length(): number {
    return this.#length;
  }

  /** Appends a name (REPO_BAD_OBJECT_NAME for a checksum or type that is not one). */
  push(checksum: string, type: ObjectType): void {
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
      this.#chunks[c] = grown;
      ch = grown;
    }
    ch.sums.write(checksum, j * 32, 32, 'hex');
    ch.types[j] = code;
    this.#length = i + 1;
  }

  at(index: number): ObjectName | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.#length) return undefined;
    const ch = this.#chunks[index >>> CHUNK_BITS] as Chunk;
    const j = index & (CHUNK - 1);
    return { checksum: ch.sums.toString('hex', j * 32, j * 32 + 32), type: OBJECT_TYPES[ch.types[j] as number] as ObjectType };
  }

  *[Symbol.iterator](): Iterator<ObjectName> {
    for (let i = 0; i < this.#length; i++) yield this.at(i) as ObjectName;
  }
}
