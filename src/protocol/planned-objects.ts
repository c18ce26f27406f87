/**
 * The objects of a push plan, in sending order, held by the object and not
 * by the JavaScript value: the names in an ObjectList (32 bytes of checksum
 * and a type byte, src/repo/object-list.ts) and the sizes in an array of
 * numbers (held unboxed, 8 bytes each), about 47 bytes an object. One
 * object per planned object (checksum string, type, size) cost about 140
 * bytes each, 140 MB in a plan of a million objects, all of them heap
 * objects the collector visits.
 *
 * `at(i)` makes a PlannedObject view on demand (the window holds at most a
 * few thousand at a time). Arrays of PlannedObject satisfy PlannedList too
 * (tests, a plan of one commit).
 */
import { ObjectList } from '../repo/object-list.js';
import { objectBasename, type ObjectType } from '../repo/object-names.js';

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

export class PlannedObjects implements PlannedList, Iterable<PlannedObject> {
  readonly #names = new ObjectList();
  readonly #sizes: number[] = [];
  /** The sum of the sizes. */
  bytes = 0;

  static of(objects: Iterable<Pick<PlannedObject, 'checksum' | 'type' | 'size'>>): PlannedObjects {
    const out = new PlannedObjects();
    for (const o of objects) out.push(o.checksum, o.type, o.size);
    return out;
  }

  get length(): number {
    return this.#names.length;
  }

  /** Appends an object (REPO_BAD_OBJECT_NAME for a checksum or type that is not one). */
  push(checksum: string, type: ObjectType, size: number): void {
    this.#names.push(checksum, type);
    this.#sizes.push(size);
    this.bytes += size;
  }

  at(index: number): PlannedObject | undefined {
    const name = this.#names.at(index);
    return name === undefined ? undefined : new Planned(name.checksum, name.type, this.#sizes[index] as number);
  }

  *[Symbol.iterator](): Iterator<PlannedObject> {
    for (let i = 0; i < this.length; i++) yield this.at(i) as PlannedObject;
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
