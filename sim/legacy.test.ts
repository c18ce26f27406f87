/**
 * Foreign receivers under the simulator: one that leaves a ref which is not
 * a checksum is reported, not a crash of the run; the 2015 model runs as a
 * child process through --receiver-command and is caught; a race counts
 * only when the sessions overlapped; ostree fsck agrees with I1–I3; the
 * CLI's --legacy mode ends with a report and leaves no scratch directory.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpDir } from '../testkit/tmp.js';
import { formatViolations } from './invariants.js';
import { FAST_LINK } from './link.js';
import { runOne, type Schedule } from './runner.js';
import { hasTool } from '../testkit/tools.js';

const sched = (faults: Schedule['faults'], extra: Partial<Schedule> = {}): Schedule => ({ shape: 1, incremental: false, link: { ...FAST_LINK, seed: 3, minChunk: 1, maxChunk: 4000 }, faults, ...extra });
const MODEL = `${process.execPath} --import tsx ${join(import.meta.dirname, 'legacy-receiver.child.ts')} --repo={repo}`;

test('a receiver that leaves a ref which is not a checksum is an I4 violation, not a crash of the run', { timeout: 30_000 }, async (t) => {
  const ctx = { base: tmpDir(t, 'sim-legacy-ref'), receiverCommand: "printf 'zz\\n' > {repo}/refs/heads/r0; exit 1" };
  const r = await runOne(ctx, sched([]));
  assert.ok(r.violations.some((v) => v.invariant === 'I4' && /cannot be read/.test(v.message)), formatViolations(r.violations));
  assert.equal(r.pushOk, false);
});

test('I7 fires for a receiver that writes next to the repository, whatever it is', { timeout: 30_000 }, async (t) => {
  const r = await runOne({ base: tmpDir(t, 'sim-i7') }, sched([]));
  assert.deepEqual(r.violations, []);
  const stray = await runOne({ base: tmpDir(t, 'sim-i7'), receiverCommand: 'touch {repo}/../stray; exit 1' }, sched([]));
  assert.ok(stray.violations.some((v) => v.invariant === 'I7' && /stray was created/.test(v.message)), formatViolations(stray.violations));
});

test('--receiver-command: the 2015 model as a child process is caught as in process (an unverified object, staging left)', { timeout: 60_000 }, async (t) => {
  const base = tmpDir(t, 'sim-legacy-cmd');
  const clean = await runOne({ base, receiverCommand: MODEL }, sched([]));
  assert.deepEqual(clean.violations.map((v) => v.invariant), ['I5'], formatViolations(clean.violations));
  assert.match(clean.violations[0]?.message ?? '', /tmp\/ostree-push-/);
  const corrupt = await runOne({ base, receiverCommand: MODEL }, sched([{ kind: 'corrupt', dir: 'up', at: clean.bytesUp - 5 - 40, bit: 1 }]));
  assert.ok(corrupt.violations.some((v) => v.invariant === 'I1'), formatViolations(corrupt.violations));
});

test('a race counts as taking effect only when the two sessions overlapped', { timeout: 60_000 }, async (t) => {
  const base = tmpDir(t, 'sim-race');
  const r = await runOne({ base }, sched([{ kind: 'race' }]));
  assert.equal(typeof r.raceOverlapped, 'boolean');
  assert.equal(r.fired.includes('race'), r.raceOverlapped);
  // With a slow link the two sessions cannot miss each other.
  const slow = await runOne({ base }, sched([{ kind: 'race' }], { link: { ...FAST_LINK, seed: 5, minChunk: 1, maxChunk: 64, latencyMs: 20 } }));
  assert.equal(slow.raceOverlapped, true);
  assert.ok(slow.fired.includes('race'));
});

test('ostree fsck cross-checks the invariants: it agrees on a sound store and on orphans left by a kill mid-publication', { timeout: 60_000 }, async (t) => {
  if (!hasTool('ostree')) {
    assert.notEqual(process.env.CI, 'true', 'ostree is required under CI');
    t.skip('ostree is not installed');
    return;
  }
  const base = tmpDir(t, 'sim-fsck');
  const ours = await runOne({ base, fsck: true }, sched([]));
  assert.deepEqual(ours.fsck && { ok: ours.fsck.ok, agrees: ours.fsck.agrees }, { ok: true, agrees: true });
  const orphans = await runOne({ base, legacy: true, runTimeoutMs: 1500, fsck: true }, sched([{ kind: 'kill', at: 'publish', step: 4 }], { parentFirst: true }));
  assert.ok(orphans.violations.some((v) => v.invariant === 'I2'), formatViolations(orphans.violations));
  assert.deepEqual(orphans.fsck && { ok: orphans.fsck.ok, agrees: orphans.fsck.agrees }, { ok: false, agrees: true }, orphans.fsck?.out);
});

test('npm run sim -- --legacy ends with its report and leaves no scratch directory', { timeout: 60_000 }, async (t) => {
  const tmp = tmpDir(t, 'sim-legacy-cli');
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'cli.ts'), '--legacy', '--seed', '31337', '--runs', '6'], {
    env: { ...process.env, TMPDIR: tmp },
    encoding: 'utf8',
    timeout: 55_000,
  });
  assert.ok(r.status === 0 || r.status === 1, `exit ${r.status}: ${r.stderr}`);
  assert.match(r.stdout, /invariant violations/);
  // tsx keeps its compile cache there too (tsx-*): only the simulator's own directories count.
  assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('ostree-push-')), []);
});
