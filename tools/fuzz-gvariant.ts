/**
 * Long fuzz run of the GVariant decoder (the test suite runs a short one).
 *   npx tsx tools/fuzz-gvariant.ts --runs 100000 [--seed N]
 * Prints cases, time, outcomes by error code and peak RSS; exits 1 on any failure.
 */
import { parseArgs } from 'node:util';
import { runFuzz } from '../testkit/gvariant-fuzz.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '100000' }, seed: { type: 'string' } } });
const report = runFuzz({ runs: Number(values.runs), ...(values.seed ? { seed: Number(values.seed) } : {}) });
const rssMiB = (process.resourceUsage().maxRSS / 1024).toFixed(1);
console.log(`gvariant fuzz: ${report.cases} cases in ${report.ms} ms (seed ${report.seed}), max RSS ${rssMiB} MiB`);
console.log(`  accepted: ${report.accepted} (of which NaN payload rewritten on re-encode: ${report.nanRewrites})`);
for (const [code, n] of Object.entries(report.errors).sort()) console.log(`  ${code}: ${n}`);
console.log(`  failures: ${report.failures.length}`);
for (const f of report.failures.slice(0, 20)) console.log(`    ${f.type} ${f.order} ${f.hex}: ${f.problem}`);
process.exitCode = report.failures.length === 0 ? 0 : 1;
