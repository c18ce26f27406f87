/**
 * Fault schedules as fast-check arbitraries, with positions tied to the
 * stream the run will actually carry: a fault-free push of each shape is
 * measured once (`StreamSize`: bytes and messages per direction, objects,
 * refs), and cut, corrupt and stall offsets, message and chunk indices, kill
 * steps and file-system call numbers are drawn inside those bounds. So
 * nearly every generated fault fires; the report shows fired against
 * generated. Offsets near the start are favoured a little (headers, INFO,
 * UPDATE are where framing bugs live).
 *
 * The sizes come from a fault-free push, so they are deterministic for a
 * shape: a seed still replays exactly.
 */
import fc from 'fast-check';
import type { Direction, Fault, FaultKind, KillPoint } from './faults.js';
import { ALL_FAULT_KINDS } from './faults.js';
import type { LinkParams } from './link.js';
import { SHAPE_COUNT } from './shapes.js';

export interface Schedule {
  shape: number;
  incremental: boolean;
  link: LinkParams;
  faults: Fault[];
  /** The pusher sends the objects parent first (parent-first-pusher.ts) instead of the real pusher's child-first order. */
  parentFirst?: boolean;
}

/** What a fault-free push of a shape carries. */
export interface StreamSize {
  bytes: Record<Direction, number>;
  messages: Record<Direction, number>;
  /** Objects sent (PUTOBJECTs). */
  objects: number;
  /** Refs the push moves. */
  refs: number;
}

export type SizeTable = (shape: number, incremental: boolean) => StreamSize;

const KILL_POINTS: readonly KillPoint[] = ['receiving', 'closure', 'publish', 'ref-temp', 'ref'];

/** An index in [0, n): `n` at least 1. */
const below = (n: number): fc.Arbitrary<number> => fc.nat({ max: Math.max(0, n - 1) });

export function faultArb(kinds: readonly FaultKind[], size: StreamSize, link: LinkParams): fc.Arbitrary<Fault> {
  const dir = fc.constantFrom('up' as const, 'down' as const);
  const byte = (d: Direction): fc.Arbitrary<number> => fc.oneof(below(Math.min(300, size.bytes[d])), below(size.bytes[d]));
  const chunks = (d: Direction): number => Math.ceil(size.bytes[d] / Math.max(1, (link.minChunk + link.maxChunk) / 2));
  const onDir = <T>(f: (d: Direction) => fc.Arbitrary<T>): fc.Arbitrary<T> => dir.chain(f);
  const objects = Math.max(1, size.objects);
  const arbs: Record<FaultKind, fc.Arbitrary<Fault>> = {
    'cut-byte': onDir((d) => fc.record({ kind: fc.constant('cut-byte' as const), dir: fc.constant(d), at: byte(d) })),
    'cut-message': onDir((d) => fc.record({ kind: fc.constant('cut-message' as const), dir: fc.constant(d), after: below(size.messages[d]) })),
    corrupt: onDir((d) => fc.record({ kind: fc.constant('corrupt' as const), dir: fc.constant(d), at: byte(d), bit: fc.nat({ max: 7 }) })),
    'drop-chunk': onDir((d) => fc.record({ kind: fc.constant('drop-chunk' as const), dir: fc.constant(d), index: below(chunks(d)) })),
    'dup-chunk': onDir((d) => fc.record({ kind: fc.constant('dup-chunk' as const), dir: fc.constant(d), index: below(chunks(d)) })),
    'swap-chunk': onDir((d) => fc.record({ kind: fc.constant('swap-chunk' as const), dir: fc.constant(d), index: below(chunks(d)) })),
    'drop-message': onDir((d) => fc.record({ kind: fc.constant('drop-message' as const), dir: fc.constant(d), index: below(size.messages[d]) })),
    'dup-message': onDir((d) => fc.record({ kind: fc.constant('dup-message' as const), dir: fc.constant(d), index: below(size.messages[d]) })),
    'swap-message': onDir((d) => fc.record({ kind: fc.constant('swap-message' as const), dir: fc.constant(d), index: below(size.messages[d]) })),
    stall: onDir((d) => fc.record({ kind: fc.constant('stall' as const), dir: fc.constant(d), at: byte(d) })),
    kill: fc.constantFrom(...KILL_POINTS).chain((at) =>
      fc.record({
        kind: fc.constant('kill' as const),
        at: fc.constant(at),
        step: at === 'closure' ? fc.constant(0) : at === 'ref' || at === 'ref-temp' ? fc.nat({ max: size.refs }) : fc.integer({ min: 1, max: objects }),
      }),
    ),
    fs: fc.constantFrom('stage-write' as const, 'publish' as const).chain((op) =>
      fc.record({ kind: fc.constant('fs' as const), op: fc.constant(op), errno: fc.constantFrom('ENOSPC' as const, 'EIO' as const), after: below(objects) }),
    ),
    race: fc.constant({ kind: 'race' as const }),
  };
  return fc.oneof(...kinds.map((k) => arbs[k]));
}

export interface ScheduleOptions {
  /** How often (1 in N) the pusher sends parent first; 0: never. */
  parentFirstOneIn?: number;
  /** Real links: keep delays small, a run costs an ssh session already. */
  cheapLink?: boolean;
}

export function linkArb(cheap = false): fc.Arbitrary<LinkParams> {
  return fc
    .record({
      seed: fc.integer(),
      minChunk: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 4096 })),
      spread: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1 << 20 })),
      latencyMs: cheap ? fc.constant(0) : fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 })),
      jitterMs: cheap ? fc.constant(0) : fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 })),
      bandwidth: cheap ? fc.constant(0) : fc.constantFrom(0, 0, 2000, 50_000),
    })
    .map(({ spread, ...p }) => ({ ...p, minChunk: Math.max(p.minChunk, p.latencyMs > 0 ? 256 : 1), maxChunk: Math.min(1 << 20, Math.max(p.minChunk, p.latencyMs > 0 ? 256 : 1) + spread) }));
}

export function scheduleArb(sizes: SizeTable, kinds: readonly FaultKind[] = ALL_FAULT_KINDS, o: ScheduleOptions = {}): fc.Arbitrary<Schedule> {
  const one = o.parentFirstOneIn ?? 0;
  const parentFirst = one <= 0 ? fc.constant(false) : fc.oneof({ arbitrary: fc.constant(false), weight: one - 1 }, { arbitrary: fc.constant(true), weight: 1 });
  return fc
    .record({ shape: fc.nat({ max: SHAPE_COUNT - 1 }), incremental: fc.boolean(), link: linkArb(o.cheapLink === true), parentFirst })
    .chain((base) =>
      (kinds.length === 0 ? fc.constant([] as Fault[]) : fc.array(faultArb(kinds, sizes(base.shape, base.incremental), base.link), { maxLength: 2 })).map((faults) => {
        const s: Schedule = { shape: base.shape, incremental: base.incremental, link: base.link, faults };
        if (base.parentFirst) s.parentFirst = true;
        return s;
      }),
    );
}
