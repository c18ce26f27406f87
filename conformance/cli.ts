/**
 * npm run conformance -- --receiver 'CMD … {repo} …' | --pusher 'CMD … {remote} {ref} …'
 *                        [--level core|hardened|all] [--only PATTERN] [--json]
 *                        [--transport ssh|local|all] [--expect FILE] [--jobs N]
 *                        [--timeout MS] [--keep-tmp]
 *
 * Prints TAP as cases finish (in case order), then a summary table per
 * level as TAP comments. Exit status: 1 when a core case failed, 2 for a
 * usage error, else 0 (hardened failures are reported, not fatal).
 */
import { parseArgs } from 'node:util';
import { loadCases } from './case.js';
import { tapLine, summaryTable } from './report.js';
import { coreFailed, readExpectations, runConformance, selectCases, type CaseResult, type ConformanceOptions } from './run.js';

const USAGE = `usage: npm run conformance -- (--receiver 'CMD {repo}' | --pusher 'CMD {remote} {ref}') [--level core|hardened|all] [--only PATTERN] [--json] [--transport ssh|local|all] [--expect FILE] [--jobs N] [--timeout MS]`;

function fail(msg: string): never {
  process.stderr.write(`conformance: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      receiver: { type: 'string' },
      pusher: { type: 'string' },
      level: { type: 'string', default: 'all' },
      only: { type: 'string' },
      json: { type: 'boolean' },
      expect: { type: 'string' },
      jobs: { type: 'string' },
      timeout: { type: 'string' },
      'keep-tmp': { type: 'boolean' },
      transport: { type: 'string', default: 'all' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }));
} catch (e) {
  fail((e as Error).message);
}
if (values.help === true) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (values.receiver === undefined && values.pusher === undefined) fail('give --receiver and/or --pusher');
if (values.receiver !== undefined && !values.receiver.includes('{repo}')) fail(`--receiver must contain {repo}`);
if (values.pusher !== undefined && !values.pusher.includes('{remote}')) fail(`--pusher must contain {remote}`);
const level = values.level;
if (level !== 'core' && level !== 'hardened' && level !== 'all') fail(`--level must be core, hardened or all`);

const opts: ConformanceOptions = { level };
if (values.receiver !== undefined) opts.receiver = values.receiver;
if (values.pusher !== undefined) opts.pusher = values.pusher;
if (values.only !== undefined) opts.only = values.only;
if (values.expect !== undefined) opts.expectations = readExpectations(values.expect);
if (values.jobs !== undefined) opts.concurrency = Number(values.jobs);
if (values.timeout !== undefined) opts.timeoutMs = Number(values.timeout);
if (values['keep-tmp'] === true) opts.keepTmp = true;
if (values.transport === 'ssh' || values.transport === 'local') opts.transports = [values.transport];
else if (values.transport !== 'all') fail('--transport must be ssh, local or all');

const cases = loadCases();
const selected = selectCases(cases, opts);
opts.cases = selected;
const json = values.json === true;
if (!json) process.stdout.write(`TAP version 13\n1..${selected.length}\n`);

// Print in case order as soon as each prefix is complete.
const done = new Map<string, CaseResult>();
let printed = 0;
if (!json) {
  opts.onResult = (r) => {
    done.set(r.id, r);
    while (printed < selected.length && done.has((selected[printed] as { id: string }).id)) {
      const res = done.get((selected[printed] as { id: string }).id) as CaseResult;
      printed++;
      process.stdout.write(`${tapLine(printed, res)}\n`);
    }
  };
}
const results = await runConformance(opts);
const table = summaryTable(results);
if (json) process.stdout.write(`${JSON.stringify({ results, summary: table.split('\n'), coreFailed: coreFailed(results) }, null, 2)}\n`);
else process.stdout.write(`${table.split('\n').map((l) => `# ${l}`).join('\n')}\n`);
process.exitCode = coreFailed(results) ? 1 : 0;
