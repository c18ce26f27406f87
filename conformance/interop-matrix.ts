/**
 * The interop matrix: real pushes between our commands and another
 * implementation's, in both directions, each cell judged by what a user
 * would see (interop.ts is the command line; conformance/README.md how to
 * run it).
 *
 * Rows (directions): our pusher into their receiver (`ours-to-theirs`),
 * their pusher into our receiver (`theirs-to-ours`), and, given both of
 * theirs, their pusher into their receiver (`theirs-to-theirs`, the
 * baseline). `ours` replaces our commands (the CI test runs the matrix with
 * ours on both sides).
 *
 * Columns (scenarios), each on a fresh source and destination:
 * - `full`: a new ref into an empty archive repository;
 * - `incremental`: that, then a child commit of it;
 * - `remote-refs`: the destination has a remote ref `origin:stable`
 *   (`ostree remote add` + `ostree refs --create`), which a 2015 receiver
 *   lists in INFO; it must stay as it was;
 * - `remote-ref-head`: a new head `stable` into a destination whose remote
 *   ref `origin:stable` names another commit; the 2015 and 1.x receivers
 *   resolve `stable` to that commit when they check UPDATE's `from`;
 * - `held-commit`: a ref `one`, then a new ref `two` at the same commit, which
 *   the destination already holds (nothing to send; the 2015 receiver moves
 *   refs only after an object);
 * - `compat-files`: the source has `<commit>.sig` and `<commit>.sizes2`
 *   under objects/XX/, which the 2015 pusher sends when present (whether
 *   they arrived is noted, not judged);
 * - `be-pusher`, `be-receiver`: full then incremental with the pusher's
 *   (receiver's) messages big-endian. Our pusher has `--byte-order=be`;
 *   any other side is made big-endian by the byte-order proxy
 *   (interop-order-proxy.ts) around the receiver, rewriting what goes into
 *   it (be-pusher) or what comes out of it (be-receiver).
 *
 * Every push goes over ssh as a version-0 pusher runs it: `{remote}` is
 * `interop-host:DEST`, and a directory first on PATH holds an `ssh`
 * stand-in (drops the options and the host, runs the remote command here)
 * and an `ostree-receive` that checks it was asked for DEST (`--repo=DEST`
 * or `--repo DEST`), runs the receiver under test, and records its exit
 * status and stderr (passed on to the pusher once the receiver has ended, so
 * the report can tell the pusher's lines from the receiver's). Our receiver
 * gets the arguments the pusher gave; another is run from its template with
 * `{repo}` = DEST.
 *
 * A cell passes when every pusher and receiver exited 0, the destination's
 * refs are exactly the expected ones (remote refs included), `ostree fsck`
 * of the destination is clean, and a real `ostree pull` over http of its
 * refs/heads refs into a fresh archive repository gets the same commits
 * (testkit/pull-check.ts, which fscks the client too).
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitTree, initArchiveRepo, setRef, type DirNode, objectRelPath } from '../src/repo/index.js';
import { ostree, ostreeFsck, ostreeRefs, ostreeRevParse } from '../testkit/ostree.js';
import { assertPullable } from '../testkit/pull-check.js';
import { entryCommands } from './bundle.js';
import { fillTemplate, shellQuote, SSH_STAND_IN } from './process.js';

export const SCENARIOS = ['full', 'incremental', 'remote-refs', 'remote-ref-head', 'held-commit', 'compat-files', 'be-pusher', 'be-receiver'] as const;
export type Scenario = (typeof SCENARIOS)[number];
export const ROWS = ['ours-to-theirs', 'theirs-to-ours', 'theirs-to-theirs'] as const;
export type Row = (typeof ROWS)[number];

export const ROW_LABELS: Readonly<Record<Row, string>> = {
  'ours-to-theirs': 'our push -> their receive',
  'theirs-to-ours': 'their push -> our receive',
  'theirs-to-theirs': 'their push -> their receive',
};

export const SSH_HOST = 'interop-host';

export interface InteropOptions {
  /** Their pusher: a template with {source} {remote} {ref}. */
  pusher?: string;
  /** Their receiver: a template with {repo}. */
  receiver?: string;
  /** Our commands, as sh words before their arguments (default: this checkout's CLIs, bundled). */
  ours?: { push: string; receive: string };
  scenarios?: readonly Scenario[];
  /** Rows to run, of those the given commands allow (default all of them). */
  rows?: readonly Row[];
  /** Known failures, `ROW/SCENARIO` → why: reported as xfail (or `fixed` when they pass). */
  expect?: Readonly<Record<string, string>>;
  /** Deadline of one command, ms (default 60 s). */
  timeoutMs?: number;
  /** Cells at once (default 2). */
  jobs?: number;
  keepTmp?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Called as each cell ends. */
  onCell?: (r: CellResult) => void;
}

export type CellStatus = 'pass' | 'fail' | 'xfail' | 'fixed';

export interface CellResult {
  row: Row;
  scenario: Scenario;
  status: CellStatus;
  /** Why it failed (the first check that did), or the expectation's reason. */
  message?: string;
  /** What is worth knowing even when it passed (compatibility files carried or not). */
  notes: string[];
}

class CellFailure extends Error {}


const PUSH = 'src/cli/ostree-push.ts';
const RECEIVE = 'src/cli/ostree-receive.ts';
const PROXY = 'conformance/interop-order-proxy.ts';

interface Side {
  ours: boolean;
}
interface PusherSide extends Side {
  command(source: string, remote: string, refs: string[], bigEndian: boolean): string;
}
interface ReceiverSide extends Side {
  /** The command line the stand-in runs (sh), given the args it was called with as "$@". */
  command(dest: string): string;
}

const tree = (n: number): DirNode => ({
  type: 'dir',
  children: {
    ...Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, { type: 'file' as const, content: `file ${i}\n`.repeat(i + 1) }])),
    sub: { type: 'dir', children: { [`g${n}`]: { type: 'file', content: `nested ${n}\n` }, link: { type: 'symlink', target: '../f0' } } },
  },
});

interface RunResult {
  code: number | null;
  stderr: string;
}

/** Runs `sh -c command` in its own process group; on the deadline the whole group is killed (a hung receiver under the ssh stand-in too). */
function run(command: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += d.toString('utf8');
    });
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, stderr: e.message });
    });
    let exitCode: number | null = null;
    child.once('exit', (code) => {
      clearTimeout(timer);
      exitCode = code;
      // What is left of the group (a receiver the pusher did not wait for) goes too, as when ssh hangs up.
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        /* the group is gone */
      }
    });
    child.once('close', () => resolve({ code: killed ? null : exitCode, stderr }));
  });
}

function tail(text: string, lines = 3): string {
  return text
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .slice(-lines)
    .join(' | ');
}

/** One cell's scratch world: a bin/ with the stand-ins, a source, a destination. */
class Cell {
  readonly bin: string;
  readonly source: string;
  readonly dest: string;
  #pushes = 0;

  constructor(
    readonly dir: string,
    readonly pusher: PusherSide,
    readonly receiver: ReceiverSide,
    readonly proxy: string,
    readonly opts: { timeoutMs: number; env: NodeJS.ProcessEnv },
  ) {
    this.bin = join(dir, 'bin');
    this.source = join(dir, 'source');
    this.dest = join(dir, 'dest');
    mkdirSync(this.bin, { recursive: true });
    writeFileSync(join(this.bin, 'ssh'), SSH_STAND_IN);
    chmodSync(join(this.bin, 'ssh'), 0o755);
  }

  /** Writes bin/ostree-receive for the next push: check --repo, run the receiver (through the proxy when asked), record its exit. */
  #writeReceive(n: number, order: { in: string; out: string } | undefined): { statusFile: string; stderrFile: string } {
    const statusFile = join(this.dir, `receiver-exit-${n}`);
    const stderrFile = join(this.dir, `receiver-stderr-${n}`);
    let cmd = this.receiver.command(this.dest);
    if (order !== undefined) cmd = `${this.proxy} --in=${order.in} --out=${order.out} -- sh -c ${shellQuote(cmd)} sh "$@"`;
    const script = `#!/bin/sh
want=${shellQuote(this.dest)}
ok=
prev=
for a in "$@"; do
  [ "$a" = "--repo=$want" ] && ok=1
  [ "$prev" = "--repo" ] && [ "$a" = "$want" ] && ok=1
  prev=$a
done
if [ -z "$ok" ]; then
  echo "interop: ostree-receive was not asked for --repo=$want: $*" >&2
  echo 2 > ${shellQuote(statusFile)}
  exit 2
fi
${cmd} 2> ${shellQuote(stderrFile)}
status=$?
echo $status > ${shellQuote(statusFile)}
cat ${shellQuote(stderrFile)} >&2
exit $status
`;
    writeFileSync(join(this.bin, 'ostree-receive'), script);
    chmodSync(join(this.bin, 'ostree-receive'), 0o755);
    return { statusFile, stderrFile };
  }

  /** One push of `refs` over the ssh stand-in; fails the cell unless pusher and receiver both exit 0. */
  async push(refs: string[], be: { pusher?: boolean; receiver?: boolean } = {}): Promise<void> {
    const n = ++this.#pushes;
    // Their pusher's messages made big-endian by rewriting what goes into the receiver; ours says so itself.
    const proxyIn = be.pusher === true && !this.pusher.ours ? 'be' : 'keep';
    const proxyOut = be.receiver === true ? 'be' : 'keep';
    const { statusFile, stderrFile } = this.#writeReceive(n, proxyIn === 'keep' && proxyOut === 'keep' ? undefined : { in: proxyIn, out: proxyOut });
    const env = { ...this.opts.env, PATH: `${this.bin}:${this.opts.env.PATH ?? ''}` };
    const command = this.pusher.command(this.source, `${SSH_HOST}:${this.dest}`, refs, be.pusher === true && this.pusher.ours);
    const r = await run(command, env, this.opts.timeoutMs);
    const what = `push ${n}`;
    if (r.code === null) throw new CellFailure(`${what}: the pusher did not finish within ${this.opts.timeoutMs} ms (killed, with its receiver)${r.stderr ? `: ${tail(r.stderr)}` : ''}`);
    const receiverCode = existsSync(statusFile) ? Number(readFileSync(statusFile, 'utf8').trim()) : undefined;
    if (r.code !== 0 || receiverCode !== 0) {
      const receiverText = existsSync(stderrFile) ? readFileSync(stderrFile, 'utf8') : '';
      // The pusher's own lines: what it printed less what it passed on from the receiver.
      const relayed = new Set(receiverText.split('\n'));
      const pusherText = r.stderr
        .split('\n')
        .filter((l) => !relayed.has(l))
        .join('\n');
      const rc = receiverCode === undefined ? 'exit unknown (never ran, or killed)' : `exit ${receiverCode}`;
      const said = (text: string): string => (text.trim() === '' ? '' : ` (${tail(text, 2)})`);
      throw new CellFailure(`${what}: pusher exit ${r.code}${said(pusherText)}, receiver ${rc}${said(receiverText)}`);
    }
  }
}

/** Refs as `ostree refs` prints them, each with its commit. */
async function refsOf(repo: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const r of await ostreeRefs(repo)) out[r] = await ostreeRevParse(repo, r);
  return out;
}

async function judge(cell: Cell, want: Record<string, string>, cleanups: (() => void | Promise<void>)[]): Promise<void> {
  const got = await refsOf(cell.dest);
  const show = (o: Record<string, string>): string =>
    Object.entries(o)
      .map(([k, v]) => `${k}=${v.slice(0, 10)}`)
      .join(' ') || 'none';
  if (JSON.stringify(Object.entries(got).sort()) !== JSON.stringify(Object.entries(want).sort())) {
    throw new CellFailure(`destination refs ${show(got)}, expected ${show(want)}`);
  }
  const fsck = await ostreeFsck(cell.dest);
  if (!fsck.ok) throw new CellFailure(`ostree fsck of the destination failed: ${tail(fsck.stderr || fsck.stdout)}`);
  try {
    await assertPullable({ after: (fn) => cleanups.push(fn) }, cell.dest, { clientDir: join(cell.dir, 'client') });
  } catch (e) {
    throw new CellFailure(`ostree pull over http from the destination failed: ${tail((e as Error).message, 4)}`);
  }
}

async function runScenario(s: Scenario, cell: Cell, notes: string[], cleanups: (() => void | Promise<void>)[]): Promise<void> {
  const src = initArchiveRepo(cell.source);
  await ostree(['init', '--mode=archive', `--repo=${cell.dest}`]);
  const c1 = (await commitTree(src, { tree: tree(4), timestamp: 1_600_000_000, branch: 'main', subject: 'first' })).commit;
  const incremental = async (be: { pusher?: boolean; receiver?: boolean } = {}): Promise<void> => {
    await cell.push(['main'], be);
    const c2 = (await commitTree(src, { tree: tree(6), timestamp: 1_600_000_100, branch: 'main', parent: c1, subject: 'second' })).commit;
    await cell.push(['main'], be);
    await judge(cell, { main: c2 }, cleanups);
  };
  switch (s) {
    case 'full':
      await cell.push(['main']);
      return judge(cell, { main: c1 }, cleanups);
    case 'incremental':
      return incremental();
    case 'be-pusher':
      return incremental({ pusher: true });
    case 'be-receiver':
      return incremental({ receiver: true });
    case 'remote-refs': {
      // The destination already holds a commit that only a remote ref names, as after an `ostree pull` from a mirror.
      const base = (await commitTree(src, { tree: tree(2), timestamp: 1_500_000_000, branch: 'stable', subject: 'upstream' })).commit;
      await ostree(['pull-local', `--repo=${cell.dest}`, cell.source, 'stable']);
      await ostree(['remote', 'add', `--repo=${cell.dest}`, '--no-gpg-verify', 'origin', 'http://127.0.0.1:1/']);
      await ostree(['refs', `--repo=${cell.dest}`, `--create=origin:stable`, base]);
      await ostree(['refs', `--repo=${cell.dest}`, '--delete', 'stable']);
      await cell.push(['main']);
      return judge(cell, { main: c1, 'origin:stable': base }, cleanups);
    }
    case 'remote-ref-head': {
      const base = (await commitTree(src, { tree: tree(2), timestamp: 1_500_000_000, branch: 'stable', subject: 'upstream' })).commit;
      await ostree(['pull-local', `--repo=${cell.dest}`, cell.source, 'stable']);
      await ostree(['remote', 'add', `--repo=${cell.dest}`, '--no-gpg-verify', 'origin', 'http://127.0.0.1:1/']);
      await ostree(['refs', `--repo=${cell.dest}`, `--create=origin:stable`, base]);
      await ostree(['refs', `--repo=${cell.dest}`, '--delete', 'stable']);
      // Our 'stable', unrelated to the remote's.
      const head = (await commitTree(src, { tree: tree(5), timestamp: 1_600_000_050, branch: 'stable', subject: 'ours' })).commit;
      await cell.push(['stable']);
      return judge(cell, { stable: head, 'origin:stable': base }, cleanups);
    }
    case 'held-commit': {
      // One commit under two refs, so it is bound to neither.
      const shared = (await commitTree(src, { tree: tree(5), timestamp: 1_600_000_050, subject: 'shared' })).commit;
      await setRef(src, 'one', shared);
      await cell.push(['one']);
      await setRef(src, 'two', shared);
      await cell.push(['two']);
      return judge(cell, { one: shared, two: shared }, cleanups);
    }
    case 'compat-files': {
      const files = ['sig', 'sizes2'].map((ext) => `${objectRelPath(c1, 'commit').replace(/\.commit$/, '')}.${ext}`);
      for (const f of files) writeFileSync(join(cell.source, f), `compat ${f}\n`);
      await cell.push(['main']);
      await judge(cell, { main: c1 }, cleanups);
      const arrived = files.filter((f) => existsSync(join(cell.dest, f))).map((f) => f.slice(f.lastIndexOf('.')));
      notes.push(arrived.length === 0 ? '.sig/.sizes2 not carried' : `carried ${arrived.join(' ')}`);
      return;
    }
  }
}

/** Runs the matrix; results in row-then-scenario order. */
export async function runInterop(options: InteropOptions): Promise<CellResult[]> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const env = options.env ?? process.env;
  // One bundle per directory: esbuild lays entries of several directories out under their common ancestor.
  const bundled = await entryCommands([PUSH, RECEIVE]);
  const ours = options.ours ?? { push: bundled[PUSH] as string, receive: bundled[RECEIVE] as string };
  const proxy = (await entryCommands([PROXY]))[PROXY] as string;

  const ourPusher: PusherSide = {
    ours: true,
    command: (source, remote, refs, be) => `${ours.push} --repo=${shellQuote(source)}${be ? ' --byte-order=be' : ''} ${shellQuote(remote)} ${refs.map(shellQuote).join(' ')}`,
  };
  const ourReceiver: ReceiverSide = { ours: true, command: () => `${ours.receive} "$@"` };
  const theirPusher: PusherSide | undefined =
    options.pusher === undefined ? undefined : { ours: false, command: (source, remote, refs) => fillTemplate(options.pusher as string, { source, remote, ref: refs }) };
  const theirReceiver: ReceiverSide | undefined = options.receiver === undefined ? undefined : { ours: false, command: (dest) => fillTemplate(options.receiver as string, { repo: dest }) };

  const rows: [Row, PusherSide, ReceiverSide][] = [];
  if (theirReceiver !== undefined) rows.push(['ours-to-theirs', ourPusher, theirReceiver]);
  if (theirPusher !== undefined) rows.push(['theirs-to-ours', theirPusher, ourReceiver]);
  if (theirPusher !== undefined && theirReceiver !== undefined) rows.push(['theirs-to-theirs', theirPusher, theirReceiver]);

  const scenarios = options.scenarios ?? SCENARIOS;
  if (options.rows !== undefined) rows.splice(0, rows.length, ...rows.filter(([r]) => options.rows?.includes(r)));
  const root = mkdtempSync(join(tmpdir(), 'ostree-push-interop-'));
  const jobs: (() => Promise<CellResult>)[] = [];
  for (const [row, pusher, receiver] of rows) {
    for (const scenario of scenarios) {
      jobs.push(async () => {
        const dir = join(root, `${row}-${scenario}`);
        const cell = new Cell(dir, pusher, receiver, proxy, { timeoutMs, env });
        const notes: string[] = [];
        const cleanups: (() => void | Promise<void>)[] = [];
        let status: CellStatus = 'pass';
        let message: string | undefined;
        try {
          await runScenario(scenario, cell, notes, cleanups);
        } catch (e) {
          status = 'fail';
          message = e instanceof CellFailure ? e.message : `the run itself failed: ${tail((e as Error).message, 4)}`;
        } finally {
          for (const fn of cleanups.reverse()) await fn();
        }
        const expected = options.expect?.[`${row}/${scenario}`];
        if (expected !== undefined) {
          if (status === 'fail') {
            status = 'xfail';
            message = `${message ?? ''} (known: ${expected})`;
          } else status = 'fixed';
        }
        const r: CellResult = { row, scenario, status, notes, ...(message === undefined ? {} : { message }) };
        options.onCell?.(r);
        return r;
      });
    }
  }
  try {
    return await runAll(jobs, options.jobs ?? 2);
  } finally {
    if (options.keepTmp === true) process.stderr.write(`interop: kept ${root}\n`);
    else rmSync(root, { recursive: true, force: true });
  }
}

async function runAll<T>(jobs: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const out: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await (jobs[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, worker));
  return out;
}

/** The matrix as a text table: one line per row, one column per scenario, then each failure's reason. */
export function matrixTable(results: readonly CellResult[]): string {
  const rows = ROWS.filter((r) => results.some((c) => c.row === r));
  const scenarios = SCENARIOS.filter((s) => results.some((c) => c.scenario === s));
  const mark = (c: CellResult | undefined): string => (c === undefined ? '-' : c.status === 'pass' ? 'ok' : c.status === 'fail' ? 'FAIL' : c.status === 'xfail' ? 'xfail' : 'FIXED');
  const labelWidth = Math.max(...rows.map((r) => ROW_LABELS[r].length), 'direction'.length);
  const widths = scenarios.map((s) => Math.max(s.length, 5));
  const line = (label: string, cells: string[]): string => `${label.padEnd(labelWidth)} | ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')}`.trimEnd();
  const out = [line('direction', [...scenarios]), `${'-'.repeat(labelWidth)}-+-${widths.map((w) => '-'.repeat(w)).join('-+-')}`];
  for (const r of rows) out.push(line(ROW_LABELS[r], scenarios.map((s) => mark(results.find((c) => c.row === r && c.scenario === s)))));
  const detail = results.filter((c) => c.status !== 'pass' || c.notes.length > 0);
  if (detail.length > 0) out.push('');
  for (const c of detail) {
    const parts = [c.message, ...c.notes].filter((x): x is string => x !== undefined && x !== '');
    out.push(`${c.row}/${c.scenario}: ${c.status}${parts.length > 0 ? ` - ${parts.join('; ')}` : ''}`);
  }
  return out.join('\n');
}

/** Whether the run failed: any cell that failed unexpectedly. */
export function interopFailed(results: readonly CellResult[]): boolean {
  return results.some((r) => r.status === 'fail');
}
