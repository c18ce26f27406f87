/**
 * The receiver in 1.x form: pull refs from an archive repository served as
 * static files over HTTP (spec/protocol.md section 13), into the same
 * staging, verification, closure check, child-first publication,
 * all-or-nothing ref update and policy as a version-0 push. What differs is
 * only where the objects come from: GET requests (pull-http.ts) instead of
 * PUTOBJECT messages, each body verified by receive-object.ts as it streams
 * into staging, exactly as a pushed object is.
 *
 *   1. the remote's `config` must name an archive mode;
 *   2. its refs come from its `summary` (as libostree reads them); without a
 *      summary, each ref named is read from `refs/heads/REF`, and naming no
 *      ref is an error (there is nothing to list them from);
 *   3. the refs wanted: those named, else every ref of the summary, less
 *      `appstream/*`, `appstream2/*` and `ostree-metadata` (generated refs,
 *      as 1.x leaves them out); a ref the remote lacks is PULL_REF_NOT_FOUND;
 *   4. a ref already at the remote's commit is up to date; a ref whose new
 *      commit is not newer (by timestamp) than the current one, or has the
 *      same root tree, is skipped with a warning unless `force` (1.x's
 *      rule, judged here on the commit objects before any tree is fetched);
 *   5. for each ref left, the parent chain is fetched (commit objects only)
 *      until it reaches the current commit: a fast-forward publishes those
 *      commits too, with their trees, so the history on the server stays
 *      whole; otherwise only the new commit is fetched, and publishing it
 *      needs force allowed (`allowForce`: the server's `force` key and the
 *      command's -f) and the ref's `force` permission, as a non-fast-forward
 *      push does. With `recommit` (1.x's re-commit) no chain is fetched: the
 *      new commit is re-committed on top of the current one, judged by
 *      receive-recommit.ts as for a push;
 *   6. the closure of every commit to publish is fetched child by child,
 *      skipping what the store holds (a dirtree there stands for its
 *      subtree: the store's invariant), at most `concurrency` at once, each
 *      object charged to the push limits (max_push_objects, max_push_bytes,
 *      min_free_space) before its body is read;
 *   7. publication is receive-publish.ts `publishUpdate`, unchanged: closure
 *      complete, bindings, fast-forward, signatures (the policy's
 *      `beforePublish`), child-first objects, refs together, summary; then
 *      the update hook. `dryRun` stops at its `checked` step: everything is
 *      fetched and judged, nothing is published. `update: false` (1.x's
 *      --no-update) writes no summary and runs no hook.
 * Every exit path removes the staging directory; nothing is published
 * before the last check passed.
 */
import { type OstreePushError, ProtocolError, RepoError, asOstreePushError } from '../errors.js';
import { decode } from '../gvariant/index.js';
import { collectionIdOf } from '../repo/bindings.js';
import { parseKeyFile } from '../repo/config.js';
import { type Commit, decodeCommit, MAX_METADATA_SIZE } from '../repo/metadata.js';
import { checksumFromBytes, objectBasename, objectRelPath, type ObjectName, type ObjectType } from '../repo/object-names.js';
import { takeReceiverSlot, type ReceiverSlot } from '../repo/receiver-slots.js';
import { assertRefName, parseRefFile } from '../repo/ref-names.js';
import { readRef, ZERO_CHECKSUM } from '../repo/refs.js';
import type { Repo } from '../repo/repo.js';
import { Staging } from '../repo/staging.js';
import { assertSummaryWritable, SUMMARY_TYPE } from '../repo/summary.js';
import { parentChain, readCommit, readDirtreeIfPresent } from '../repo/traverse.js';
import { createVerifyEngine } from '../repo/verify.js';
import { DEFAULT_MAX_PAYLOAD_SIZE } from '../wire/constants.js';
import type { ReceiveChecks } from '../policy/engine.js';
import type { HookOutcome } from '../policy/update-hook.js';
import { checkBindings } from './receive-bindings.js';
import { assertFreeSpace, limitsOf, PushBudget } from './receive-limits.js';
import { receiveObject, storeLookup } from './receive-object.js';
import { publishUpdate, stagedView, type AcceptedUpdate, type PublishStep } from './receive-publish.js';
import { DEFAULT_PULL_CONCURRENCY, HttpSource, PullError, type HttpBody } from './pull-http.js';
import type { ReceiverPolicy } from './receiver.js';

/**
 * The receiver's policy as a pull applies it: the same keys with the same
 * meaning, less its INFO advertisement (a pull has no INFO) and its metadata
 * size bound (a pull holds metadata to the format's ceiling).
 */
export type PullPolicy = Omit<ReceiverPolicy, 'infoPolicy' | 'maxMetadataSize'>;

export type PullLogLevel = 'debug' | 'info' | 'warning';

export interface PullOptions {
  repo: Repo;
  /** The remote repository's URL (http://…; parse-checked by pull-http.ts). */
  url: string | URL;
  /** Refs to pull; empty: every ref of the remote's summary. */
  refs: readonly string[];
  policy?: PullPolicy;
  /** 1.x's -f: also refs whose new commit is not newer, or has the same tree. A non-fast-forward needs `policy.allowForce` besides. */
  force?: boolean;
  /** Fetch and check everything, publish nothing. */
  dryRun?: boolean;
  /** false: no summary update and no update hook (1.x's --no-update); default true. */
  update?: boolean;
  concurrency?: number;
  log?: (level: PullLogLevel, line: string) => void;
  hooks?: {
    pause?: (step: PublishStep) => Promise<void> | void;
    onPublished?: (object: ObjectName, index: number) => void;
  };
}

export type PullOutcome = 'published' | 'up-to-date' | 'dry-run' | 'failed';

export interface PullResult {
  outcome: PullOutcome;
  /** Refs moved (or, in a dry run, that would move). */
  updated: AcceptedUpdate[];
  /** Refs left alone, and why (up to date, not newer, same content). */
  skipped: Array<{ ref: string; why: string }>;
  warnings: OstreePushError[];
  error?: OstreePushError;
  hook?: HookOutcome;
  objects: { fetched: number; alreadyPresent: number; published: number };
  /** Requests made, body bytes received, the most requests open at once. */
  http: { requests: number; bytes: bigint; peak: number };
}

/** Refs a pull of everything leaves out: generated on the server, as 1.x excludes them. */
export function isGeneratedRef(ref: string): boolean {
  return ref.startsWith('appstream/') || ref.startsWith('appstream2/') || ref === 'ostree-metadata';
}

/** Largest remote `config` read. */
const MAX_CONFIG_BYTES = 64n * 1024n;
/** Largest remote `summary` read (a summary lists every ref with a little metadata each). */
export const MAX_SUMMARY_BYTES = 64n * 1024n * 1024n;
/** No object is refused by the HTTP layer for its size: receive-object.ts judges it, as it judges a PUTOBJECT. */
const ANY_SIZE = 2n ** 64n - 1n;
/** Stops the dry run at publishUpdate's `checked` step. */
const DRY_RUN_STOP = Symbol('dry run');

function remoteInvalid(message: string, data: Record<string, unknown> = {}): PullError {
  return new PullError('PULL_REMOTE_INVALID', message, data);
}

/** The summary's refs (part 0), checked: valid names and 32-byte checksums. */
export function summaryRefs(bytes: Uint8Array): Map<string, string> {
  let v: unknown;
  try {
    v = decode(SUMMARY_TYPE, bytes, 'le');
  } catch (e) {
    throw remoteInvalid(`the remote's summary is malformed: ${asOstreePushError(e).message}`);
  }
  const refs = new Map<string, string>();
  for (const entry of (v as unknown[][])[0] as unknown[][]) {
    const [name, [, csum]] = entry as [string, [bigint, Uint8Array]];
    try {
      assertRefName(name);
    } catch (e) {
      throw remoteInvalid(`the remote's summary lists a bad ref name: ${asOstreePushError(e).message}`);
    }
    if (!(csum instanceof Uint8Array) || csum.byteLength !== 32) throw remoteInvalid(`the remote's summary gives ref ${name} a checksum that is not 32 bytes`);
    refs.set(name, checksumFromBytes(csum));
  }
  return refs;
}

export async function pull(options: PullOptions): Promise<PullResult> {
  const { repo } = options;
  const policy = options.policy ?? {};
  const log = options.log ?? (() => undefined);
  const update = options.update !== false;
  const bounds = limitsOf(policy);
  const limits = { maxObjectSize: policy.maxObjectSize ?? DEFAULT_MAX_PAYLOAD_SIZE, maxMetadataSize: MAX_METADATA_SIZE };
  const result: PullResult = { outcome: 'failed', updated: [], skipped: [], warnings: [], objects: { fetched: 0, alreadyPresent: 0, published: 0 }, http: { requests: 0, bytes: 0n, peak: 0 } };
  const budget = new PushBudget(bounds);
  const startedAt = Date.now();
  const http = new HttpSource(options.url, {
    concurrency: options.concurrency ?? DEFAULT_PULL_CONCURRENCY,
    idleTimeoutMs: bounds.idleTimeoutMs,
    ...(bounds.sessionTimeoutMs > 0
      ? {
          deadline: {
            at: startedAt + bounds.sessionTimeoutMs,
            error: () => new ProtocolError('PROTOCOL_SESSION_TIMEOUT', `the pull lasted more than ${bounds.sessionTimeoutMs / 1000} s (session_timeout); giving up, nothing was published`, { ms: bounds.sessionTimeoutMs }),
          },
        }
      : {}),
  });
  let slot: ReceiverSlot | undefined;
  let staging: Staging | null = null;
  let moved = false;
  try {
    if (bounds.maxReceivers > 0) slot = takeReceiverSlot(repo, bounds.maxReceivers);
    if (repo.mode !== 'archive') {
      throw new RepoError('REPO_UNSUPPORTED_MODE', `${repo.path} is a ${repo.mode} repository; only archive repositories receive`, { path: repo.path, mode: repo.mode });
    }
    const inStore = storeLookup(repo);
    const inStoreCommit = (c: string): boolean => inStore({ checksum: c, type: 'commit' });

    // 1. The remote is an archive repository.
    const config = await http.getBytes('config', { maxBytes: MAX_CONFIG_BYTES, missing: () => remoteInvalid(`${http.base.href} has no config: not a repository`) });
    let mode: string | undefined;
    try {
      mode = parseKeyFile(Buffer.from(config as Uint8Array).toString('utf8')).getString('core', 'mode');
    } catch (e) {
      throw remoteInvalid(`the remote's config is malformed: ${asOstreePushError(e).message}`);
    }
    if (mode !== 'archive' && mode !== 'archive-z2') throw remoteInvalid(`the remote is a ${mode ?? 'mode-less'} repository; only an archive repository can be pulled over HTTP`, { mode });

    // 2, 3. The remote's refs, and the ones wanted.
    const summaryBytes = await http.getBytes('summary', { maxBytes: MAX_SUMMARY_BYTES, mayBeAbsent: true });
    const remoteRefs = summaryBytes === null ? null : summaryRefs(summaryBytes);
    for (const r of options.refs) assertRefName(r);
    let wanted: string[];
    if (options.refs.length > 0) wanted = [...new Set(options.refs)];
    else if (remoteRefs !== null) wanted = [...remoteRefs.keys()];
    else throw new PullError('PULL_REF_NOT_FOUND', `${http.base.href} has no summary to list its refs; name the refs to pull`, { url: http.base.href });
    wanted = wanted.filter((r) => !isGeneratedRef(r)).sort();
    const remoteOf = new Map<string, string>();
    for (const ref of wanted) {
      let rev = remoteRefs?.get(ref);
      if (remoteRefs === null) {
        const bytes = await http.getBytes(`refs/heads/${ref}`, { maxBytes: 65n, mayBeAbsent: true });
        if (bytes !== null) {
          try {
            rev = parseRefFile(bytes, ref);
          } catch (e) {
            throw remoteInvalid(`the remote's ref ${ref} is malformed: ${asOstreePushError(e).message}`);
          }
        }
      }
      if (rev === undefined) {
        throw new PullError('PULL_REF_NOT_FOUND', `ref ${ref} is not in the remote's ${remoteRefs === null ? 'refs/heads' : 'summary'}; nothing was published`, { ref });
      }
      remoteOf.set(ref, rev);
    }

    // 4, 5. What each ref would become, judged on commit objects alone.
    const fetchedCommits = new Map<string, { bytes: Uint8Array; commit: Commit }>();
    const commitOf = async (c: string, mayBeAbsent: boolean): Promise<Commit | null> => {
      if (inStoreCommit(c)) return readCommit(repo.path, c);
      const have = fetchedCommits.get(c);
      if (have !== undefined) return have.commit;
      const bytes = await fetchVerified(http, budget, { checksum: c, type: 'commit' }, mayBeAbsent);
      if (bytes === null) return null;
      let commit: Commit;
      try {
        commit = decodeCommit(bytes);
      } catch (e) {
        throw asOstreePushError(e);
      }
      fetchedCommits.set(c, { bytes, commit });
      return commit;
    };
    const updates: AcceptedUpdate[] = [];
    const toStage = new Set<string>();
    for (const ref of wanted) {
      const to = remoteOf.get(ref) as string;
      const current = readRef(repo, ref);
      if (current === to) {
        const why = options.force === true ? 'already at the remote commit (commits are published as they are, so forcing changes nothing)' : 'up to date';
        result.skipped.push({ ref, why });
        log('info', `${ref}: ${why} (${to})`);
        continue;
      }
      const tip = (await commitOf(to, false)) as Commit;
      if (current === null) {
        updates.push({ ref, from: ZERO_CHECKSUM, to });
        toStage.add(to);
        continue;
      }
      const cur = await readCommit(repo.path, current);
      const notNewer = tip.timestamp <= cur.timestamp;
      const sameTree = tip.rootDirtree === cur.rootDirtree && tip.rootDirmeta === cur.rootDirmeta;
      if (notNewer || sameTree) {
        const why = notNewer ? `remote commit ${to} is not newer than the current ${current}` : `remote commit ${to} has the same content as the current ${current}`;
        if (options.force !== true) {
          result.skipped.push({ ref, why });
          log('warning', `${ref}: ${why}; skipped (-f pulls it anyway)`);
          continue;
        }
        log('info', `${ref}: ${why}; forced`);
      }
      const u = { ref, from: current, to };
      if (policy.recommit === true) {
        // Re-committed on top of the current commit: no ancestry to show (receive-recommit.ts judges the update).
        toStage.add(to);
        updates.push(u);
        continue;
      }
      // The parent chain down to the current commit, commit objects only.
      const chain = [to];
      let reached = false;
      for (let c: Commit = tip; ; ) {
        const p = c.parent;
        if (p === null) break;
        if (p === current) {
          reached = true;
          break;
        }
        if (inStoreCommit(p)) {
          reached = (await parentChain(repo.path, p)).some((x) => x.checksum === current);
          break;
        }
        if (chain.includes(p)) break;
        const pc = await commitOf(p, true);
        if (pc === null) break;
        chain.push(p);
        c = pc;
      }
      if (reached) {
        for (const c of chain) toStage.add(c);
      } else {
        if (policy.allowForce !== true) {
          throw new ProtocolError('PROTOCOL_NOT_FAST_FORWARD', `ref ${ref}: ${to} does not descend from ${current}, and this repository accepts fast-forwards only; nothing was published`, {
            ref,
            from: current,
            to,
            forceAllowed: false,
          });
        }
        policy.checks?.checkForce(u);
        log('info', `${ref}: not a fast-forward of ${current}; the server allows force`);
        toStage.add(to);
      }
      updates.push(u);
    }
    if (updates.length === 0) {
      log('info', 'no refs need updating');
      result.outcome = 'up-to-date';
      return result;
    }
    for (const u of updates) log('info', `${u.ref}: ${u.from === ZERO_CHECKSUM ? '(new)' : u.from} -> ${u.to}`);
    await policy.checks?.onUpdate(repo, updates);
    if (update && policy.leaveSummary !== true && policy.canSignSummary !== true) assertSummaryWritable(repo);
    await assertFreeSpace(repo, bounds.minFreeBytes, 0n);

    // 6. The commits, their detached metadata, their trees.
    staging = Staging.create(repo);
    const st = staging;
    const collectionId = collectionIdOf(repo.config);
    const verifyBindings = policy.verifyBindings !== false;
    for (const c of toStage) {
      if (inStoreCommit(c)) continue;
      const f = fetchedCommits.get(c);
      if (f === undefined) throw new RepoError('REPO_STAGING', `commit ${c} was not fetched`, { commit: c });
      await st.stageVerified(c, 'commit', [f.bytes]);
      result.objects.fetched++;
    }
    // Their files are written in the background: complete before anything reads them.
    await st.settle();
    if (verifyBindings) await checkBindings(stagedView(repo, st), updates, collectionId);
    const fetchObject = async (o: ObjectName): Promise<void> => {
      const name = objectBasename(o.checksum, o.type);
      const body = await http.get(objectRelPath(o.checksum, o.type), {
        maxBytes: ANY_SIZE,
        mayBeAbsent: o.type === 'commitmeta',
        missing: () => missingObject(http, o),
      });
      if (body === null) return;
      try {
        budget.charge(name, body.size);
        if (budget.spaceCheckDue(body.size)) await assertFreeSpace(repo, bounds.minFreeBytes, body.size);
        const v = await receiveObject(repo, st, { type: 'PUTOBJECT', object: name, size: body.size, extra: new Map() }, body.payload, limits, undefined, inStore);
        if (!v.ok) throw v.error;
        if (v.stored === 'staged') result.objects.fetched++;
        else if (v.stored === 'alreadyPresent') result.objects.alreadyPresent++;
        log('debug', `fetched ${name} (${body.size} bytes)`);
      } finally {
        body.discard();
      }
    };
    // Detached metadata first: an unsigned or wrongly signed commit ends the pull before any tree is fetched.
    const staged = [...toStage].filter((c) => st.has(c, 'commit'));
    await runPool(
      staged.map((c) => ({ checksum: c, type: 'commitmeta' as ObjectType })),
      options.concurrency ?? DEFAULT_PULL_CONCURRENCY,
      async (o) => {
        if (!inStore(o)) await fetchObject(o);
        return [];
      },
      http,
    );
    // Each new commit and its detached metadata are all there is to sign it: the signature
    // policy judges them now (verification only: no signing target), before any tree is
    // fetched, and once more, authoritatively, at publication.
    await policy.checks?.beforePublish(repo, st, updates, []);
    const roots: ObjectName[] = [];
    for (const c of staged) {
      const commit = (fetchedCommits.get(c) as { commit: Commit }).commit;
      roots.push({ checksum: commit.rootDirmeta, type: 'dirmeta' }, { checksum: commit.rootDirtree, type: 'dirtree' });
    }
    const view = stagedView(repo, st);
    const queued = new Set<string>();
    const fresh = (o: ObjectName): boolean => {
      const key = `${o.checksum}.${o.type}`;
      if (queued.has(key)) return false;
      queued.add(key);
      // In the store: there, with (for a dirtree) its whole subtree.
      return !st.has(o.checksum, o.type) && !inStore(o);
    };
    await runPool(
      roots.filter(fresh),
      options.concurrency ?? DEFAULT_PULL_CONCURRENCY,
      async (o) => {
        await fetchObject(o);
        if (o.type !== 'dirtree') return [];
        const tree = await readDirtreeIfPresent(view, o.checksum);
        if (tree === null) throw new RepoError('REPO_STAGING', `dirtree ${o.checksum} was not staged`, { checksum: o.checksum });
        const next: ObjectName[] = [];
        for (const f of tree.files) next.push({ checksum: f.checksum, type: 'file' });
        for (const d of tree.dirs) next.push({ checksum: d.dirmeta, type: 'dirmeta' }, { checksum: d.dirtree, type: 'dirtree' });
        return next.filter(fresh);
      },
      http,
    );
    result.http = { requests: http.requests, bytes: http.bytes, peak: http.peak };
    log('info', `fetched ${result.objects.fetched} objects (${http.bytes} bytes in ${http.requests} requests)`);

    // 7. Publication, exactly as at a push's DONE.
    let done;
    try {
      done = await publishUpdate(
        repo,
        st,
        updates,
        {
          allowForce: policy.allowForce === true,
          verifyBindings,
          collectionId,
          canSignSummary: policy.canSignSummary === true,
          ...(policy.signSummary === undefined ? {} : { signSummary: policy.signSummary }),
          ...(policy.alwaysWriteSummary === undefined ? {} : { alwaysWriteSummary: policy.alwaysWriteSummary }),
          ...(policy.checks === undefined ? {} : { checks: policy.checks }),
          ...(policy.ostreeLock === undefined ? {} : { ostreeLock: policy.ostreeLock }),
          ...(policy.recommit === true ? { recommit: true } : {}),
          leaveSummary: !update || policy.leaveSummary === true,
          warn: (w) => log('warning', w.message),
        },
        {
          pause: async (step) => {
            await options.hooks?.pause?.(step);
            if (options.dryRun === true && step === 'checked') throw DRY_RUN_STOP;
          },
          ...(options.hooks?.onPublished === undefined ? {} : { onPublished: options.hooks.onPublished }),
        },
      );
    } catch (e) {
      if (e !== DRY_RUN_STOP) throw e;
      result.outcome = 'dry-run';
      result.updated = updates;
      for (const u of updates) log('info', `dry run: would update ${u.ref} to ${u.to}`);
      return result;
    }
    moved = true;
    result.outcome = 'published';
    result.updated = done.moved;
    result.objects.published = done.published;
    result.objects.alreadyPresent += done.alreadyPresent;
    result.warnings.push(...done.warnings);
    for (const w of done.warnings) if (w.code !== 'REPO_OSTREE_LOCK_UNAVAILABLE') log('warning', w.message);
    log('info', `published ${done.published} objects; ${done.moved.map((u) => u.ref).join(' ')} updated${done.summaryUpdated ? '; summary updated' : ''}`);
    if (update && policy.checks !== undefined) {
      try {
        const hook = await policy.checks.afterPublish(repo, done.moved);
        if (hook !== null) result.hook = hook;
      } catch (e) {
        result.warnings.push(asOstreePushError(e));
      }
    }
    return result;
  } catch (e) {
    const err = asOstreePushError(e);
    if (moved) result.warnings.push(err);
    else {
      result.outcome = 'failed';
      result.updated = [];
      result.error = err;
    }
    return result;
  } finally {
    http.close();
    result.http = { requests: http.requests, bytes: http.bytes, peak: http.peak };
    staging?.dispose();
    await staging?.settle().catch(() => undefined);
    slot?.release();
  }
}

function missingObject(http: HttpSource, o: ObjectName): PullError {
  const url = http.urlOf(objectRelPath(o.checksum, o.type)).href;
  return new PullError('PULL_OBJECT_MISSING', `object ${o.checksum}.${o.type} is not on the server (404 for ${url}); nothing was published`, { checksum: o.checksum, type: o.type, url });
}

/** GET one metadata object into memory, verified against its name; null for an allowed 404. */
async function fetchVerified(http: HttpSource, budget: PushBudget, o: ObjectName, mayBeAbsent: boolean): Promise<Uint8Array | null> {
  const body: HttpBody | null = await http.get(objectRelPath(o.checksum, o.type), { maxBytes: BigInt(MAX_METADATA_SIZE), mayBeAbsent, missing: () => missingObject(http, o) });
  if (body === null) return null;
  try {
    budget.charge(objectBasename(o.checksum, o.type), body.size);
    const engine = createVerifyEngine(o, { size: body.size });
    const parts: Uint8Array[] = [];
    for await (const chunk of body.payload) {
      const own = Uint8Array.prototype.slice.call(chunk);
      parts.push(own);
      await engine.write(own);
    }
    await engine.finish();
    return Buffer.concat(parts);
  } finally {
    body.discard();
  }
}

/**
 * Runs `work` over `initial` and whatever each call returns, at most `n` at
 * once; the first failure closes the HTTP source (failing the requests in
 * flight) and is thrown once every worker stopped.
 */
async function runPool(initial: readonly ObjectName[], n: number, work: (o: ObjectName) => Promise<ObjectName[]>, http: HttpSource): Promise<void> {
  const queue = [...initial];
  let inflight = 0;
  let failed: { e: unknown } | null = null;
  let waiters: Array<() => void> = [];
  const wake = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const worker = async (): Promise<void> => {
    for (;;) {
      if (failed !== null) return;
      const o = queue.shift();
      if (o === undefined) {
        if (inflight === 0) return;
        await new Promise<void>((ok) => waiters.push(ok));
        continue;
      }
      inflight++;
      try {
        queue.push(...(await work(o)));
      } catch (e) {
        if (failed === null) {
          failed = { e };
          http.close(asOstreePushError(e));
        }
      } finally {
        inflight--;
        wake();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, n) }, worker));
  if (failed !== null) throw (failed as { e: unknown }).e;
}
