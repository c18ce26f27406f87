/**
 * Must show: over real ssh (the in-process ssh2 server and the built-in
 * transport), with the fault link between the pusher and the transport, a
 * cut and a corrupt byte each take effect and leave a sound destination, and
 * a small fixed budget of random schedules gives 0 violations. The OpenSSH
 * link is tested in openssh-link.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpDir } from '../testkit/tmp.js';
import { assertNoViolations, reportLine } from './report-checks.js';
import { FAST_LINK } from './link.js';
import { calibrate, describeSchedule, runOne, simulate } from './runner.js';
import type { Fault } from './faults.js';
import { startSsh2Remote } from './ssh-link.js';

const SEED = Number(process.env.SIM_SEED ?? 20240611);
const IDLE_MS = 700;

test('ssh2 link: directed cut and corrupt, then 20 random schedules, 0 violations', { timeout: 60_000 }, async (t) => {
  const base = tmpDir(t, 'sim-ssh2');
  const remote = await startSsh2Remote(base, IDLE_MS);
  t.after(() => remote.close());
  const ctx = { base, remote };
  const size = (await calibrate(base))(1, false);
  const half = Math.floor(size.bytes.up / 2);
  for (const f of [{ kind: 'cut-byte', dir: 'up', at: half }, { kind: 'corrupt', dir: 'up', at: size.bytes.up - 5 - 40, bit: 2 }] as Fault[]) {
    const r = await runOne(ctx, { shape: 1, incremental: false, link: FAST_LINK, faults: [f] });
    assert.deepEqual(r.violations, [], describeSchedule(r.schedule));
    assert.deepEqual(r.fired, [f.kind], describeSchedule(r.schedule));
    assert.equal(r.pushOk, false);
  }
  const clean = await runOne(ctx, { shape: 1, incremental: false, link: FAST_LINK, faults: [] });
  assert.equal(clean.pushOk, true);

  const r = await simulate({ runs: 20, seed: SEED, base, remote });
  t.diagnostic(reportLine(r));
  assertNoViolations(r);
  assert.equal(r.runs, 20);
  assert.ok([...r.firedByKind.values()].reduce((a, b) => a + b, 0) > 0, 'no fault took effect');
});
