/**
 * npm run sim -- [--runs N] [--seed S] [--link memory|ssh2|openssh] [--faults LIST] [--legacy]
 *                [--receiver-command 'CMD {repo}'] [--fsck-every N] [--keep]
 * npm run sim -- --bucket [--runs N] [--seed S] [--faults LIST] [--keep]
 *
 * Runs N fault schedules (pushes over the simulated link, or over real ssh
 * with the fault link in front of the pusher, each followed by the invariant
 * checks I1–I7) and prints a report.
 * Exit status 0 when no invariant was violated (with --legacy: when the 2015
 * model was caught violating them, which is the point of that mode).
 * --receiver-command runs any receiver as a child process (the real 2015
 * one, say) under the link faults and races; its violations are reported
 * (exit 1), not shrunk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ALL_FAULT_KINDS, type FaultKind } from './faults.js';
import { formatViolations } from './invariants.js';
import { hasTool } from '../testkit/tools.js';
import { COMMAND_FAULTS, describeSchedule, simulate, type SimReport } from './runner.js';
import { BUCKET_USAGE, bucketMain } from './bucket-cli.js';
import { afterList, LINK_FAULTS, LINK_KINDS, startOpensshRemote, startSsh2Remote, type LinkKind, type RemoteReceiver } from './ssh-link.js';

const USAGE = `usage: npm run sim -- [--runs N] [--seed S] [--link memory|ssh2|openssh] [--faults LIST] [--legacy]
                      [--receiver-command 'CMD {repo}'] [--fsck-every N] [--keep]
  --receiver-command  any receiver, run by sh -c with {repo} the destination (link faults and races only)
  --fsck-every N      cross-check 1 run in N with ostree fsck (default 10 when ostree is installed; 0: never)
  --link    memory (default): the in-memory link; ssh2: the in-process ssh2 server and the
            built-in transport; openssh: a real sshd on loopback and the system ssh client
  --faults  comma-separated kinds (default all): ${ALL_FAULT_KINDS.join(', ')}, or 'none'
            (ssh2: ${LINK_FAULTS.ssh2.join(', ')}; openssh: ${LINK_FAULTS.openssh.join(', ')})
${BUCKET_USAGE}`;

function fail(message: string): never {
  process.stderr.write(`sim: ${message}\n${USAGE}\n`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        runs: { type: 'string', default: '200' },
        seed: { type: 'string' },
        link: { type: 'string', default: 'memory' },
        faults: { type: 'string' },
        legacy: { type: 'boolean', default: false },
        'receiver-command': { type: 'string' },
        'fsck-every': { type: 'string' },
        keep: { type: 'boolean', default: false },
        bucket: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (e) {
    return fail((e as Error).message);
  }
})();
if (values.help === true) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (values.bucket === true) {
  const given = process.argv.slice(2);
  if (values.legacy === true || values['receiver-command'] !== undefined || values['fsck-every'] !== undefined || given.some((a) => a.startsWith('--link'))) {
    fail('--bucket takes only --runs, --seed and --faults (and --keep)');
  }
  const bRuns = given.some((a) => a.startsWith('--runs')) ? Number(values.runs) : undefined;
  if (bRuns !== undefined && !(Number.isInteger(bRuns) && bRuns >= 1)) fail(`--runs must be a positive integer, not '${values.runs}'`);
  const bSeed = values.seed === undefined ? (Date.now() ^ (process.pid << 8)) | 0 : Number(values.seed);
  if (!Number.isInteger(bSeed)) fail(`--seed must be an integer, not '${values.seed}'`);
  const code = await bucketMain({ runs: bRuns, seed: bSeed, faults: values.faults, keep: values.keep === true, fail }).catch((e: unknown) => {
    process.stderr.write(`sim: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 3;
  });
  process.exit(code);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) fail(`--runs must be a positive integer, not '${values.runs}'`);
const seed = values.seed === undefined ? (Date.now() ^ (process.pid << 8)) | 0 : Number(values.seed);
if (!Number.isInteger(seed)) fail(`--seed must be an integer, not '${values.seed}'`);
const link = values.link as LinkKind;
if (!LINK_KINDS.includes(link)) fail(`--link must be one of ${LINK_KINDS.join(', ')}, not '${values.link}'`);
if (link !== 'memory' && values.legacy === true) fail('--legacy runs over the memory link only (the 2015 model is not a program sshd can start)');
const command = values['receiver-command'];
if (command !== undefined) {
  if (!command.includes('{repo}')) fail('--receiver-command must contain {repo}');
  if (link !== 'memory' || values.legacy === true) fail('--receiver-command runs over the memory link, without --legacy');
}
const fsckEvery = values['fsck-every'] === undefined ? undefined : Number(values['fsck-every']);
if (fsckEvery !== undefined && !(Number.isInteger(fsckEvery) && fsckEvery >= 0)) fail(`--fsck-every must be a whole number, not '${values['fsck-every']}'`);
let faults: FaultKind[] = link === 'memory' ? [...(command !== undefined ? COMMAND_FAULTS : ALL_FAULT_KINDS)] : [...LINK_FAULTS[link]];
if (values.faults !== undefined) {
  faults = values.faults === 'none' ? [] : (values.faults.split(',').map((s) => s.trim()) as FaultKind[]);
  for (const f of faults) if (!ALL_FAULT_KINDS.includes(f)) fail(`unknown fault kind '${f}'`);
  if (link !== 'memory') for (const f of faults) if (!LINK_FAULTS[link].includes(f)) fail(`fault kind '${f}' is not available on --link ${link}`);
  if (command !== undefined) for (const f of faults) if (!COMMAND_FAULTS.includes(f)) fail(`fault kind '${f}' is not available with --receiver-command`);
}

const base = mkdtempSync(join(tmpdir(), 'ostree-push-sim-'));
const cleanups = afterList();
let remote: RemoteReceiver | undefined;
/** Ends the links and removes the scratch directory (unless --keep), whatever happened. */
const tidy = async (): Promise<void> => {
  await remote?.close().catch(() => undefined);
  await cleanups.run().catch(() => undefined);
  if (values.keep !== true) rmSync(base, { recursive: true, force: true });
};
try {
  if (link === 'ssh2') remote = await startSsh2Remote(base, 1000);
  if (link === 'openssh') remote = await startOpensshRemote(cleanups, base, 1000);
} catch (e) {
  await tidy();
  fail(`cannot start the ${link} link: ${(e as Error).message}`);
}
let dots = 0;
let report: SimReport;
try {
  report = await simulate({
    runs,
    seed,
    faults,
    legacy: values.legacy === true,
    base,
    ...(command !== undefined ? { receiverCommand: command } : {}),
    // ostree fsck on 1 run in 10 by default, when ostree is installed.
    fsckOneIn: fsckEvery ?? (hasTool('ostree') ? 10 : 0),
    ...(remote ? { remote } : {}),
    onRun: (r) => {
      if (process.stderr.isTTY) process.stderr.write(r.violations.length > 0 ? 'X' : '.');
      if (++dots % 80 === 0 && process.stderr.isTTY) process.stderr.write('\n');
    },
  });
} catch (e) {
  // A failure of the simulator itself, not a finding: say so on one line, and leave no scratch behind.
  await tidy();
  process.stderr.write(`\nsim: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(3);
}
if (process.stderr.isTTY) process.stderr.write('\n');
await tidy();
process.stdout.write(formatReport(report));
const bad = report.violatingRuns > 0;
process.exit(report.legacy ? (bad ? 0 : 1) : bad ? 1 : 0);

function formatReport(r: SimReport): string {
  const pad = (s: string, n: number): string => s.padEnd(n);
  const lines: string[] = [];
  lines.push(`ostree-push simulator${r.legacy ? ' — 2015 receiver model (--legacy)' : r.receiverCommand !== undefined ? ` — receiver command: ${r.receiverCommand}` : ''}`);
  lines.push(`  seed        ${r.seed}   (replay: npm run sim -- --runs ${r.runs} --seed ${r.seed}${r.link === 'memory' ? '' : ` --link ${r.link}`}${values.faults ? ` --faults ${values.faults}` : ''}${r.legacy ? ' --legacy' : ''}${r.receiverCommand !== undefined ? ` --receiver-command '${r.receiverCommand.replace(/'/g, `'\\''`)}'` : ''})`);
  lines.push(`  link        ${r.link}${r.link === 'memory' ? '' : ' (real ssh; the fault link sits between the pusher and the transport)'}`);
  lines.push(`  runs        ${r.runs}   (${r.parentFirst} with the parent-first pusher)`);
  lines.push(`  wall time   ${(r.wallMs / 1000).toFixed(1)} s`);
  lines.push('');
  lines.push('  faults: runs in which each kind was scheduled / took effect');
  let gen = 0;
  let fired = 0;
  for (const k of r.kinds) {
    const g = r.generatedByKind.get(k) ?? 0;
    const f = r.firedByKind.get(k) ?? 0;
    gen += g;
    fired += f;
    lines.push(`    ${pad(k, 14)} ${String(g).padStart(5)} / ${String(f).padStart(5)}${g > 0 ? `   ${Math.round((100 * f) / g)}%` : ''}`);
  }
  lines.push(`    ${pad('all', 14)} ${String(gen).padStart(5)} / ${String(fired).padStart(5)}${gen > 0 ? `   ${Math.round((100 * fired) / gen)}%` : ''}`);
  if ((r.generatedByKind.get('race') ?? 0) > 0) lines.push(`    (race takes effect only when the two sessions overlapped: ${r.raceOverlapped} of ${r.generatedByKind.get('race') ?? 0})`);
  lines.push('');
  lines.push('  pushes');
  lines.push(`    succeeded              ${r.pushesOk}`);
  lines.push(`    failed cleanly         ${r.failedCleanly}   (${r.unsure} of them reported failure though the refs moved: the parent-first model pusher only; ours is held to I8)`);
  lines.push('');
  const total = [...r.violationsByInvariant.values()].reduce((a, b) => a + b, 0);
  lines.push(`  invariant violations     ${r.violatingRuns} runs${r.legacy ? '   (expected: the 2015 model lacks these guarantees)' : total === 0 ? '   OK' : '   FAILED'}`);
  for (const id of ['I1', 'I2', 'I3', 'I4', 'I5', 'I6', 'I7', 'I8']) lines.push(`    ${id}  ${r.violationsByInvariant.get(id) ?? 0}`);
  lines.push('');
  lines.push(`  ostree fsck cross-check   ${r.fsckChecked} runs, ${r.fsckDisagreements.length} disagreeing with I1–I3${r.fsckChecked === 0 ? '' : r.fsckDisagreements.length === 0 ? '   OK' : ''}`);
  for (const d of r.fsckDisagreements) lines.push(`    run ${d.run}: fsck ${d.fsckOk ? 'passes' : 'fails'}, invariants violated: ${d.invariants.join(', ') || 'none'} (${d.out})`);
  if (r.firstViolation !== undefined && r.counterexample === undefined) {
    lines.push('');
    lines.push(`  first violating run (${r.firstViolation.run}):`);
    for (const l of describeSchedule(r.firstViolation.schedule).split('\n')) lines.push(`    ${l}`);
    lines.push('  violations:');
    lines.push(formatViolations(r.firstViolation.violations.slice(0, 8)).replace(/^/gm, '  '));
  }
  if (r.counterexample !== undefined) {
    lines.push('');
    lines.push(`  smallest failing schedule (seed ${r.counterexample.seed}, path ${r.counterexample.path}):`);
    for (const l of describeSchedule(r.counterexample.schedule).split('\n')) lines.push(`    ${l}`);
    lines.push('  violations:');
    lines.push(formatViolations(r.counterexample.violations).replace(/^/gm, '  '));
  }
  return `${lines.join('\n')}\n`;
}
