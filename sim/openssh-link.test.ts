/**
 * Must show: over a real sshd on loopback and the system ssh client, with
 * the fault link between the pusher and the transport, a SIGKILL of the
 * remote receiver process (sim/receiver.child.ts behind sshd) takes effect
 * and the next receiver recovers, and a small fixed budget of random
 * schedules gives 0 violations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpDir } from '../testkit/tmp.js';
import { needTools } from '../testkit/tools.js';
import { assertNoViolations, reportLine } from './report-checks.js';
import { FAST_LINK } from './link.js';
import { describeSchedule, runOne, simulate } from './runner.js';
import { startOpensshRemote } from './ssh-link.js';

const SEED = Number(process.env.SIM_SEED ?? 20240611);
const IDLE_MS = 700;

test('openssh link: SIGKILL of the remote receiver, then 10 random schedules, 0 violations', { timeout: 90_000 }, async (t) => {
  if (!needTools(t, 'sshd', 'ssh')) return;
  const base = tmpDir(t, 'sim-openssh');
  const remote = await startOpensshRemote(t, base, IDLE_MS);
  const ctx = { base, remote };
  // Killed halfway through publication: the remote process really dies, the next receiver recovers.
  const killed = await runOne(ctx, { shape: 1, incremental: false, link: FAST_LINK, faults: [{ kind: 'kill', at: 'publish', step: 5 }] });
  assert.deepEqual(killed.violations, [], describeSchedule(killed.schedule));
  assert.deepEqual(killed.fired, ['kill']);
  assert.equal(killed.pushOk, false);

  const r = await simulate({ runs: 10, seed: SEED, base, remote });
  t.diagnostic(reportLine(r));
  assertNoViolations(r);
  assert.equal(r.runs, 10);
});
