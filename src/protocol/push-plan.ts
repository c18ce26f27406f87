/**
 * Planning a push (spec/machines/pusher.json, action `plan`): compare the
 * remote's refs from INFO with the local ones, decide per ref whether it is
 * new, up to date, a fast-forward, or rejected, and list the objects the
 * remote lacks, children first.
 *
 * - A ref the remote already has at the same commit is up to date: no UPDATE.
 * - A fast-forward: the remote's commit is in the new commit's parent chain.
 *   A remote commit missing locally cannot be proven an ancestor, so it is not
 *   a fast-forward; with `force` the update is asked for anyway. Against a
 *   receiver that re-commits (`recommits`: its refs name its own commits,
 *   never ours) every update is asked for, with the new commit alone, and
 *   the receiver judges it (newer by timestamp, as ostree-receive 1.x).
 * - Objects = reachable from the commits to send minus reachable from the
 *   remote's commits of the refs updated, found by walking old and new trees
 *   side by side (repo/difference-by-path.ts: unchanged subtrees are not read;
 *   a copied object may be planned though the remote has it, which QUERY or
 *   the receiver's skip of present objects absorbs). The remote's other refs
 *   are not walked, so an incremental push reads what changed, whatever the
 *   remote's size: what the new commits share only with those refs (a merge)
 *   is planned too and left to QUERY. When an updated ref has no such commit
 *   locally (a new ref, an unknown remote commit), every other commit the
 *   remote's refs name that exists locally is compared too, along the new
 *   trees' paths only (difference-by-path.ts `far`), so a branch made off
 *   another is not sent whole, and the remote's unrelated branches are not read. For a fast-forward, the commits to send are the new commit
 *   and every commit between it and the remote's one: the receiver walks that
 *   chain to prove the fast-forward before it moves the ref, and it publishes
 *   only complete commits. A new ref or a forced update sends the new commit
 *   alone; its older history is not sent (as a depth-0 `ostree pull` does).
 * - With a `judge` (push-policy.ts), a ref the receiver will certainly refuse
 *   is rejected with the judge's reason, and its objects are not planned.
 */
import { RepoError, UsageError } from '../errors.js';
import { isValidRefName, listRefs, readRef } from '../repo/refs.js';
import type { Repo } from '../repo/repo.js';
import { objectBasename } from '../repo/object-names.js';
import { differenceByPath } from '../repo/difference-by-path.js';
import { parentChain } from '../repo/traverse.js';
import { ZERO_CHECKSUM } from '../wire/constants.js';
import type { Judge } from './push-policy.js';
import { PlannedObjects, type PlannedObject } from './planned-objects.js';

export type { PlannedObject } from './planned-objects.js';

/** The reason of a ref rejected for being a non-fast-forward, and nothing else. */
export const NON_FAST_FORWARD = 'non-fast-forward';

/** The reason of a deletion rejected because the remote lacks the ref. */
export const NO_SUCH_REF = 'remote ref does not exist';

/** libostree's number for archive mode, as INFO carries it. */
export const ARCHIVE_MODE_NUMBER = 1;

/** not-pushed and unknown: after a session lost after DONE, as a second session found the remote (pusher.ts). */
export type RefStatus = 'pushed' | 'up-to-date' | 'rejected' | 'refused' | 'not-pushed' | 'unknown';

export interface RefPlan {
  ref: string;
  /** The remote's commit, or 64 zeros when the remote lacks the ref. */
  from: string;
  to: string;
  /** What the plan decided; 'pushed' here means "will be asked for". */
  action: 'update' | 'up-to-date' | 'rejected';
  /** A non-fast-forward update allowed by force. */
  forced: boolean;
  /** Why it is rejected: 'non-fast-forward', or what the judge predicted. */
  reason?: string;
  /** The local name or checksum pushed as `ref`, when not `ref` itself (SRC:DST). */
  src?: string;
}

export interface PushPlan {
  refs: RefPlan[];
  /** In sending order, held compactly (planned-objects.ts). */
  objects: PlannedObjects;
  bytes: number;
}

/**
 * The remote's heads among the names INFO lists: those that are ref names.
 * A version-0 receiver lists what libostree's list_refs returns, remote refs
 * (`origin:stable`) included (spec/protocol.md section 7); such a name never
 * matches a local ref, is never updated, and its commit is not taken as held
 * by the remote (a remote ref may name a commit that was never pulled).
 */
export function remoteHeads(listed: ReadonlyMap<string, string>): Map<string, string> {
  return new Map([...listed].filter(([name]) => isValidRefName(name)));
}

/**
 * What a receiver listing remote refs compares `from` with for a head it
 * lacks. The 2015 and 1.x receivers check `from` with libostree's
 * resolve_rev, which for a name absent from refs/heads falls back to the
 * first refs/remotes/REMOTE/name it finds: so for a head X the remote lacks,
 * when every listed `REMOTE:X` names one commit, that commit is the `from`
 * such a receiver expects (spec/protocol.md section 7). When they disagree,
 * which one it finds is unknown: `ambiguous` lists them, and 64 zeros goes.
 */
export function remoteRefFallback(listed: ReadonlyMap<string, string>): { from: Map<string, string>; ambiguous: Map<string, string[]> } {
  const seen = new Map<string, Array<[string, string]>>();
  for (const [name, commit] of listed) {
    const colon = name.indexOf(':');
    if (colon <= 0) continue;
    const ref = name.slice(colon + 1);
    if (!isValidRefName(ref) || listed.has(ref)) continue;
    const list = seen.get(ref) ?? [];
    list.push([name, commit]);
    seen.set(ref, list);
  }
  const from = new Map<string, string>();
  const ambiguous = new Map<string, string[]>();
  for (const [ref, list] of seen) {
    if (new Set(list.map(([, c]) => c)).size === 1) from.set(ref, (list[0] as [string, string])[1]);
    else ambiguous.set(ref, list.map(([n]) => n).sort());
  }
  return { from, ambiguous };
}

/**
 * The commit object `checksum` as a planned object. A version-0 receiver of
 * 2015 writes the refs of an accepted UPDATE only when it received at least
 * one object, so an update with nothing else to send carries its commit
 * (spec/protocol.md section 10); a receiver that holds it skips the payload.
 */
export function plannedCommit(repo: Repo, checksum: string): PlannedObject {
  const st = repo.objects.statSync(checksum, 'commit');
  if (st === null) throw new RepoError('REPO_OBJECT_MISSING', `object ${checksum}.commit is not in the repository`, { checksum, type: 'commit' });
  return { checksum, type: 'commit', name: objectBasename(checksum, 'commit', 'archive'), size: st.size };
}

/**
 * One ref argument of a push, as git push has them: `REF` (REF:REF),
 * `SRC:DST` (SRC a local head, or the checksum of a commit in the source
 * repository; DST the remote's ref), `+SRC:DST` or `+REF` (force for that
 * ref alone), `:DST` (delete the remote's DST; `--delete DST` on the
 * command line is the same). A deletion is DST → 64 zeros among the local
 * refs, sent as an UPDATE whose `to` is 64 zeros (spec/protocol.md 12.7).
 */
export interface Refspec {
  /** '' for a deletion. */
  src: string;
  dst: string;
  force: boolean;
}

const CHECKSUM = /^[0-9a-f]{64}$/;

/** A ref argument → its refspec (PUSH_BAD_REFSPEC for one that is not a refspec this version takes). */
export function parseRefspec(arg: string): Refspec {
  const force = arg.startsWith('+');
  const body = force ? arg.slice(1) : arg;
  const parts = body.split(':');
  const bad = (why: string) => new UsageError('PUSH_BAD_REFSPEC', `'${arg}': ${why}`, { refspec: arg });
  if (parts.length > 2) throw bad('a refspec is REF, SRC:DST or +SRC:DST');
  const [src = '', dst = src] = parts;
  if (src === '' && parts.length === 2 && dst !== '') {
    if (!isValidRefName(dst)) throw bad(`'${dst}' is not a valid ref name`);
    return { src: '', dst, force };
  }
  if (src === '' || dst === '') throw bad('a refspec is REF, SRC:DST, +SRC:DST or :DST');
  if (!isValidRefName(dst)) throw bad(`'${dst}' is not a valid ref name`);
  return { src, dst, force };
}

/** What a push's ref arguments name: DST → commit, and the DSTs forced by `+` and the SRCs of those not pushed under their own name. */
export interface LocalRefs {
  refs: Map<string, string>;
  /** DSTs given with `+`. */
  forced: Set<string>;
  /** DST → SRC, where they differ. */
  sources: Map<string, string>;
}

/**
 * The local refs to push, DST → commit: every refs/heads ref, or what the
 * refspecs name (PUSH_UNKNOWN_REF for a SRC that is neither a local head nor
 * a commit of the repository; PUSH_BAD_REFSPEC for one DST twice).
 */
export function resolveRefspecs(repo: Repo, args?: readonly string[]): LocalRefs {
  const out: LocalRefs = { refs: new Map(), forced: new Set(), sources: new Map() };
  if (args === undefined || args.length === 0) {
    out.refs = listRefs(repo, 'heads');
    return out;
  }
  for (const arg of args) {
    const { src, dst, force } = parseRefspec(arg);
    if (out.refs.has(dst)) throw new UsageError('PUSH_BAD_REFSPEC', `'${dst}' is named as the destination of more than one refspec`, { refspec: arg });
    if (src === '') {
      out.refs.set(dst, ZERO_CHECKSUM);
      continue;
    }
    let c: string | null;
    try {
      c = readRef(repo, src, 'heads');
    } catch (e) {
      if (e instanceof RepoError && e.code === 'REPO_BAD_REF_NAME') c = null;
      else throw e;
    }
    if (c === null && CHECKSUM.test(src) && repo.objects.statSync(src, 'commit') !== null) c = src;
    if (c === null) throw new UsageError('PUSH_UNKNOWN_REF', `${src} is not a local ${CHECKSUM.test(src) ? 'ref or commit' : 'ref'} of ${repo.path}`, { ref: src, repo: repo.path });
    out.refs.set(dst, c);
    if (force) out.forced.add(dst);
    if (src !== dst) out.sources.set(dst, src);
  }
  return out;
}

/** The local refs to push, DST → commit (resolveRefspecs). */
export function localRefs(repo: Repo, names?: readonly string[]): Map<string, string> {
  return resolveRefspecs(repo, names).refs;
}

/**
 * The commits from `commit` back to, but not including, `ancestor`, newest
 * first; null when `ancestor` is not in the (locally present) parent chain.
 */
export async function commitsSince(repo: Repo, ancestor: string, commit: string): Promise<string[] | null> {
  const out: string[] = [];
  for (const { checksum } of await parentChain(repo, commit)) {
    if (checksum === ancestor) return out;
    out.push(checksum);
  }
  return null;
}

export async function planPush(
  repo: Repo,
  local: ReadonlyMap<string, string>,
  remote: ReadonlyMap<string, string>,
  options: { force?: boolean; forceRefs?: ReadonlySet<string>; sources?: ReadonlyMap<string, string>; fallbackFrom?: ReadonlyMap<string, string>; judge?: Judge; recommits?: boolean } = {},
): Promise<PushPlan> {
  const refs: RefPlan[] = [];
  const wanted = new Set<string>();
  // The remote's commits of the refs to update, when held locally; `complete` false once one ref has none.
  const bases = new Set<string>();
  let complete = true;
  for (const [ref, to] of local) {
    const src = options.sources?.get(ref);
    const named = src === undefined ? {} : { src };
    const force = options.force === true || options.forceRefs?.has(ref) === true;
    const listed = remote.get(ref) ?? ZERO_CHECKSUM;
    if (to === ZERO_CHECKSUM) {
      // A deletion (:DST): of a ref the remote has, judged as the receiver would; no object goes.
      const refusal = listed === ZERO_CHECKSUM ? NO_SUCH_REF : ((await options.judge?.({ ref, from: listed, to, forced: false })) ?? null);
      refs.push(refusal === null ? { ref, from: listed, to, action: 'update', forced: false } : { ref, from: listed, to, action: 'rejected', forced: false, reason: refusal });
      continue;
    }
    if (listed === to) {
      refs.push({ ref, from: listed, to, action: 'up-to-date', forced: false, ...named });
      continue;
    }
    // A head the remote lacks is new, whatever 'from' its remote refs make it expect (remoteRefFallback).
    const from = listed === ZERO_CHECKSUM ? (options.fallbackFrom?.get(ref) ?? ZERO_CHECKSUM) : listed;
    // A receiver that re-commits (INFO policy `recommit`) judges by timestamp and needs the new commit only.
    const between = listed === ZERO_CHECKSUM || options.recommits === true ? [to] : await commitsSince(repo, listed, to);
    const forced = between === null;
    // Judged as the receiver would (push-policy.ts), as a creation when the head is absent there; a
    // non-fast-forward also as if forced, to say whether --force could help.
    const refusal = (await options.judge?.({ ref, from: listed, to, forced })) ?? null;
    if (forced && !force) {
      refs.push({ ref, from, to, action: 'rejected', forced: false, reason: refusal === null ? NON_FAST_FORWARD : `${NON_FAST_FORWARD}; ${refusal}`, ...named });
      continue;
    }
    if (refusal !== null) {
      refs.push({ ref, from, to, action: 'rejected', forced: false, reason: refusal, ...named });
      continue;
    }
    refs.push({ ref, from, to, action: 'update', forced, ...named });
    if (listed !== ZERO_CHECKSUM && options.recommits !== true && repo.objects.statSync(listed, 'commit') !== null) bases.add(listed);
    else complete = false;
    // Oldest first, so that each commit's objects go out before its child's.
    for (const c of (between ?? [to]).reverse()) wanted.add(c);
  }
  const want = [...wanted];
  const have = [...bases];
  // A ref without its own old commit here: the remote's other commits too, compared only along the new trees' paths.
  const far = complete ? [] : [...new Set(remote.values())].filter((c) => !bases.has(c));
  const objects = new PlannedObjects();
  if (want.length > 0) {
    const store = repo.objects;
    // The stat below is the existence check of each leaf: the walk need not look too.
    for await (const o of differenceByPath(repo, want, have, { checkLeaves: false, far })) {
      const st = store.statSync(o.checksum, o.type);
      if (st === null) {
        throw new RepoError('REPO_OBJECT_MISSING', `object ${o.checksum}.${o.type} is not in the repository`, { checksum: o.checksum, type: o.type });
      }
      objects.push(o.checksum, o.type, st.size);
    }
  }
  return { refs, objects, bytes: objects.bytes };
}
