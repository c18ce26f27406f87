/**
 * The faults the simulator injects, as plain data: fast-check generates and
 * shrinks them, `describeFault` prints them so a failing schedule reads as a
 * list of steps and replays from its seed.
 *
 * Link faults act on one direction: `up` is pusher → receiver, `down`
 * receiver → pusher. Positions count bytes or messages of that direction as
 * they would go on the wire.
 */

export type Direction = 'up' | 'down';

export type LinkFault =
  /** The connection (both directions) breaks once this direction has carried `at` bytes. */
  | { kind: 'cut-byte'; dir: Direction; at: number }
  /** The connection breaks right after this direction's message number `after` (0-based) went through. */
  | { kind: 'cut-message'; dir: Direction; after: number }
  /** Byte `at` of this direction has bit `bit` flipped. */
  | { kind: 'corrupt'; dir: Direction; at: number; bit: number }
  | { kind: 'drop-chunk' | 'dup-chunk' | 'swap-chunk'; dir: Direction; index: number }
  | { kind: 'drop-message' | 'dup-message' | 'swap-message'; dir: Direction; index: number }
  /** This direction stops delivering after `at` bytes, without closing. */
  | { kind: 'stall'; dir: Direction; at: number };

export type KillPoint = 'receiving' | 'closure' | 'publish' | 'ref-temp' | 'ref';

export type Fault =
  | LinkFault
  /**
   * SIGKILL the (child process) receiver: after its `step`-th object received,
   * before publication (closure check), after the `step`-th object published,
   * with the `step`-th ref file's temp file written but not yet renamed
   * (`ref-temp`; step 0 is the journal's), or after the `step`-th ref write
   * (`ref`; step 0 is the journal).
   */
  | { kind: 'kill'; at: KillPoint; step: number }
  /** The `after`-th matching file-system call in the destination fails with `errno`. */
  | { kind: 'fs'; op: 'stage-write' | 'publish'; errno: 'ENOSPC' | 'EIO'; after: number }
  /** Another pusher pushes other commits to the same refs at the same time. */
  | { kind: 'race' };

export type FaultKind = Fault['kind'];

export const LINK_FAULT_KINDS = [
  'cut-byte',
  'cut-message',
  'corrupt',
  'drop-chunk',
  'dup-chunk',
  'swap-chunk',
  'drop-message',
  'dup-message',
  'swap-message',
  'stall',
] as const satisfies readonly LinkFault['kind'][];

export const ALL_FAULT_KINDS: readonly FaultKind[] = [...LINK_FAULT_KINDS, 'kill', 'fs', 'race'];

export function isLinkFault(f: Fault): f is LinkFault {
  return (LINK_FAULT_KINDS as readonly string[]).includes(f.kind);
}

export function describeFault(f: Fault): string {
  const dir = 'dir' in f ? (f.dir === 'up' ? 'pusher→receiver' : 'receiver→pusher') : '';
  switch (f.kind) {
    case 'cut-byte':
      return `cut the connection at byte ${f.at} of ${dir}`;
    case 'cut-message':
      return `cut the connection after message ${f.after} of ${dir}`;
    case 'corrupt':
      return `flip bit ${f.bit} of byte ${f.at} of ${dir}`;
    case 'drop-chunk':
    case 'dup-chunk':
    case 'swap-chunk':
      return `${f.kind.split('-')[0]} chunk ${f.index} of ${dir}`;
    case 'drop-message':
    case 'dup-message':
    case 'swap-message':
      return `${f.kind.split('-')[0]} message ${f.index} of ${dir}`;
    case 'stall':
      return `stall ${dir} after byte ${f.at}`;
    case 'kill':
      if (f.at === 'closure') return 'SIGKILL the receiver before publication (closure check)';
      if (f.at === 'ref-temp') return `SIGKILL the receiver between writing and renaming the temp file of ${f.step === 0 ? 'the ref journal' : `ref write ${f.step}`}`;
      return `SIGKILL the receiver after ${f.at} step ${f.step}`;
    case 'fs':
      return `${f.errno} on ${f.op} call ${f.after}`;
    case 'race':
      return 'a second pusher races on the same refs';
  }
}
