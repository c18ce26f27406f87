/**
 * Must show: a link that stops delivering in either direction, without
 * closing (a black hole: nothing tells either end), ends both sides within
 * their idle times, over the memory link, the ssh2 link and the OpenSSH
 * link: the receiver's idle timeout ends it, the pusher's own idle timeout
 * ends the push (TRANSPORT_IDLE_TIMEOUT), and I1–I7 hold. The first
 * schedule is the one seed 20261203 found hanging the pusher forever
 * (`npm run sim -- --runs 413 --seed 20261203`, I6).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpDir } from '../testkit/tmp.js';
import { needTools } from '../testkit/tools.js';
import type { Fault } from './faults.js';
import { FAST_LINK } from './link.js';
import { calibrate, describeSchedule, runOne, type RunContext } from './runner.js';
import { startOpensshRemote, startSsh2Remote } from './ssh-link.js';

const IDLE_MS = 700;

/** Stalls in the middle and near the end of each direction of shape 0's stream. */
async function stalls(base: string): Promise<Fault[]> {
  const size = (await calibrate(base))(0, false);
  const out: Fault[] = [];
  for (const dir of ['up', 'down'] as const) {
    const n = size.bytes[dir];
    for (const at of [Math.floor(n / 2), n - 3]) out.push({ kind: 'stall', dir, at });
  }
  return out;
}

async function assertEnds(ctx: RunContext, faults: Fault[]): Promise<void> {
  for (const f of faults) {
    const r = await runOne({ ...ctx, runTimeoutMs: 15_000 }, { shape: 0, incremental: false, link: FAST_LINK, faults: [f] });
    const what = describeSchedule(r.schedule);
    assert.deepEqual(r.violations, [], what);
    assert.deepEqual(r.fired, ['stall'], what);
  }
}

test('memory link: the stall seed 20261203 found (receiver→pusher after byte 320) ends with 0 violations', { timeout: 60_000 }, async (t) => {
  const base = tmpDir(t, 'sim-stall');
  await assertEnds({ base, pusherIdleMs: 1000 }, [{ kind: 'stall', dir: 'down', at: 320 }]);
});

test('memory link: a stall in either direction ends both sides', { timeout: 120_000 }, async (t) => {
  const base = tmpDir(t, 'sim-stall');
  await assertEnds({ base, idleMs: 300, pusherIdleMs: 1000 }, await stalls(base));
});

test('ssh2 link: a stall in either direction ends both sides', { timeout: 120_000 }, async (t) => {
  const base = tmpDir(t, 'sim-stall-ssh2');
  const remote = await startSsh2Remote(base, IDLE_MS);
  t.after(() => remote.close());
  await assertEnds({ base, remote }, await stalls(base));
});

test('openssh link: a stall in either direction ends both sides', { timeout: 120_000 }, async (t) => {
  if (!needTools(t, 'sshd', 'ssh')) return;
  const base = tmpDir(t, 'sim-stall-openssh');
  const remote = await startOpensshRemote(t, base, IDLE_MS);
  await assertEnds({ base, remote }, await stalls(base));
});
