/**
 * npm run interop -- [--pusher 'CMD {source} {remote} {ref}'] [--receiver 'CMD {repo}']
 *                    [--only SCENARIO,…] [--expect FILE] [--json] [--jobs N] [--timeout MS] [--keep-tmp]
 *
 * Runs the interop matrix (interop-matrix.ts) between our commands and
 * another implementation's: our pusher into their receiver, their pusher
 * into our receiver, and both of theirs when both are given. Prints the
 * matrix as a table (or one JSON document), and exits 1 when a cell failed
 * that the --expect file does not list, 2 for a usage error, else 0.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { hasTool } from '../testkit/tools.js';
import { interopFailed, matrixTable, runInterop, SCENARIOS, type Scenario } from './interop-matrix.js';

const USAGE = `usage: npm run interop -- [--pusher 'CMD {source} {remote} {ref}'] [--receiver 'CMD {repo}'] [--only ${SCENARIOS.join(',')}] [--expect FILE] [--json] [--jobs N] [--timeout MS] [--keep-tmp]`;

function fail(msg: string): never {
  process.stderr.write(`interop: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      pusher: { type: 'string' },
      receiver: { type: 'string' },
      only: { type: 'string' },
      expect: { type: 'string' },
      json: { type: 'boolean' },
      jobs: { type: 'string' },
      timeout: { type: 'string' },
      'keep-tmp': { type: 'boolean' },
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
if (values.pusher === undefined && values.receiver === undefined) fail('give --pusher and/or --receiver');
if (values.receiver !== undefined && !values.receiver.includes('{repo}')) fail('--receiver must contain {repo}');
if (values.pusher !== undefined && !values.pusher.includes('{remote}')) fail('--pusher must contain {remote}');
if (!hasTool('ostree')) fail('the ostree command is needed (apt-get install ostree)');

let scenarios: Scenario[] | undefined;
if (values.only !== undefined) {
  scenarios = values.only.split(',').map((s) => s.trim()) as Scenario[];
  const bad = scenarios.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
  if (bad.length > 0) fail(`unknown scenario '${bad[0]}' (one of ${SCENARIOS.join(', ')})`);
}
const positive = (flag: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) fail(`${flag} must be a positive integer`);
  return n;
};
let expect: Record<string, string> | undefined;
if (values.expect !== undefined) {
  try {
    const doc = JSON.parse(readFileSync(values.expect, 'utf8')) as { failures?: unknown };
    if (typeof doc.failures !== 'object' || doc.failures === null) throw new Error('no "failures" object');
    expect = doc.failures as Record<string, string>;
  } catch (e) {
    fail(`--expect ${values.expect}: ${(e as Error).message}`);
  }
}
const jobs = positive('--jobs', values.jobs);
const timeoutMs = positive('--timeout', values.timeout);

const results = await runInterop({
  ...(values.pusher === undefined ? {} : { pusher: values.pusher }),
  ...(values.receiver === undefined ? {} : { receiver: values.receiver }),
  ...(scenarios === undefined ? {} : { scenarios }),
  ...(expect === undefined ? {} : { expect }),
  ...(jobs === undefined ? {} : { jobs }),
  ...(timeoutMs === undefined ? {} : { timeoutMs }),
  keepTmp: values['keep-tmp'] === true,
  onCell: (r) => {
    if (values.json !== true) process.stderr.write(`interop: ${r.row}/${r.scenario} ${r.status}\n`);
  },
});
process.stdout.write(values.json === true ? `${JSON.stringify({ results }, null, 2)}\n` : `${matrixTable(results)}\n`);
process.exitCode = interopFailed(results) ? 1 : 0;
