/**
 * What the receiver does on DONE after an accepted UPDATE: the machine's
 * `publish` action (spec/machines/receiver.json; spec/ostree-format.md §5.1, §6.2).
 *
 * Under the repository lock, all or nothing:
 *   1. every ref is still at the `from` the UPDATE named (else REPO_REF_CONFLICT);
 *   2. the closure of every commit to publish (each ref's new commit, and any
 *      other staged commit) is complete in staged ∪ store: commit, dirtrees,
 *      dirmetas, files, the commitmeta when there is one
 *      (else PROTOCOL_INCOMPLETE_COMMIT); a dirtree already in the store
 *      counts as its whole subtree (the store's invariant; traverse.ts
 *      `trustStoreSubtrees`), so an incremental push reads only new directories;
 *   3. each ref's new commit is bound to that ref and collection when it
 *      carries bindings (else PROTOCOL_REF_BINDING; receive-bindings.ts), and
 *      each ref's old commit is in its new commit's parent chain, walked over
 *      staged ∪ store (else PROTOCOL_NOT_FAST_FORWARD, unless force is allowed);
 *   4. staged objects move into objects/ child first (their bytes made
 *      durable by one syncfs started on DONE, while 1–3 run), in the order of the
 *      closure walk (never the arrival order), grouped in levels with one
 *      durability barrier each (repo/staging.ts); staged objects no commit
 *      reaches are dropped;
 *   5. the refs move together by compare-and-swap (`updateRefs`);
 *      with `recommit`, 3 judges by timestamp instead of ancestry, and the
 *      refs name new commits made from the pushed ones, staged after 3 and
 *      published last in 4 (receive-recommit.ts);
 *   6. `summary` is regenerated when the repository has one (or always, with
 *      `alwaysWriteSummary`; never with `leaveSummary`), so clients that trust it see the new refs.
 * With a receive policy (`checks`, src/policy/engine.ts): a non-fast-forward
 * also needs the ref's `force` permission (after 3); signatures are verified
 * and new commitmetas made before 4, and written after 4, before 5.
 * Objects published before a failure in 5 or 6 are complete closures: fsck
 * stays clean, and a retry finds them already stored.
 */
import { join } from 'node:path';
import { type OstreePushError, ProtocolError, RepoError, asOstreePushError, isOstreePushError } from '../errors.js';
import { acquireLock } from '../repo/lock.js';
import { acquireOstreeLock, type OstreeLock, type OstreeLockOptions } from '../repo/ostree-lock.js';
import { objectRelPath, type ObjectName, type ObjectType } from '../repo/object-names.js';
import { readRef, updateRefs, ZERO_CHECKSUM } from '../repo/refs.js';
import type { Repo } from '../repo/repo.js';
import type { Staging } from '../repo/staging.js';
import { summaryState, writeSummary } from '../repo/summary.js';
import type { Dirtree } from '../repo/metadata.js';
import { ObjectList } from '../repo/object-list.js';
import { ObjectSet } from '../repo/object-set.js';
import { closure, parentChain, type RepoLike } from '../repo/traverse.js';
import type { ReceiveChecks } from '../policy/engine.js';
import { checkBindings } from './receive-bindings.js';
import { planRecommits, type RecommitOptions } from './receive-recommit.js';
import { refMoved } from './receive-refusals.js';

export interface AcceptedUpdate {
  ref: string;
  from: string;
  to: string;
}

export interface PublishOutcome {
  published: number;
  alreadyPresent: number;
  dropped: number;
  summaryUpdated: boolean;
  /** The refs that moved: all of `updates`, unless a ref write failed part way. */
  moved: AcceptedUpdate[];
  /** What went wrong after the refs moved (summary, a partial ref write) or around them (no ostree lock). */
  warnings: OstreePushError[];
}

/**
 * The named steps of publication, in order, where a test may hold the
 * receiver (`PublishHooks.pause`) to run an ostree command in between:
 * `done` (DONE received, no lock yet), `locked` (both locks held),
 * `checked` (refs, closure and fast-forward checked), `published` (objects
 * in objects/), `refs` (refs written), `summary` (summary written, locks
 * still held).
 */
export const PUBLISH_STEPS = ['done', 'locked', 'checked', 'published', 'refs', 'summary'] as const;
export type PublishStep = (typeof PUBLISH_STEPS)[number];

export interface PublishHooks {
  /** Called after each object lands in objects/ (tests check child-first with it). */
  onPublished?: (object: ObjectName, index: number) => void;
  /** A pause point: publication waits at each step until the returned promise settles (tests only). */
  pause?: (step: PublishStep) => Promise<void> | void;
}

export interface PublishPolicy {
  allowForce: boolean;
  /** Refuse a new commit bound to another ref or collection (receive-bindings.ts; default true). */
  verifyBindings?: boolean;
  /** The repository's collection id, for the collection binding (default: none). */
  collectionId?: string | null;
  canSignSummary: boolean;
  /** Signs the freshly written summary (writes summary.sig); only with canSignSummary. */
  signSummary?: (repo: Repo) => Promise<void>;
  /** Write a summary even when the repository had none (the `update` setting). */
  alwaysWriteSummary?: boolean;
  /** Leave the summary alone, even an existing one (`update` off, or an update hook owns it). */
  leaveSummary?: boolean;
  /** The receive policy (src/policy/engine.ts): force permission, signatures. */
  checks?: ReceiveChecks;
  /**
   * Re-commit each pushed commit, as ostree-receive 1.x does (receive-recommit.ts):
   * the refs name the re-commits, and a ref may move when the pushed commit is
   * newer than the current one (1.x's rule), not when it descends from it.
   */
  recommit?: boolean;
  /**
   * Take ostree's own repository lock (`.lock`, shared) from the ref check to
   * the summary (default true). false exists for one test: the one that shows
   * what the lock prevents.
   */
  ostreeLock?: boolean;
  ostreeLockOptions?: OstreeLockOptions;
  /** Told at once when ostree's lock is unavailable (the receiver prints it). */
  warn?: (w: OstreePushError) => void;
}

/** Staged ∪ store, staging first: what the walks of this module see. */
export function stagedView(repo: Repo, staging: Staging): RepoLike {
  return {
    path: repo.path,
    objectPath: (checksum: string, type: ObjectType) => (staging.has(checksum, type) ? staging.pathOf(checksum, type) : join(repo.path, objectRelPath(checksum, type))),
    staged: (checksum: string, type: ObjectType) => staging.has(checksum, type),
    held: repo.held,
  };
}

/**
 * Child-first order of every staged object some commit to publish reaches,
 * and the publication level (repo/publish-levels.ts) of each staged dirtree,
 * found while the walk holds it, so that publishing need not read it again.
 */
async function publishOrder(view: RepoLike, staging: Staging, updates: readonly AcceptedUpdate[]): Promise<{ order: ObjectList; dirtreeLevels: Map<string, number> }> {
  // A deletion (to = 64 zeros) publishes no object.
  const targets = new Set(updates.map((u) => u.to).filter((c) => c !== ZERO_CHECKSUM));
  // Other staged commits (history between old and new) first, parents before children where it matters little.
  const commits = [...staging.listOfType('commit').filter((o) => !targets.has(o.checksum)).map((o) => o.checksum), ...targets];
  const seen = new ObjectSet();
  // 33 bytes a staged object (object-list.ts), not an ObjectName each.
  const order = new ObjectList();
  const dirtreeLevels = new Map<string, number>();
  // A child in this publication is a staged one (the walk reaches it, so it is in `order`); a staged
  // child dirtree was walked, and so has its level, before its parent's subtree is done.
  const onDirtree = (checksum: string, tree: Dirtree): void => {
    if (!staging.has(checksum, 'dirtree')) return;
    let l = 0;
    for (const f of tree.files) if (staging.has(f.checksum, 'file')) l = 1;
    for (const d of tree.dirs) {
      if (staging.has(d.dirmeta, 'dirmeta')) l = Math.max(l, 1);
      const sub = dirtreeLevels.get(d.dirtree);
      if (sub !== undefined) l = Math.max(l, sub + 1);
    }
    dirtreeLevels.set(checksum, l);
  };
  for (const c of commits) {
    try {
      // Subtrees already in the store are complete (the store's invariant): not walked.
      for await (const o of closure(view, c, { seen, trustStoreSubtrees: true, onDirtree })) {
        if (staging.has(o.checksum, o.type)) order.push(o.checksum, o.type);
      }
    } catch (e) {
      if (isOstreePushError(e) && e.code === 'REPO_OBJECT_MISSING') {
        const what = `${String(e.data['checksum'])}.${String(e.data['type'])}`;
        throw new ProtocolError('PROTOCOL_INCOMPLETE_COMMIT', `commit ${c} is incomplete: object ${what} was neither sent nor already here; nothing was published`, {
          commit: c,
          missing: what,
        });
      }
      throw e;
    }
  }
  return { order, dirtreeLevels };
}

async function checkFastForward(view: RepoLike, u: AcceptedUpdate): Promise<void> {
  if (u.from === ZERO_CHECKSUM) return;
  const chain = await parentChain(view, u.to);
  if (chain.some((c) => c.checksum === u.from)) return;
  const last = chain.at(-1);
  const shallow = last !== undefined && last.commit.parent !== null;
  // Reached only when this repository does not accept forced updates (with
  // force allowed the caller takes this as a non-fast-forward), so pushing
  // with --force is no advice: the pusher may have used it already.
  const noForce = 'this repository accepts fast-forwards only';
  throw new ProtocolError(
    'PROTOCOL_NOT_FAST_FORWARD',
    shallow
      ? `ref ${u.ref}: cannot show that ${u.to} descends from ${u.from}: its history stops at ${last.checksum}, whose parent was not sent, and ${noForce}: send the commits in between`
      : `ref ${u.ref}: ${u.to} does not descend from ${u.from}, and ${noForce}: build the new commit on ${u.from} (pull it, then commit on top of it) and push again`,
    { ref: u.ref, from: u.from, to: u.to, forceAllowed: false },
  );
}

function recommitOptions(policy: PublishPolicy): RecommitOptions {
  const checks = policy.checks;
  return {
    collectionId: policy.collectionId ?? null,
    allowForce: policy.allowForce,
    ...(checks === undefined ? {} : { checkForce: (u: AcceptedUpdate) => checks.checkForce(u) }),
  };
}

/** Which refs of `updates` are now at their new value (after a failed ref write: what actually moved). */
function refsAtTarget(repo: Repo, updates: readonly AcceptedUpdate[]): AcceptedUpdate[] {
  return updates.filter((u) => {
    try {
      return (readRef(repo, u.ref) ?? ZERO_CHECKSUM) === u.to;
    } catch {
      return false;
    }
  });
}

export async function publishUpdate(
  repo: Repo,
  staging: Staging,
  updates: readonly AcceptedUpdate[],
  policy: PublishPolicy,
  hooks: PublishHooks = {},
): Promise<PublishOutcome> {
  const view = stagedView(repo, staging);
  const pause = async (step: PublishStep): Promise<void> => {
    await hooks.pause?.(step);
  };
  // Every object has arrived: once their background writes are done (a
  // failed one ends the push here), their bytes go to disk while the closure
  // is walked and checked.
  await staging.settle();
  const durable = staging.makeDurable();
  await pause('done');
  // Lock order: ours, then ostree's (every process of ours takes them in this order; ostree never takes ours).
  const lock = await acquireLock(repo);
  let ostreeLock: OstreeLock | undefined;
  const warnings: OstreePushError[] = [];
  try {
    if (policy.ostreeLock !== false) {
      // Shared, as libostree holds it around a transaction: excludes prune (exclusive), not other writers.
      ostreeLock = await acquireOstreeLock(repo, 'shared', policy.ostreeLockOptions);
      if (!ostreeLock.held) {
        const w = new RepoError('REPO_OSTREE_LOCK_UNAVAILABLE', `ostree's repository lock (.lock) could not be taken (${ostreeLock.unavailable ?? 'unknown reason'}); a concurrent ostree prune is not excluded`, {
          path: repo.path,
        });
        warnings.push(w);
        policy.warn?.(w);
      }
    }
    await pause('locked');
    for (const u of updates) {
      const current = readRef(repo, u.ref) ?? ZERO_CHECKSUM;
      if (current !== u.from) throw refMoved(u.ref, current, u.from);
    }
    const { order, dirtreeLevels } = await publishOrder(view, staging, updates);
    if (policy.verifyBindings !== false) await checkBindings(view, updates, policy.collectionId ?? null);
    // With recommit, 1.x's rule (newer by timestamp) instead of ancestry, and the refs name the re-commits.
    const recommits = policy.recommit === true ? await planRecommits(view, staging, updates, recommitOptions(policy)) : null;
    // A deletion is no fast-forward question: ref_permissions' `delete` decided it (at UPDATE).
    for (const u of recommits === null ? updates.filter((x) => x.to !== ZERO_CHECKSUM) : []) {
      if (!policy.allowForce) await checkFastForward(view, u);
      else if (policy.checks !== undefined) {
        // Force is allowed, but a non-fast-forward still needs the ref's `force` permission.
        const ff = await checkFastForward(view, u).then(
          () => true,
          (e: unknown) => {
            if (isOstreePushError(e) && e.code === 'PROTOCOL_NOT_FAST_FORWARD') return false;
            throw e;
          },
        );
        if (!ff) policy.checks.checkForce(u);
      }
    }
    // Signatures checked (and made) before anything is published.
    const signed = await policy.checks?.beforePublish(repo, staging, updates, recommits?.signTargets);
    const refUpdates = recommits?.refUpdates ?? updates;
    if (recommits !== null) for (const o of recommits.objects) order.push(o.checksum, o.type);
    const stagedCount = staging.size;
    await durable;
    await pause('checked');
    const moved = staging.publish(order, {
      dirtreeLevels,
      onStep: (k, o) => hooks.onPublished?.(o, k),
    });
    signed?.writeCommitmetas();
    await pause('published');
    let movedRefs: AcceptedUpdate[] = [...refUpdates, ...(recommits?.upToDate ?? [])];
    try {
      if (refUpdates.length > 0) {
        await updateRefs(
          repo,
          refUpdates.map((u) => ({ name: u.ref, from: u.from, to: u.to })),
          { lock },
        );
      }
    } catch (e) {
      // Failed before any ref file changed (a conflict, or a failure before the journal): nothing moved.
      movedRefs = refsAtTarget(repo, refUpdates);
      if (movedRefs.length === 0) throw e;
      // Some refs moved: that is the truth to report; the others are named in the warning.
      warnings.push(asOstreePushError(e));
    }
    await pause('refs');
    // From here on the refs have moved: a failure is a warning, never a failed push.
    let summaryUpdated = false;
    if (policy.leaveSummary !== true && (policy.alwaysWriteSummary === true || summaryState(repo).hasSummary)) {
      try {
        await writeSummary(repo, { dropSignature: policy.canSignSummary });
        if (policy.canSignSummary) await policy.signSummary?.(repo);
        summaryUpdated = true;
      } catch (e) {
        const err = asOstreePushError(e);
        warnings.push(new RepoError('REPO_SUMMARY_WRITE_FAILED', `the refs moved, but the summary could not be rewritten: ${err.message}`, { path: repo.path }, { cause: err }));
      }
    }
    await pause('summary');
    return { ...moved, dropped: stagedCount - order.length, summaryUpdated, moved: movedRefs, warnings };
  } finally {
    await ostreeLock?.release();
    lock.release();
  }
}
