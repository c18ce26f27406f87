/**
 * How fast the simulator runs its fault schedules over the in-memory link:
 * the figure behind the size of the test budget (sim/runner.test.ts runs a
 * fixed count of schedules, not as many as fit in a time box).
 *
 *   npx tsx bench/sim-rate.ts [--runs=120] [--seed=20240611]
 *
 * Prints the runs, the wall time and runs per second, against the target the
 * test budget was sized for: 100 runs within 75 s (≥ 1.33 runs/s) on a
 * 2-core machine. Exit 1 when a run violated an invariant.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { simulate } from '../sim/runner.js';

const TARGET_RUNS_PER_S = 100 / 75;

const { values } = parseArgs({ options: { runs: { type: 'string', default: '120' }, seed: { type: 'string', default: '20240611' } }, strict: true });
const runs = Number(values.runs);
const seed = Number(values.seed);
if (!Number.isSafeInteger(runs) || runs <= 0 || !Number.isSafeInteger(seed)) {
  process.stderr.write('usage: npx tsx bench/sim-rate.ts [--runs=N] [--seed=S]\n');
  process.exit(2);
}

const base = mkdtempSync(join(tmpdir(), 'ostree-push-sim-rate-'));
try {
  const r = await simulate({ runs, seed, base });
  const rate = r.runs / (r.wallMs / 1000);
  process.stdout.write(
    `${r.runs} runs in ${(r.wallMs / 1000).toFixed(1)} s (seed ${seed}): ${rate.toFixed(2)} runs/s; ` +
      `target ≥ ${TARGET_RUNS_PER_S.toFixed(2)} runs/s: ${rate >= TARGET_RUNS_PER_S ? 'met' : 'missed'}; ${r.violatingRuns} violating runs\n`,
  );
  process.exitCode = r.violatingRuns === 0 ? 0 : 1;
} finally {
  rmSync(base, { recursive: true, force: true });
}
