/**
 * Ref updates in a bucket: each ref by compare-and-swap, all refs of an
 * update or none, through a journal object kept in the bucket.
 *
 * S3 has no rename and no transaction over several keys. What a store like
 * Ceph RGW does give atomically is a conditional PUT: create-only
 * (`If-None-Match: *`) and replace-only-this-version (`If-Match: ETAG`).
 * On those, one object, `PREFIX/tmp/ostree-push-refs.journal`, holds one of
 *
 *   {"state":"idle"}                               no update in progress
 *   {"state":"claimed","id":…,"writes":[…]}        a writer is checking its refs
 *   {"state":"committed","id":…,"writes":[…]}      the refs must all move
 *
 * and every change of it is conditional on the version read before, so two
 * writers can never both move it from the same state. An update:
 *   1. reads the journal; a committed one is rolled forward first (below); a
 *      claim of another writer is waited for, and taken over only once the
 *      same claim (the same ETag) has stood for the claim lease (5 s by
 *      default, timed by this writer's own clock, so no clocks are compared):
 *      a claim lasts a few reads, so one that old is a dead writer's;
 *   2. claims it (create-only when absent, else If-Match on the version read);
 *   3. reads every ref with its ETag and checks it is at `from`; otherwise it
 *      gives the journal back (idle) and fails with REPO_REF_CONFLICT, having
 *      written no ref;
 *   4. marks its claim committed (If-Match on its own claim). This PUT is the
 *      commit point. When it fails because another writer took the claim
 *      over (this one was slower than the lease), nothing was written: the
 *      update starts again at step 1, so updates of disjoint refs all
 *      succeed, one after the other, and a real conflict is still found at
 *      step 3;
 *   5. writes each ref with If-Match on the ETag read in 3 (If-None-Match: *
 *      for a new ref); a 412 is read back: a ref already at its new value was
 *      rolled forward by another process, which counts as done;
 *   6. sets the journal back to idle (If-Match on the committed version).
 * Roll-forward (the next writer, or the next open): for each write of a
 * committed journal, a ref at `to` is left, a ref at `from` is moved by
 * If-Match, then the journal goes idle.
 *
 * The journal is never deleted, only set idle: a DELETE cannot be made
 * conditional on Ceph RGW 16, and an unconditional one could remove a newer
 * writer's journal. A ref's ETag is the MD5 of its 65 bytes, so a ref that
 * went from A to B and back to A has A's ETag again: compare-and-swap
 * compares values, which is what a ref update needs.
 *
 * Not covered: a writer that ignores the journal (another tool writing
 * refs/heads/ directly) can still move a ref between steps 3 and 5; step 5
 * then reports that ref as not moved (a warning) and writes the others.
 * Deleting a ref is an unconditional DELETE after the check of step 3.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { RepoError, asOstreePushError, type OstreePushError } from '../errors.js';
import { assertRefName, ZERO_CHECKSUM } from '../repo/ref-names.js';
import type { BucketStore, RefValue } from './bucket-store.js';

export const BUCKET_JOURNAL_REL = 'tmp/ostree-push-refs.journal';
const IDLE = JSON.stringify({ state: 'idle' });

export interface BucketRefWrite {
  ref: string;
  /** Expected value; ZERO_CHECKSUM: the ref must not exist. */
  from: string;
  /** New value; ZERO_CHECKSUM deletes the ref. */
  to: string;
}

interface JournalRecord {
  state: 'idle' | 'claimed' | 'committed';
  id?: string;
  writes?: BucketRefWrite[];
}

interface JournalVersion {
  /** null: there is no journal object. */
  etag: string | null;
  record: JournalRecord;
}

/** Steps of an update where a test can stop or fail it (a thrown error there is a crash: nothing after runs). */
export type BucketRefStep = 'claimed' | 'committed' | 'refs';

export interface BucketRefHooks {
  pause?: (step: BucketRefStep) => Promise<void> | void;
  /** How long another writer's unchanged claim is waited for before it is taken over as a dead writer's (default 5 s). */
  claimLeaseMs?: number;
  /** How long an update waits in all for the journal before it gives up, REPO_REF_CONFLICT, no ref written (default 120 s). */
  busyTimeoutMs?: number;
}

const DEFAULT_CLAIM_LEASE_MS = 5_000;
const DEFAULT_BUSY_TIMEOUT_MS = 120_000;

/** A wait between two reads of a busy journal: growing, with jitter, so that waiting writers do not move in step. */
function backoff(attempt: number): Promise<void> {
  const ceiling = Math.min(1_000, 50 * 2 ** Math.min(attempt, 5));
  return sleep(ceiling / 2 + Math.random() * (ceiling / 2));
}

export interface BucketRefResult {
  /** The writes now in the bucket. */
  moved: BucketRefWrite[];
  /** Refs a writer outside the journal changed under us (step 5), and what else went wrong after the commit point. */
  warnings: OstreePushError[];
}

function badJournal(repo: BucketStore, why: string): RepoError {
  return new RepoError('REPO_BAD_JOURNAL', `${repo.url}${BUCKET_JOURNAL_REL}: ${why}; the ref update it records needs manual repair`, { path: `${repo.url}${BUCKET_JOURNAL_REL}` });
}

async function readJournal(repo: BucketStore): Promise<JournalVersion> {
  const got = await repo.get(BUCKET_JOURNAL_REL);
  if (got === null) return { etag: null, record: { state: 'idle' } };
  let record: JournalRecord;
  try {
    record = JSON.parse(Buffer.from(got.body).toString('utf8')) as JournalRecord;
  } catch {
    throw badJournal(repo, 'not JSON');
  }
  if (record.state !== 'idle' && record.state !== 'claimed' && record.state !== 'committed') throw badJournal(repo, 'unknown state');
  if (record.state !== 'idle') {
    if (typeof record.id !== 'string' || !Array.isArray(record.writes)) throw badJournal(repo, 'no id or writes');
    for (const w of record.writes) {
      assertRefName(w.ref);
      if (!/^[0-9a-f]{64}$/.test(w.from) || !/^[0-9a-f]{64}$/.test(w.to)) throw badJournal(repo, `bad checksum for ${w.ref}`);
    }
  }
  return { etag: got.etag, record };
}

/** Replaces the journal if it is still at `from` (null: absent); the new ETag, or null when it was not. */
async function swapJournal(repo: BucketStore, from: string | null, record: JournalRecord | string): Promise<string | null> {
  const body = typeof record === 'string' ? record : JSON.stringify(record);
  return repo.put(BUCKET_JOURNAL_REL, body, { cacheControl: 'no-store', ...(from === null ? { ifNoneMatch: '*' as const } : { ifMatch: from }) });
}

/**
 * Writes one ref if it is at `expect` (its ETag; null: absent). True when
 * the ref is now at `w.to`, by this write or another's; false when it is at
 * something else.
 */
async function casRef(repo: BucketStore, w: BucketRefWrite, expect: RefValue | null): Promise<boolean> {
  const rel = `refs/heads/${w.ref}`;
  if (w.to === ZERO_CHECKSUM) {
    if (expect !== null) await repo.delete(rel);
    return true;
  }
  const etag = await repo.put(rel, `${w.to}\n`, { cacheControl: repo.cacheControl.mutable, ...(expect === null ? { ifNoneMatch: '*' as const } : { ifMatch: expect.etag }) });
  if (etag !== null) return true;
  const now = await repo.readRef(w.ref);
  return (now?.checksum ?? ZERO_CHECKSUM) === w.to;
}

function outsider(repo: BucketStore, w: BucketRefWrite, actual: string): RepoError {
  return new RepoError(
    'REPO_REF_CONFLICT',
    `${repo.url}: ref ${w.ref} was changed to ${actual === ZERO_CHECKSUM ? 'absent' : actual} by a writer that does not use this journal; it was not moved to ${w.to}`,
    { name: w.ref, expected: w.from, actual },
  );
}

/** Applies a committed record's writes (roll-forward), then sets the journal idle. */
async function rollForward(repo: BucketStore, j: JournalVersion): Promise<BucketRefResult> {
  const moved: BucketRefWrite[] = [];
  const warnings: OstreePushError[] = [];
  for (const w of j.record.writes ?? []) {
    const cur = await repo.readRef(w.ref);
    const value = cur?.checksum ?? ZERO_CHECKSUM;
    if (value === w.to) moved.push(w);
    else if (value === w.from && (await casRef(repo, w, cur))) moved.push(w);
    else warnings.push(outsider(repo, w, (await repo.readRef(w.ref))?.checksum ?? ZERO_CHECKSUM));
  }
  if (j.etag !== null) await swapJournal(repo, j.etag, IDLE);
  return { moved, warnings };
}

/**
 * Rolls forward a committed journal a killed writer left (a claimed one
 * changed nothing and is left to the next writer). Returns the writes that
 * were finished.
 */
export async function recoverBucketJournal(repo: BucketStore): Promise<BucketRefWrite[]> {
  const j = await readJournal(repo);
  if (j.record.state !== 'committed') return [];
  return (await rollForward(repo, j)).moved;
}

function conflict(repo: BucketStore, w: BucketRefWrite, actual: string): RepoError {
  return new RepoError(
    'REPO_REF_CONFLICT',
    `${repo.url}: ref ${w.ref} is ${actual === ZERO_CHECKSUM ? 'absent' : `at ${actual}`}, not ${w.from === ZERO_CHECKSUM ? 'absent' : w.from}: it changed since this push began; no ref was written`,
    { name: w.ref, expected: w.from, actual },
  );
}

/** Moves every ref of `writes` from its `from` to its `to`, all or none (see the module comment). */
export async function updateBucketRefs(repo: BucketStore, writes: readonly BucketRefWrite[], hooks: BucketRefHooks = {}): Promise<BucketRefResult> {
  for (const w of writes) assertRefName(w.ref);
  if (new Set(writes.map((w) => w.ref)).size !== writes.length) throw new RepoError('REPO_REF_CONFLICT', 'the same ref is written twice in one update', {});
  const leaseMs = hooks.claimLeaseMs ?? DEFAULT_CLAIM_LEASE_MS;
  const giveUpAt = Date.now() + (hooks.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS);
  const busy = (): RepoError => new RepoError('REPO_REF_CONFLICT', `${repo.url}: other ref updates kept the journal busy; no ref was written`, { path: repo.url });
  for (let attempt = 0; ; attempt++) {
    const claim: JournalRecord = { state: 'claimed', id: randomBytes(12).toString('hex'), writes: [...writes] };
    const claimed = await claimJournal(repo, claim, leaseMs, giveUpAt, busy);
    const current = await checkRefs(repo, writes, claimed, hooks);
    // 4: the commit point.
    let committed = await swapJournal(repo, claimed, { ...claim, state: 'committed' });
    if (committed === null) {
      const again = await readJournal(repo);
      if (again.record.id === claim.id && again.record.state === 'committed') committed = again.etag;
      else {
        // Taken over as stale before the commit: nothing of this update was written; again from step 1.
        if (Date.now() >= giveUpAt) throw busy();
        await backoff(attempt);
        continue;
      }
    }
    return writeRefs(repo, writes, current, committed, hooks);
  }
}

/** Steps 1–2: the journal claimed for `claim`; its ETag. */
async function claimJournal(repo: BucketStore, claim: JournalRecord, leaseMs: number, giveUpAt: number, busy: () => RepoError): Promise<string> {
  // Another writer's claim, and when this writer first saw that version of it.
  let seen: { etag: string | null; since: number } | undefined;
  for (let round = 0; ; round++) {
    if (Date.now() >= giveUpAt) throw busy();
    const j = await readJournal(repo);
    if (j.record.state === 'committed') {
      await rollForward(repo, j);
      continue;
    }
    if (j.record.state === 'claimed') {
      if (seen?.etag !== j.etag) seen = { etag: j.etag, since: Date.now() };
      if (Date.now() - seen.since < leaseMs) {
        await backoff(round);
        continue;
      }
      // The same claim for a whole lease: its writer is dead (or so slow that it starts again at its step 1).
    }
    const claimed = await swapJournal(repo, j.etag, claim);
    if (claimed !== null) return claimed;
    // Lost the race, or our own request went through and its answer was lost: read it back.
    const again = await readJournal(repo);
    if (again.record.id === claim.id && again.record.state === 'claimed' && again.etag !== null) return again.etag;
  }
}

/** Step 3: every ref read with its ETag and checked at `from`, while holding the claim; a conflict gives the journal back. */
async function checkRefs(repo: BucketStore, writes: readonly BucketRefWrite[], claimed: string, hooks: BucketRefHooks): Promise<Map<string, RefValue | null>> {
  const current = new Map<string, RefValue | null>();
  try {
    for (const w of writes) {
      const cur = await repo.readRef(w.ref);
      current.set(w.ref, cur);
      const value = cur?.checksum ?? ZERO_CHECKSUM;
      if (value !== w.from) throw conflict(repo, w, value);
    }
    await hooks.pause?.('claimed');
  } catch (e) {
    await swapJournal(repo, claimed, IDLE).catch(() => undefined);
    throw e;
  }
  return current;
}

/** Steps 5–6, past the commit point. */
async function writeRefs(repo: BucketStore, writes: readonly BucketRefWrite[], current: Map<string, RefValue | null>, committed: string | null, hooks: BucketRefHooks): Promise<BucketRefResult> {
  await hooks.pause?.('committed');
  // 5: the refs. Past the commit point the update is decided: a failure here leaves the journal
  // committed, and the next writer (or open) finishes it, so it is a warning, not a failed update.
  const moved: BucketRefWrite[] = [];
  const warnings: OstreePushError[] = [];
  const unfinished = (e: unknown): RepoError =>
    new RepoError('REPO_BUCKET_IO', `${repo.url}: the ref update is committed, but writing it failed (${asOstreePushError(e).message}); the next publication or open of this bucket completes it`, { path: repo.url }, { cause: e });
  try {
    for (const w of writes) {
      if (await casRef(repo, w, current.get(w.ref) ?? null)) moved.push(w);
      else warnings.push(outsider(repo, w, (await repo.readRef(w.ref))?.checksum ?? ZERO_CHECKSUM));
    }
  } catch (e) {
    warnings.push(unfinished(e));
    for (const w of writes) if (!moved.includes(w)) moved.push(w);
    return { moved, warnings };
  }
  await hooks.pause?.('refs');
  // 6: idle again (a roll-forward by another process may have done it already; a failure leaves it to the next one).
  await swapJournal(repo, committed, IDLE).catch(() => undefined);
  return { moved, warnings };
}
