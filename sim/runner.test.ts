/**
 * Must show: a bounded budget of random fault schedules with 0 violations;
 * the 2015 model caught violating the invariants (I2 with a parent-first
 * pusher); and a receiver SIGKILLed at every publication step, between each
 * ref temp file and its rename, and after every ref-update step in turn
 * leaves a destination that satisfies I1–I5 after recovery (and I8: the
 * pusher, asking a second session, reports what the refs show).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpDir } from '../testkit/tmp.js';
import { closure, ObjectSet } from '../src/repo/index.js';
import { FAST_LINK } from './link.js';
import { formatViolations } from './invariants.js';
import { describeSchedule, runOne, simulate, type Schedule } from './runner.js';
import { source } from './shapes.js';
import type { Fault } from './faults.js';
import { assertNoViolations, reportLine } from './report-checks.js';

const SEED = Number(process.env.SIM_SEED ?? 20240611);

// A count, not a time box: the same seed runs the same schedules on any machine, however loaded.
// How many runs a second the simulator manages is a bench figure (bench/sim-rate.ts).
test('CI budget: random schedules across all fault kinds, 0 violations', { timeout: 600_000 }, async (t) => {
  const base = tmpDir(t, 'sim');
  const runs = Number(process.env.SIM_RUNS ?? 120);
  const r = await simulate({ runs, seed: SEED, base });
  t.diagnostic(reportLine(r));
  assertNoViolations(r);
  assert.equal(r.runs, runs);
  for (const k of ['cut-byte', 'corrupt', 'kill', 'fs', 'stall'] as const) assert.ok((r.firedByKind.get(k) ?? 0) > 0, `fault ${k} never took effect`);
  // A race takes effect only when the two sessions overlapped, which depends on timing (about half of them here);
  // legacy.test.ts shows a race that must overlap does, so only its scheduling is required of this budget.
  assert.ok((r.generatedByKind.get('race') ?? 0) > 0, 'no race was scheduled');
});

const sched = (faults: Fault[], shape = 1, incremental = false): Schedule => ({ shape, incremental, link: { ...FAST_LINK, seed: 3, minChunk: 1, maxChunk: 4000 }, faults });

test('the 2015 model is caught: unverified objects, refs moved one by one, staging left behind (even after a success)', { timeout: 60_000 }, async (t) => {
  const ctx = { base: tmpDir(t, 'sim-legacy'), legacy: true, runTimeoutMs: 1500 };
  // Shape 1 has two refs: killed between the two ref writes, the set is half moved.
  const half = await runOne(ctx, sched([{ kind: 'kill', at: 'ref', step: 1 }]));
  assert.ok(half.violations.some((v) => v.invariant === 'I4'), formatViolations(half.violations));
  assert.ok(half.violations.some((v) => v.invariant === 'I5'), formatViolations(half.violations));
  // A flipped byte in the last payload (the commit, just before the 5-byte DONE) is published as is.
  // Even a fault-free push leaves the 2015 receiver's (empty) staging directory behind: I5 alone.
  const clean = await runOne(ctx, sched([]));
  assert.deepEqual(clean.violations.map((v) => v.invariant), ['I5'], formatViolations(clean.violations));
  const corrupt = await runOne(ctx, sched([{ kind: 'corrupt', dir: 'up', at: clean.bytesUp - 5 - 40, bit: 1 }]));
  assert.ok(corrupt.violations.some((v) => v.invariant === 'I1'), formatViolations(corrupt.violations));
  // Parent-first arrival (version 0 allows any order) with a kill halfway through publication:
  // the 2015 receiver has put the commit and upper dirtrees into objects/ without their children.
  const parentFirst: Schedule = { ...sched([{ kind: 'kill', at: 'publish', step: 4 }]), parentFirst: true };
  const orphans = await runOne(ctx, parentFirst);
  assert.ok(orphans.fired.includes('kill'));
  assert.ok(orphans.violations.some((v) => v.invariant === 'I2'), formatViolations(orphans.violations));
  // The same kill with the real pusher's child-first order leaves no parent without children: it is the order.
  const childFirst = await runOne(ctx, sched([{ kind: 'kill', at: 'publish', step: 4 }]));
  assert.ok(childFirst.fired.includes('kill'));
  assert.ok(!childFirst.violations.some((v) => v.invariant === 'I2'), formatViolations(childFirst.violations));
  // And ours, given the same schedules, violates nothing.
  for (const s of [half, corrupt, orphans]) {
    const ours = await runOne({ base: ctx.base }, s.schedule);
    assert.deepEqual(ours.violations, [], describeSchedule(s.schedule));
  }
});

test('a full disk at the first write into staging (its owner.json) leaves no staging behind', { timeout: 30_000 }, async (t) => {
  const base = tmpDir(t, 'sim-enospc');
  for (const incremental of [false, true]) {
    const r = await runOne({ base }, sched([{ kind: 'fs', op: 'stage-write', errno: 'ENOSPC', after: 0 }], 2, incremental));
    assert.deepEqual(r.fired, ['fs']);
    assert.deepEqual(r.violations, [], describeSchedule(r.schedule));
  }
});

test('SIGKILL at every publication step, every ref temp file and every ref-update step, then I1–I5 after recovery', { timeout: 300_000 }, async (t) => {
  const base = tmpDir(t, 'sim-kill');
  const src = await source(base, 1);
  let objects = 0;
  const seen = new ObjectSet();
  for (const c of src.next.values()) for await (const _ of closure(src.path, c, { seen })) objects++;
  const points: Fault[] = [{ kind: 'kill', at: 'closure', step: 0 }];
  for (let k = 1; k <= objects; k++) points.push({ kind: 'kill', at: 'publish', step: k });
  for (let k = 0; k <= src.next.size; k++) points.push({ kind: 'kill', at: 'ref-temp', step: k }, { kind: 'kill', at: 'ref', step: k });
  let killed = 0;
  // Timeouts far above any start-up delay: this test is about where the kill lands, and a slow child start
  // on a loaded machine must not end a run (as an idle receiver or an idle pusher) before its kill point.
  const ctx = { base, idleMs: 20_000, pusherIdleMs: 20_000, runTimeoutMs: 60_000 };
  // Two children at a time: the machine has two cores.
  for (let i = 0; i < points.length; i += 2) {
    const batch = await Promise.all(points.slice(i, i + 2).map((f) => runOne(ctx, sched([f]))));
    for (const r of batch) {
      assert.deepEqual(r.violations, [], describeSchedule(r.schedule));
      if (r.fired.includes('kill')) killed++;
    }
  }
  t.diagnostic(`${points.length} kill points (${objects} objects, ${src.next.size} refs), ${killed} kills took effect`);
  assert.equal(killed, points.length, 'every kill point was reached');
});

test('I8: a push whose session breaks after DONE is reported as what the refs show, also while its receiver still publishes', { timeout: 60_000 }, async (t) => {
  const base = tmpDir(t, 'sim-after-done');
  // Killed after its last ref write: the pusher's second session finds the refs moved.
  const killed = await runOne({ base }, sched([{ kind: 'kill', at: 'ref', step: 2 }]));
  assert.ok(killed.fired.includes('kill'));
  assert.deepEqual(killed.violations, [], describeSchedule(killed.schedule));
  assert.equal(killed.pushOk, true);
  // A duplicated PUTOBJECT: its second STATUS reaches the pusher before the REPORT, while the receiver is
  // still publishing; the second session must wait for that receiver to end (found by seed 777777).
  const dup: Schedule = { shape: 0, incremental: false, link: { seed: 1163189996, minChunk: 256, maxChunk: 318573, latencyMs: 3, jitterMs: 2, bandwidth: 0 }, faults: [{ kind: 'dup-message', dir: 'up', index: 1 }] };
  const r = await runOne({ base }, dup);
  assert.deepEqual(r.violations, [], describeSchedule(dup));
  assert.equal(r.pushOk, true);
});
