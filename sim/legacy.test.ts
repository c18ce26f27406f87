/**
 * The 2015 receiver model under the simulator: a run whose fault leaves a
 * ref that is not a checksum is reported, not a crash; the CLI's --legacy
 * mode ends with a report and leaves no scratch directory behind.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpDir } from '../src/testkit/tmp.js';
import { formatViolations } from './invariants.js';
import { FAST_LINK } from './link.js';
import { runOne, type Schedule } from './runner.js';

test('a corrupted UPDATE written unchecked as a ref is a violation, not a crash of the run', { timeout: 30_000 }, async (t) => {
  const ctx = { base: tmpDir(t, 'sim-legacy-ref'), legacy: true, runTimeoutMs: 1500 };
  // UPDATE is the pusher's first message: a 5-byte header, then the first entry 'r0\0' and its (from, to) pair;
  // byte 5 + 3 + 65 + 10 is inside the first 'to'. Bit 6 turns a hex digit into something that is not one.
  const s: Schedule = { shape: 1, incremental: false, link: { ...FAST_LINK, seed: 3, minChunk: 1, maxChunk: 4000 }, faults: [{ kind: 'corrupt', dir: 'up', at: 5 + 3 + 65 + 10, bit: 6 }] };
  const r = await runOne(ctx, s);
  assert.ok(r.fired.includes('corrupt'));
  assert.ok(r.violations.some((v) => v.invariant === 'I4' && /cannot be read/.test(v.message)), formatViolations(r.violations));
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
