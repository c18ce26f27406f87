/**
 * Bytes per object of the per-object state a push keeps, at N objects
 * (default 1,000,000): what each side would hold for a push of a million
 * objects, without making one.
 *
 *   node --expose-gc --import tsx bench/state-memory.ts [N]
 *
 * Measured one structure at a time, as heap plus array buffers after a full
 * collection, with the names (random SHA-256 checksums) made per insertion as
 * a walk or a receive makes them:
 *   names-set       a Set of `checksum.type` strings (the walks' and the
 *                   staging's sets before src/repo/object-set.ts)
 *   object-set      ObjectSet (object-set.ts), what they use now
 *   planned-named   the push plan's objects with their file name held
 *   planned         the push plan's objects as one object each, the name made
 *                   on use (before src/protocol/planned-objects.ts)
 *   planned-typed   the push plan's objects as held now: PlannedObjects
 *                   (checksum bytes, type and size in typed arrays)
 *   names-array     an array of ObjectNames (the receiver's publication order
 *                   and levels before src/repo/object-list.ts)
 *   object-list     ObjectList (object-list.ts), what they use now
 */
import { randomBytes } from 'node:crypto';
import { PlannedObjects } from '../src/protocol/index.js';
import { ObjectList, objectBasename, ObjectSet, type ObjectName } from '../src/repo/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const n = Number(process.argv[2] ?? 1_000_000);

const hex = (): string => randomBytes(32).toString('hex');

function held(): number {
  (gc as () => void)();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function measure(what: string, build: () => unknown): void {
  const before = held();
  const kept = build();
  const after = held();
  process.stdout.write(`${what.padEnd(16)} ${((after - before) / n).toFixed(0).padStart(5)} bytes an object, ${((after - before) / 1e6).toFixed(0).padStart(5)} MB at ${n} objects\n`);
  if (kept === null) process.stdout.write('\n');
}

class Planned {
  constructor(
    readonly checksum: string,
    readonly type: 'file',
    readonly size: number,
  ) {}

  get name(): string {
    return objectBasename(this.checksum, this.type, 'archive');
  }
}

measure('names-set', () => {
  const s = new Set<string>();
  for (let i = 0; i < n; i++) s.add(`${hex()}.file`);
  return s;
});
measure('object-set', () => {
  const s = new ObjectSet();
  for (let i = 0; i < n; i++) s.add(hex(), 'file');
  return s;
});
measure('planned-named', () => {
  const out: Array<{ checksum: string; type: 'file'; name: string; size: number }> = [];
  for (let i = 0; i < n; i++) {
    const checksum = hex();
    out.push({ checksum, type: 'file', name: objectBasename(checksum, 'file', 'archive'), size: i });
  }
  return out;
});
measure('planned', () => {
  const out: Planned[] = [];
  for (let i = 0; i < n; i++) out.push(new Planned(hex(), 'file', i));
  return out;
});
measure('planned-typed', () => {
  const out = new PlannedObjects();
  for (let i = 0; i < n; i++) out.push(hex(), 'file', i);
  return out;
});
measure('names-array', () => {
  const out: ObjectName[] = [];
  for (let i = 0; i < n; i++) out.push({ checksum: hex(), type: 'file' });
  return out;
});
measure('object-list', () => {
  const out = new ObjectList();
  for (let i = 0; i < n; i++) out.push(hex(), 'file');
  return out;
});
