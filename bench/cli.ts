/**
 * The push benchmark: our pusher over each link next to the baselines, on the
 * same data, the same sshd, in the same run.
 *
 *   npx tsx bench/cli.ts [--quick] [--json] [--dataset=NAME,...] [--reps=N]
 *                            [--only=RUNNER,...] [--window=N] [--verify=all|first|none] [--keep] [--no-build] [--list]
 *
 * Ours runs compiled: the bench runs `npm run build` first (--no-build: use dist/ as it is).
 *
 * Every run writes into a new destination under
 * `<tmpdir>/ostree-push-bench/runs/<stamp>/`; nothing is deleted until all
 * runs are done (then the run directory goes, unless --keep), and within each
 * repetition every runner runs once in turn, so slow drift of the machine hits
 * all of them alike. Data sets are cached (datasets.ts). After every run the
 * destination is checked with the simulator's invariants (every object
 * verified, closure, refs, no staging debris) and `ostree fsck` when present.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readRef, Repo } from '../src/repo/index.js';
import { checkStore, formatViolations } from '../sim/invariants.js';
import { benchRoot, dataset, DATASET_NAMES, type Dataset } from './datasets.js';
import { startDelayProxy, type DelayProxy } from './delay-proxy.js';
import { textReport } from './report.js';
import { allRunners as pipeRunners, prepareDestination, pushRefs, DRIVER_BIN, PUSH_BIN, RECEIVE_BIN, type BenchContext, type Runner, type Sample } from './runners.js';
import { S3_UPLOAD_BIN, s3Runners, s3ToolsMissing, startS3, stopS3 } from './s3.js';
import { startSshd, type Sshd } from './sshd.js';
import { ratios, rssTargets, summarize } from './stats.js';
import { judgeTargets } from './targets.js';
import { hasTime } from './timed.js';
import { execFile } from 'node:child_process';

const allRunners = (): Runner[] => [...pipeRunners(), ...s3Runners()];

const QUICK_DATASETS = ['small', 'small+incr', 'small+same'];
const QUICK_RUNNERS = ['local', 'openssh', 'rsync', 'raw-ssh', 'pull-local', 'stop-and-wait', 'ssh2', 'ssh2-stop-and-wait', 'memory@0ms', 'memory@20ms', 'start-floor'];
const DEFAULT_DATASETS = ['small', 'os-like', 'small+incr', 'os-like+incr', 'small+same', 'big-file'];

const USAGE = `usage: npx tsx bench/cli.ts [--quick] [--json] [--dataset=NAME,...] [--reps=N] [--only=RUNNER,...]
                                [--window=N] [--verify=all|first|none] [--keep] [--no-build] [--list]
  data sets: ${DATASET_NAMES.join(', ')} (default: ${DEFAULT_DATASETS.join(', ')}; --quick: ${QUICK_DATASETS.join(', ')})
  runners:   ${allRunners().map((r) => r.id).join(', ')}`;

function list(v: string | string[] | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '');
}

/**
 * `npm run build` (the product) and `npm run build:bench` (the bench's own
 * compiled driver, push-driver.ts, beside it in dist/), so that ours runs
 * compiled, as users run it. tsc still
 * emits when some file of the tree fails to type-check (a colleague's work in
 * progress), so only missing entry points are fatal.
 */
function build(log: (line: string) => void): Promise<void> {
  log('npm run build; npm run build:bench (ours runs from dist/)');
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', 'npm run build; s=$?; npm run build:bench || exit $?; exit $s'], { cwd: new URL('../', import.meta.url).pathname, maxBuffer: 16 << 20 }, (err, stdout) => {
      if (err !== null) log(`build reported errors (continuing with what it emitted): ${stdout.trim().split('\n').slice(-3).join(' | ')}`);
      if (!existsSync(PUSH_BIN) || !existsSync(RECEIVE_BIN) || !existsSync(DRIVER_BIN) || !existsSync(S3_UPLOAD_BIN)) reject(new Error(`build did not produce ${PUSH_BIN}, ${RECEIVE_BIN}, ${DRIVER_BIN} and ${S3_UPLOAD_BIN}`));
      else resolve();
    });
  });
}

function fsck(repo: string): Promise<string> {
  return new Promise((resolve) => {
    execFile('ostree', ['fsck', `--repo=${repo}`], { maxBuffer: 16 << 20 }, (err, _out, stderr) => resolve(err === null ? 'fsck ok' : `fsck FAILED: ${stderr.trim().split('\n').pop() ?? ''}`));
  });
}

async function verify(ds: Dataset, s: Sample, runner: Runner): Promise<string> {
  const parts: string[] = [];
  const vs = await checkStore(s.dest);
  parts.push(vs.length === 0 ? 'ok' : `INVARIANTS: ${formatViolations(vs).trim()}`);
  for (const [name, commit] of Object.entries(pushRefs(ds))) {
    let ref: string | null = null;
    try {
      ref = readRef(Repo.open(s.dest), name);
    } catch {
      ref = null;
    }
    if (ref !== commit) parts.push(`ref ${name} is ${ref ?? 'missing'}, not ${commit.slice(0, 12)}`);
  }
  if (runner.kind === 'ours' && s.objects !== ds.objects) parts.push(`sent ${s.objects} objects, expected ${ds.objects}`);
  if (existsSync('/usr/bin/ostree')) parts.push(await fsck(s.dest));
  return parts.join(', ');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      json: { type: 'boolean' },
      dataset: { type: 'string', multiple: true },
      reps: { type: 'string' },
      only: { type: 'string', multiple: true },
      window: { type: 'string' },
      verify: { type: 'string' },
      keep: { type: 'boolean' },
      'no-build': { type: 'boolean' },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true || values.list === true) {
    console.log(USAGE);
    for (const r of allRunners()) console.log(`  ${r.id.padEnd(20)} ${r.label}`);
    return 0;
  }
  const quick = values.quick === true;
  const datasetNames = list(values.dataset) ?? (quick ? QUICK_DATASETS : DEFAULT_DATASETS);
  for (const d of datasetNames) if (!(DATASET_NAMES as readonly string[]).includes(d)) throw new Error(`unknown data set '${d}'\n${USAGE}`);
  const only = list(values.only) ?? (quick ? QUICK_RUNNERS : undefined);
  const runners = allRunners().filter((r) => only === undefined || only.includes(r.id));
  if (only !== undefined) for (const id of only) if (!allRunners().some((r) => r.id === id)) throw new Error(`unknown runner '${id}'\n${USAGE}`);
  const reps = Number(values.reps ?? (quick ? 2 : 3));
  if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps must be a positive integer');
  const verifyMode = values.verify ?? 'all';
  if (!['all', 'first', 'none'].includes(verifyMode)) throw new Error('--verify must be all, first or none');
  const window = values.window === undefined ? undefined : Number(values.window);
  const log = (line: string): void => {
    process.stderr.write(`bench: ${line}\n`);
  };

  const started = Date.now();
  if (runners.some((r) => r.kind === 'ours' || r.needsS3 === true)) {
    if (values['no-build'] === true) {
      if (!existsSync(PUSH_BIN)) throw new Error(`--no-build, but ${PUSH_BIN} is missing: run npm run build`);
    } else await build(log);
  }
  const datasets: Dataset[] = [];
  for (const name of datasetNames) datasets.push(await dataset(name, { log }));

  const runDir = join(benchRoot(), 'runs', `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  mkdirSync(runDir, { recursive: true });
  const needsSsh = runners.some((r) => r.needsSshd);
  let sshd: Sshd | null = null;
  const notes: string[] = [];
  if (needsSsh) {
    if (existsSync('/usr/sbin/sshd')) sshd = await startSshd(join(runDir, 'sshd'));
    else notes.push('no /usr/sbin/sshd: ssh runners and baselines not available');
  }
  const proxies = new Map<number, Promise<DelayProxy>>();
  const pusherSource = readFileSync(new URL('../src/protocol/pusher.ts', import.meta.url), 'utf8');
  const ctx: BenchContext = {
    runDir,
    sshd,
    proxyPort: async (rtt) => {
      if (sshd === null) throw new Error('no sshd');
      const port = sshd.port;
      if (!proxies.has(rtt)) proxies.set(rtt, startDelayProxy(port, rtt));
      return (await (proxies.get(rtt) as Promise<DelayProxy>)).port;
    },
    pusherHasWindow: /\bwindow\??\s*:/.test(pusherSource),
    log,
  };
  if (window !== undefined) ctx.window = window;
  if (!ctx.pusherHasWindow) notes.push('the pusher has no window option yet: every run of ours is stop-and-wait (one PUTOBJECT in flight), so "stop-and-wait" equals "openssh"');
  if (runners.some((r) => r.needsS3 === true)) {
    const why = s3ToolsMissing();
    if (why === null) ctx.s3 = await startS3(log);
    else notes.push(`bucket runners ${why}`);
  }
  if (!hasTime()) notes.push('no /usr/bin/time: peak RSS and CPU of child processes are not measured');
  notes.push('ours runs compiled (dist/): wall time includes Node start-up, not tsx; "push s" is the command\'s own JSON "seconds" (openssh, ssh2) or push() alone in the driver (local, stop-and-wait)');
  notes.push('memory@* runs both ends in one process: their RSS and CPU are the two sides together, under "pusher"');
  notes.push('CPU of the pusher side includes the ssh client; sshd itself is not counted on either side');

  const samples: Sample[] = [];
  const unavailable: Array<{ dataset: string; runner: string; why: string }> = [];
  let seq = 0;
  // A run killed as stalled is not repeated: it would only stall again.
  const stalled = new Set<string>();
  try {
    for (let rep = 1; rep <= reps; rep++) {
      for (const ds of datasets) {
        for (const r of runners) {
          const why = stalled.has(`${ds.name} ${r.id}`) ? null : r.unavailable(ctx, ds);
          if (stalled.has(`${ds.name} ${r.id}`)) continue;
          if (why !== null) {
            if (rep === 1) unavailable.push({ dataset: ds.name, runner: r.id, why });
            continue;
          }
          const dest = join(runDir, 'dest', `${String(++seq).padStart(4, '0')}-${ds.name}-${r.id.replace(/[^\w.+-]/g, '_')}-${rep}`);
          if (r.noDestination !== true) await prepareDestination(ds, dest);
          const s = await r.run(ctx, ds, dest, rep);
          if (s.ok && (verifyMode === 'all' || (verifyMode === 'first' && rep === 1))) {
            if (r.check !== undefined) s.verify = await r.check(ctx, ds, s);
            else if (r.noDestination !== true) s.verify = await verify(ds, s, r);
          }
          await r.cleanUp?.(ctx, s);
          samples.push(s);
          if (!s.ok && /killed after/.test(s.error ?? '')) stalled.add(`${ds.name} ${r.id}`);
          const rss = [s.pusher, s.receiver].map((u) => (u === null ? '-' : (u.maxRssKiB / 1024).toFixed(0))).join('/');
          log(`rep ${rep}/${reps} ${ds.name} ${r.id}: ${(s.wallMs / 1000).toFixed(2)} s, ${s.objects} objects, ${(s.objects / (s.wallMs / 1000)).toFixed(0)} obj/s, RSS MiB ${rss}${s.ok ? '' : ` FAILED ${s.error ?? ''}`}${s.verify === undefined ? '' : ` [${s.verify}]`}`);
        }
      }
    }
  } finally {
    for (const p of proxies.values()) await (await p).close();
    await sshd?.stop();
    await stopS3(ctx.s3);
  }

  const summaries = summarize(samples);
  const rs = ratios(samples, datasets.map((d) => d.name));
  const rss = rssTargets(summaries, new Set(runners.filter((r) => r.kind === 'ours' && !r.id.startsWith('memory')).map((r) => r.id)));
  const targets = judgeTargets(samples);
  const report = { datasets, runners, summaries, ratios: rs, unavailable, rss, targets, reps, notes };
  const json = {
    machine: { node: process.version, cpus: (await import('node:os')).cpus().length },
    reps,
    window: window ?? null,
    elapsedMs: Date.now() - started,
    datasets,
    runners: runners.map((r) => ({ id: r.id, label: r.label, kind: r.kind, rttMs: r.rttMs })),
    unavailable,
    summaries,
    ratios: rs,
    rss,
    targets: targets.map((t) => ({ id: t.target.id, what: t.target.what, source: t.target.source, status: t.status, value: t.value ?? null, how: t.how ?? null })),
    notes,
    samples,
  };
  writeFileSync(join(benchRoot(), 'last-run.json'), `${JSON.stringify(json, null, 2)}\n`);
  if (values.json === true) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  else process.stdout.write(`${textReport(report)}\n\n(${((Date.now() - started) / 1000).toFixed(0)} s; JSON in ${join(benchRoot(), 'last-run.json')})\n`);

  // Only now, with every run done, may the destinations go.
  if (values.keep === true) log(`kept ${runDir}`);
  else rmSync(runDir, { recursive: true, force: true });
  const failed = samples.filter((s) => !s.ok || (s.verify !== undefined && !/^ok(, fsck ok)?$/.test(s.verify)));
  return failed.length === 0 ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (e) {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 2;
}
