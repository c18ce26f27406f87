/**
 * Re-commit on receive (the `recommit` setting): what ostree-receive 1.x
 * does with every commit it receives, offered so that a repository fed by
 * 1.x keeps its linear history (spec/ostree-format.md §3 for the format).
 *
 * For each ref of the update, instead of pointing the ref at the pushed
 * commit C, the receiver writes a new commit R and points the ref at R:
 *
 *   metadata   C's, then `ostree.ref-binding` = [ref]; `ostree.collection-binding`
 *              = the repository's collection id, or removed when it has none;
 *              for a flatpak ref (`app/…`, `runtime/…`) also `xa.ref` = ref and
 *              `xa.from_commit` = C (as `flatpak build-commit-from` adds them).
 *              Keys in the order GVariantDict writes them after those inserts and
 *              the removal (glibDictOrderAfter), so the bytes are those libostree
 *              writes for the same inputs; past 7 keys, C's order then the added ones
 *   parent     the ref's current commit (none for a new ref)
 *   related    none
 *   subject, body, timestamp, root dirtree and dirmeta: C's
 *
 * C's detached metadata is not copied (its signatures are over C's bytes);
 * R is signed instead when signing keys are configured. C and its trees are
 * published as pushed (C under no ref); R is staged here and published after
 * them, so child-first holds (its children are C's root dirtree and dirmeta).
 *
 * Whether a ref may move is judged as 1.x judges it, since the pushed
 * commit's parent is the source's previous commit, never the server's
 * re-commit: C must be newer (timestamp) than the current commit and have
 * other content (root). A current commit that is a re-commit of C (same root,
 * timestamp, subject and body) means the ref is up to date: it stays where it
 * is and is reported as pushed. Any other failure of the rule is a
 * PROTOCOL_NOT_FAST_FORWARD unless force is allowed (and the ref's `force`
 * permission, with a policy); then R is made all the same.
 */
import { createHash } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import { Variant } from '../gvariant/index.js';
import { COLLECTION_BINDING_KEY, REF_BINDING_KEY } from '../repo/bindings.js';
import { gStrHash } from '../repo/glib-dict-order.js';
import { encodeCommit, type Commit } from '../repo/metadata.js';
import type { ObjectName } from '../repo/object-names.js';
import { ZERO_CHECKSUM } from '../repo/refs.js';
import type { Staging } from '../repo/staging.js';
import { readCommit, type RepoLike } from '../repo/traverse.js';

export interface RecommitUpdate {
  ref: string;
  from: string;
  to: string;
}

export interface RecommitPlan {
  /** The refs to write: each `to` is the new commit (deletions as they were). */
  refUpdates: RecommitUpdate[];
  /** Refs already at a re-commit of what was pushed: not written, reported as pushed (to = from). */
  upToDate: RecommitUpdate[];
  /** The new commits, to publish after everything else (child-first). */
  objects: ObjectName[];
  /** The re-commits: what signing keys sign (the pushed commits are what is verified). */
  signTargets: string[];
}

const FLATPAK_PREFIXES = ['app/', 'runtime/'];

export function isFlatpakRef(ref: string): boolean {
  return FLATPAK_PREFIXES.some((p) => ref.startsWith(p));
}

/**
 * The order in which a GVariantDict writes its keys after these inserts and
 * removals: GHashTable's 8 buckets replayed as repo/glib-dict-order.ts
 * describes them, plus what that module does not need, removal: a removed
 * key's bucket becomes a tombstone, which the next new key whose probe passes
 * it takes. null past 7 occupied buckets (the table would grow).
 */
export function glibDictOrderAfter(ops: ReadonlyArray<readonly ['insert' | 'remove', string]>): string[] | null {
  const SIZE = 8;
  const TOMBSTONE = 1;
  const hashes = new Array<number>(SIZE).fill(0);
  const keys = new Array<string | undefined>(SIZE).fill(undefined);
  let occupied = 0;
  for (const [op, key] of ops) {
    const hash = Math.max(2, gStrHash(key));
    let index = (Math.imul(hash, 11) >>> 0) % 7;
    let step = 0;
    let tombstone = -1;
    let found = -1;
    while (hashes[index] !== 0) {
      if (hashes[index] === hash && keys[index] === key) {
        found = index;
        break;
      }
      if (hashes[index] === TOMBSTONE && tombstone === -1) tombstone = index;
      step += 1;
      index = (index + step) & (SIZE - 1);
    }
    if (op === 'remove') {
      if (found !== -1) {
        hashes[found] = TOMBSTONE;
        keys[found] = undefined;
      }
      continue;
    }
    if (found !== -1) continue; // a replaced value keeps its bucket
    const at = tombstone !== -1 ? tombstone : index;
    if (hashes[at] === 0) occupied += 1;
    hashes[at] = hash;
    keys[at] = key;
    if (occupied >= SIZE) return null;
  }
  return keys.filter((k): k is string => k !== undefined);
}

/** The metadata of the re-commit of `source` for `ref` (see the header). */
export function recommitMetadata(source: Commit, sourceChecksum: string, ref: string, collectionId: string | null): Map<string, Variant> {
  const m = new Map(source.metadata);
  const ops: Array<['insert' | 'remove', string]> = [...m.keys()].map((k) => ['insert', k]);
  const set = (k: string, v: Variant): void => {
    m.set(k, v);
    ops.push(['insert', k]);
  };
  set(REF_BINDING_KEY, new Variant('as', [ref]));
  if (collectionId !== null) set(COLLECTION_BINDING_KEY, new Variant('s', collectionId));
  else if (m.delete(COLLECTION_BINDING_KEY)) ops.push(['remove', COLLECTION_BINDING_KEY]);
  if (isFlatpakRef(ref)) {
    set('xa.ref', new Variant('s', ref));
    set('xa.from_commit', new Variant('s', sourceChecksum));
  }
  const order = glibDictOrderAfter(ops);
  return order === null ? m : new Map(order.map((k) => [k, m.get(k) as Variant]));
}

/** The bytes of the re-commit of `source` for `ref` on `parent`. */
export function recommitBytes(source: Commit, sourceChecksum: string, ref: string, parent: string | null, collectionId: string | null): Uint8Array {
  return encodeCommit({
    metadata: recommitMetadata(source, sourceChecksum, ref, collectionId),
    parent,
    related: [],
    subject: source.subject,
    body: source.body,
    timestamp: source.timestamp,
    rootDirtree: source.rootDirtree,
    rootDirmeta: source.rootDirmeta,
  });
}

/** `current` is a re-commit of `pushed`: same root, timestamp, subject and body. */
function isRecommitOf(current: Commit, pushed: Commit): boolean {
  return (
    current.rootDirtree === pushed.rootDirtree &&
    current.rootDirmeta === pushed.rootDirmeta &&
    current.timestamp === pushed.timestamp &&
    current.subject === pushed.subject &&
    current.body === pushed.body
  );
}

function iso(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString().replace('.000Z', 'Z');
}

export interface RecommitOptions {
  collectionId: string | null;
  /** Force is allowed here; `checkForce` then says whether this ref may be forced. */
  allowForce: boolean;
  checkForce?: (u: RecommitUpdate) => void;
}

/**
 * Judges each update as 1.x would and stages the re-commits (see the header).
 * Throws PROTOCOL_NOT_FAST_FORWARD for a ref that may not move; stages nothing then.
 */
export async function planRecommits(view: RepoLike, staging: Staging, updates: readonly RecommitUpdate[], options: RecommitOptions): Promise<RecommitPlan> {
  const plan: RecommitPlan = { refUpdates: [], upToDate: [], objects: [], signTargets: [] };
  const made: Array<{ checksum: string; bytes: Uint8Array }> = [];
  for (const u of updates) {
    if (u.to === ZERO_CHECKSUM) {
      plan.refUpdates.push(u);
      continue;
    }
    const pushed = await readCommit(view, u.to);
    if (u.from !== ZERO_CHECKSUM) {
      const current = await readCommit(view, u.from);
      if (isRecommitOf(current, pushed)) {
        plan.upToDate.push({ ref: u.ref, from: u.from, to: u.from });
        continue;
      }
      const why =
        pushed.timestamp <= current.timestamp
          ? `${u.to} (${iso(pushed.timestamp)}) is not newer than the current commit ${u.from} (${iso(current.timestamp)})`
          : pushed.rootDirtree === current.rootDirtree && pushed.rootDirmeta === current.rootDirmeta
            ? `${u.to} has the same content as the current commit ${u.from}`
            : null;
      if (why !== null) {
        if (!options.allowForce) {
          throw new ProtocolError('PROTOCOL_NOT_FAST_FORWARD', `ref ${u.ref}: ${why}, and this repository re-commits and accepts newer commits only`, {
            ref: u.ref,
            from: u.from,
            to: u.to,
            forceAllowed: false,
          });
        }
        options.checkForce?.(u);
      }
    }
    const bytes = recommitBytes(pushed, u.to, u.ref, u.from === ZERO_CHECKSUM ? null : u.from, options.collectionId);
    const checksum = createHash('sha256').update(bytes).digest('hex');
    plan.refUpdates.push({ ref: u.ref, from: u.from, to: checksum });
    if (!plan.signTargets.includes(checksum)) plan.signTargets.push(checksum);
    if (!made.some((m) => m.checksum === checksum) && !staging.has(checksum, 'commit')) made.push({ checksum, bytes });
  }
  for (const m of made) {
    await staging.stageVerified(m.checksum, 'commit', [m.bytes]);
    plan.objects.push({ checksum: m.checksum, type: 'commit' });
  }
  await staging.settle();
  return plan;
}
