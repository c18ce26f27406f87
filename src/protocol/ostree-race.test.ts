/**
 * A push raced with the real ostree command at every step of publication
 * where the two could interleave, made deterministic with the receiver's
 * pause points (receive-publish.ts PUBLISH_STEPS): the receiver stops at the
 * step, the ostree command runs to its end, then the receiver goes on.
 *
 * The destination's `core.lock-timeout-secs` is 0, so an ostree command that
 * would wait for our lock fails at once instead (and changes nothing): no
 * timing is involved. The push creates ref `y` for a commit the destination
 * already stores and nothing references (the pusher's QUERY finds it, so no
 * object travels): exactly what `ostree prune --refs-only --depth=0` deletes.
 *
 * After each race: `ostree fsck` is clean, no ref names a missing commit, and
 * the receiver and the pusher told the truth: published (exit 0) exactly
 * when ref y moved.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { listRefs } from '../repo/refs.js';
import { Repo } from '../repo/repo.js';
import { ostree, runOstree, type RunResult } from '../../testkit/ostree.js';
import { tmpDir } from '../../testkit/tmp.js';
import { needTools } from '../../testkit/tools.js';
import { push, type PushResult } from './pusher.js';
import { PUBLISH_STEPS, type PublishStep } from './receive-publish.js';
import { receive, type ReceiveResult } from './receiver.js';

const CHILD = join(import.meta.dirname, 'receiver-pause.child.ts');

interface World {
  dir: string;
  src: string;
  dest: string;
  /** The commit ref y will name: stored in dest, unreferenced there. */
  commit: string;
  /** A commit only in `other`, for pull-local. */
  side: string;
  other: string;
}

async function commitDir(repo: string, branch: string, dir: string, files: Record<string, string>): Promise<string> {
  mkdirSync(dir, { recursive: true });
  for (const [k, v] of Object.entries(files)) writeFileSync(join(dir, k), v);
  return (await ostree(['commit', `--repo=${repo}`, `--branch=${branch}`, '-s', branch, dir])).trim();
}

async function world(t: Parameters<typeof tmpDir>[0], lockTimeoutSecs = 0): Promise<World> {
  const dir = tmpDir(t, 'ostree-race');
  const src = join(dir, 'src');
  const dest = join(dir, 'dest');
  const other = join(dir, 'other');
  for (const r of [src, dest, other]) await ostree(['init', `--repo=${r}`, '--mode=archive']);
  const commit = await commitDir(src, 'y', join(dir, 't1'), { a: 'one\n', b: 'two\n' });
  const side = await commitDir(other, 'side', join(dir, 't2'), { c: 'three\n' });
  // dest: the commit stored but unreferenced, one unrelated ref (so the pusher asks QUERY), a summary.
  await ostree(['pull-local', `--repo=${dest}`, src, 'y']);
  await ostree(['refs', `--repo=${dest}`, '--delete', 'y']);
  await commitDir(dest, 'keep', join(dir, 't3'), { k: 'kept\n' });
  await ostree(['summary', `--repo=${dest}`, '-u']);
  appendFileSync(join(dest, 'config'), `lock-timeout-secs=${lockTimeoutSecs}\n`);
  return { dir, src, dest, commit, side, other };
}

interface Race {
  pushed: PushResult;
  received: ReceiveResult;
  /** The ostree command's result, run while the receiver was paused. */
  command: RunResult;
}

async function race(w: World, step: PublishStep, args: string[], opts: { ostreeLock?: boolean } = {}): Promise<Race> {
  const toReceiver = new PassThrough();
  const toPusher = new PassThrough();
  let command: RunResult | undefined;
  const receiving = receive({
    repo: Repo.open(w.dest),
    input: toReceiver,
    output: toPusher,
    policy: { ...(opts.ostreeLock === false ? { ostreeLock: false } : {}) },
    hooks: {
      pause: async (s) => {
        if (s === step) command = await runOstree(args);
      },
    },
  }).then((r) => {
    toPusher.end();
    return r;
  });
  const remoteExit = receiving.then((r) => (r.outcome === 'idle' || r.outcome === 'published' ? 0 : 1));
  const pushed = await push({ repo: Repo.open(w.src), refs: ['y'], input: toPusher, output: toReceiver, remoteExit });
  const received = await receiving;
  assert.ok(command !== undefined, `the receiver never reached step ${step}`);
  return { pushed, received, command };
}

/** What must hold after any race; returns the violations. */
async function violations(w: World, r: Race): Promise<string[]> {
  const out: string[] = [];
  const fsck = await runOstree(['fsck', `--repo=${w.dest}`]);
  if (!fsck.ok) out.push(`ostree fsck failed: ${fsck.stderr.trim()}`);
  const refs = listRefs(Repo.open(w.dest));
  for (const [name, c] of refs) {
    if (!existsSync(join(w.dest, 'objects', c.slice(0, 2), `${c.slice(2)}.commit`))) out.push(`ref ${name} names missing commit ${c}`);
  }
  const moved = refs.get('y') === w.commit;
  const exit = r.received.outcome === 'published' || r.received.outcome === 'idle' ? 0 : 1;
  if ((exit === 0) !== moved) out.push(`receiver exit ${exit} (${r.received.outcome}: ${r.received.error?.message ?? ''}) but ref y ${moved ? 'moved' : 'did not move'}`);
  if (r.received.updated.some((u) => u.ref === 'y') !== moved) out.push(`receiver reported updated [${r.received.updated.map((u) => u.ref).join(',')}] but ref y ${moved ? 'moved' : 'did not move'}`);
  if (r.pushed.ok !== moved) out.push(`pusher reported ${r.pushed.ok ? 'success' : 'failure'} but ref y ${moved ? 'moved' : 'did not move'}`);
  return out;
}

const PRUNE = (w: World): string[] => ['prune', `--repo=${w.dest}`, '--refs-only', '--depth=0'];

for (const step of PUBLISH_STEPS) {
  test(`ostree prune --refs-only --depth=0 at step ${step}: fsck clean, no dangling ref, truthful exits`, async (t) => {
    if (!needTools(t, 'ostree', 'perl')) return;
    const w = await world(t);
    const r = await race(w, step, PRUNE(w));
    assert.deepEqual(await violations(w, r), []);
    if (step === 'done') {
      // Before our locks: prune ran and deleted the commit; the closure check refused the push.
      assert.ok(r.command.ok, r.command.stderr);
      assert.equal(r.received.error?.code, 'PROTOCOL_INCOMPLETE_COMMIT');
    } else {
      // Inside our shared lock: prune could not take its exclusive lock, and changed nothing.
      assert.equal(r.command.ok, false, 'prune ran inside the receiver shared lock');
      assert.match(r.command.stderr, /Locking repo exclusive failed/);
      assert.equal(r.received.outcome, 'published');
    }
  });
}

test('the same prune race with ostree lock disabled leaves a ref to a missing commit (what the lock prevents)', async (t) => {
  if (!needTools(t, 'ostree', 'perl')) return;
  const w = await world(t);
  const r = await race(w, 'checked', PRUNE(w), { ostreeLock: false });
  assert.ok(r.command.ok, r.command.stderr);
  const v = await violations(w, r);
  assert.ok(v.some((x) => x.startsWith('ostree fsck failed')), v.join('\n'));
  assert.ok(v.some((x) => x.startsWith('ref y names missing commit')), v.join('\n'));
  // Still the truth afterwards: the ref moved, so the push is reported published, the summary failure a warning.
  assert.equal(r.received.outcome, 'published');
  assert.equal(r.pushed.ok, true);
  assert.deepEqual(r.received.warnings.map((x) => x.code), ['REPO_SUMMARY_WRITE_FAILED']);
  assert.ok(!v.some((x) => x.startsWith('receiver') || x.startsWith('pusher')), v.join('\n'));
});

for (const step of PUBLISH_STEPS) {
  test(`ostree summary -u at step ${step}: runs beside our shared lock; the summary ends up listing y`, async (t) => {
    if (!needTools(t, 'ostree', 'perl')) return;
    const w = await world(t);
    const r = await race(w, step, ['summary', `--repo=${w.dest}`, '-u']);
    assert.ok(r.command.ok, r.command.stderr);
    assert.deepEqual(await violations(w, r), []);
    assert.equal(r.received.outcome, 'published');
    assert.match(await ostree(['summary', `--repo=${w.dest}`, '--view']), /\* y\b/);
  });

  test(`ostree refs --delete keep at step ${step}: both changes land`, async (t) => {
    if (!needTools(t, 'ostree', 'perl')) return;
    const w = await world(t);
    const r = await race(w, step, ['refs', `--repo=${w.dest}`, '--delete', 'keep']);
    assert.ok(r.command.ok, r.command.stderr);
    assert.deepEqual(await violations(w, r), []);
    assert.equal(r.received.outcome, 'published');
    assert.deepEqual([...listRefs(Repo.open(w.dest)).keys()], ['y']);
  });

  test(`ostree pull-local into the destination at step ${step}: both land`, async (t) => {
    if (!needTools(t, 'ostree', 'perl')) return;
    const w = await world(t);
    const r = await race(w, step, ['pull-local', `--repo=${w.dest}`, w.other, 'side']);
    assert.ok(r.command.ok, r.command.stderr);
    assert.deepEqual(await violations(w, r), []);
    assert.equal(r.received.outcome, 'published');
    assert.equal(listRefs(Repo.open(w.dest)).get('side'), w.side);
  });
}

test('a receiver SIGKILLed while holding the ostree lock releases it: a blocking prune then runs, fsck clean', { timeout: 60_000 }, async (t) => {
  if (!needTools(t, 'ostree', 'perl')) return;
  // -1: ostree waits in F_OFD_SETLKW for as long as the lock is held.
  const w = await world(t, -1);
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, `--repo=${w.dest}`], { env: { ...process.env, PAUSE_AT: 'published' }, stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise((res) => child.once('exit', res));
  const paused = new Promise<void>((res) => {
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('paused published')) res();
    });
  });
  child.stdin.on('error', () => undefined);
  const pushing = push({ repo: Repo.open(w.src), refs: ['y'], input: child.stdout, output: child.stdin }).catch((e: unknown) => e);
  await paused;
  child.kill('SIGKILL');
  await exited;
  await pushing;
  const prune = await runOstree(PRUNE(w), { timeout: 20_000 });
  assert.ok(prune.ok, `prune did not get the lock after the receiver was killed: ${prune.stderr}`);
  const fsck = await runOstree(['fsck', `--repo=${w.dest}`]);
  assert.ok(fsck.ok, fsck.stderr);
  assert.equal(listRefs(Repo.open(w.dest)).has('y'), false);
});
