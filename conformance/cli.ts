/**
 * npm run conformance -- --receiver 'CMD … {repo} …' | --pusher 'CMD … {remote} {ref} …'
 *                        [--vectors] [--level core|hardened|extension|vectors|all]
 *                        [--only PATTERN] [--json] [--transport ssh|local|all]
 *                        [--expect FILE] [--jobs N] [--timeout MS] [--keep-tmp]
 *
 * Prints TAP as results arrive (in order): the byte vectors replayed against
 * our codec first when asked (--vectors, or --level vectors alone), then
 * the cases; then a summary table per level as TAP comments. Exit status:
 * 1 when a core case or a vector failed, or, with --expect, when any result
 * was unexpected (an unexpected failure or pass at any level); 2 for a usage
 * error; else 0. Pusher cases run over ssh (the transport version 0 has)
 * unless --transport says otherwise.
 */
import { parseArgs } from 'node:util';
import { loadCases } from './case.js';
import { tapLine, summaryTable } from './report.js';
import { coreFailed, matcher, readExpectations, runConformance, selectCases, type CaseResult, type ConformanceOptions } from './run.js';
import { runVectors } from './vectors.js';

const USAGE = `usage: npm run conformance -- (--receiver 'CMD {repo}' | --pusher 'CMD {remote} {ref}' | --vectors) [--vectors] [--level core|hardened|extension|vectors|all] [--only PATTERN] [--json] [--transport ssh|local|all] [--expect FILE] [--jobs N] [--timeout MS]`;

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
      vectors: { type: 'boolean' },
      transport: { type: 'string', default: 'ssh' },
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
const level = values.level;
if (level !== 'core' && level !== 'hardened' && level !== 'extension' && level !== 'vectors' && level !== 'all') fail(`--level must be core, hardened, extension, vectors or all`);
const vectorsOnly = level === 'vectors';
const withVectors = values.vectors === true || vectorsOnly;
if (values.receiver === undefined && values.pusher === undefined && !withVectors) fail('give --receiver, --pusher and/or --vectors');
if (values.receiver !== undefined && !values.receiver.includes('{repo}')) fail(`--receiver must contain {repo}`);
if (values.pusher !== undefined && !values.pusher.includes('{remote}')) fail(`--pusher must contain {remote}`);

const opts: ConformanceOptions = { level: vectorsOnly ? 'all' : level };
if (values.receiver !== undefined && !vectorsOnly) opts.receiver = values.receiver;
if (values.pusher !== undefined && !vectorsOnly) opts.pusher = values.pusher;
if (values.only !== undefined) opts.only = values.only;
if (values.expect !== undefined) opts.expectations = readExpectations(values.expect);
if (values.jobs !== undefined) opts.concurrency = Number(values.jobs);
if (values.timeout !== undefined) opts.timeoutMs = Number(values.timeout);
if (values['keep-tmp'] === true) opts.keepTmp = true;
if (values.transport === 'ssh' || values.transport === 'local') opts.transports = [values.transport];
else if (values.transport === 'all') opts.transports = ['ssh', 'local'];
else fail('--transport must be ssh, local or all');

const cases = loadCases();
const selected = selectCases(cases, opts);
opts.cases = selected;
const vectors = withVectors ? await runVectors(undefined, values.only === undefined ? undefined : matcher(values.only)) : [];
const json = values.json === true;
if (!json) {
  process.stdout.write(`TAP version 13\n1..${vectors.length + selected.length}\n`);
  for (const [i, r] of vectors.entries()) process.stdout.write(`${tapLine(i + 1, r)}\n`);
}

// Print in case order as soon as each prefix is complete.
const done = new Map<string, CaseResult>();
let printed = 0;
if (!json) {
  opts.onResult = (r) => {
    done.set(r.id, r);
    while (printed < selected.length && done.has((selected[printed] as { id: string }).id)) {
      const res = done.get((selected[printed] as { id: string }).id) as CaseResult;
      printed++;
      process.stdout.write(`${tapLine(vectors.length + printed, res)}\n`);
    }
  };
}
const results = [...vectors, ...(selected.length > 0 ? await runConformance(opts) : [])];
const table = summaryTable(results);
if (json) process.stdout.write(`${JSON.stringify({ results, summary: table.split('\n'), coreFailed: coreFailed(results) }, null, 2)}\n`);
else process.stdout.write(`${table.split('\n').map((l) => `# ${l}`).join('\n')}\n`);
process.exitCode = coreFailed(results) ? 1 : 0;
