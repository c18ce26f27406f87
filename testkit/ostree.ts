/**
 * Thin wrappers over the `ostree` CLI for oracle and integration tests.
 * Every failure names the exact command line, the exit status and stderr, so
 * an assertion message is enough to repeat the step by hand.
 *
 * Callers guard with `needTools(t, 'ostree')` first.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface RunResult {
  ok: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
  /** The command line, shell-quoted, for messages. */
  command: string;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export class OstreeCommandError extends Error {
  constructor(readonly result: RunResult) {
    super(`command failed (exit ${result.code}): ${result.command}\n--- stderr ---\n${result.stderr.trimEnd()}\n--- stdout ---\n${result.stdout.trimEnd()}`);
  }
}

export interface RunOptions {
  /** Milliseconds before the child is killed; default 30 s. */
  timeout?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs `ostree ARGS...`; never throws for a non-zero exit (see `ok`). */
export function runOstree(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const command = ['ostree', ...args].map(quote).join(' ');
  return new Promise((resolve) => {
    execFile(
      'ostree',
      [...args],
      { encoding: 'utf8', timeout: options.timeout ?? 30_000, maxBuffer: 16 * 1024 * 1024, env: options.env ?? process.env, cwd: options.cwd },
      (err, stdout, stderr) => {
        let code: number | null = 0;
        if (err !== null) code = typeof err.code === 'number' ? err.code : null;
        resolve({ ok: err === null, code, stdout, stderr: err !== null && stderr === '' ? String(err.message) : stderr, command });
      },
    );
  });
}

/** Runs `ostree ARGS...` and returns stdout; throws OstreeCommandError on failure. */
export async function ostree(args: readonly string[], options: RunOptions = {}): Promise<string> {
  const r = await runOstree(args, options);
  if (!r.ok) throw new OstreeCommandError(r);
  return r.stdout;
}

export type OstreeMode = 'archive' | 'archive-z2' | 'bare' | 'bare-user' | 'bare-user-only';

export async function ostreeInit(repo: string, mode: OstreeMode = 'archive', opts: { collectionId?: string } = {}): Promise<void> {
  const args = ['init', `--repo=${repo}`, `--mode=${mode}`];
  if (opts.collectionId !== undefined) args.push(`--collection-id=${opts.collectionId}`);
  await ostree(args);
}

export interface CommitOptions {
  branch: string;
  subject?: string;
  body?: string;
  /** Anything `ostree commit --timestamp` takes, or a Date / seconds since the epoch. */
  timestamp?: string | Date | number;
  parent?: string;
  /** `--add-metadata-string=K=V` for each entry (e.g. {version: '1.2'}). */
  metadataStrings?: Record<string, string>;
  noBindings?: boolean;
  /** Extra raw arguments, appended last. */
  extra?: string[];
}

function timestampArg(ts: string | Date | number): string {
  if (typeof ts === 'string') return ts;
  const d = typeof ts === 'number' ? new Date(ts * 1000) : ts;
  // ostree parses "YYYY-MM-DD HH:MM:SS UTC" reliably; ISO 'T' forms vary by version.
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** `ostree commit` of directory `dir` onto `branch`; returns the new commit's checksum. */
export async function ostreeCommit(repo: string, dir: string, opts: CommitOptions): Promise<string> {
  const args = ['commit', `--repo=${repo}`, `--branch=${opts.branch}`, `--subject=${opts.subject ?? 'test commit'}`];
  if (opts.body !== undefined) args.push(`--body=${opts.body}`);
  if (opts.timestamp !== undefined) args.push(`--timestamp=${timestampArg(opts.timestamp)}`);
  if (opts.parent !== undefined) args.push(`--parent=${opts.parent}`);
  for (const [k, v] of Object.entries(opts.metadataStrings ?? {})) args.push(`--add-metadata-string=${k}=${v}`);
  if (opts.noBindings === true) args.push('--no-bindings');
  args.push(...(opts.extra ?? []), dir);
  const checksum = (await ostree(args)).trim();
  if (!/^[0-9a-f]{64}$/.test(checksum)) throw new Error(`ostree commit printed no checksum: ${JSON.stringify(checksum)}`);
  return checksum;
}

/** `ostree rev-parse REF` → checksum; throws when the ref does not resolve. */
export async function ostreeRevParse(repo: string, ref: string): Promise<string> {
  return (await ostree(['rev-parse', `--repo=${repo}`, ref])).trim();
}

/** `ostree refs` → ref names as ostree prints them (remote refs as `remote:name`), sorted. */
export async function ostreeRefs(repo: string): Promise<string[]> {
  const out = await ostree(['refs', `--repo=${repo}`]);
  return out.split('\n').filter((l) => l !== '').sort();
}

/** `ostree fsck`: never throws; `ok` is the exit status. */
export async function ostreeFsck(repo: string, opts: { all?: boolean } = {}): Promise<RunResult> {
  const args = ['fsck', `--repo=${repo}`];
  if (opts.all === true) args.push('--all');
  return runOstree(args, { timeout: 60_000 });
}

/** `ostree summary -u`, regenerating the summary the way ostree does. */
export async function ostreeSummaryUpdate(repo: string): Promise<void> {
  await ostree(['summary', '-u', `--repo=${repo}`]);
}

/**
 * Pulls `ref` from `url` into `clientRepo` (an archive repo is made when
 * absent) through a remote named `remote` (default `origin`, gpg checks off;
 * with `gpg`, the remote verifies the summary's GPG signature, and the
 * commits' with `commits`, against that exported key), and returns the
 * checksum the client now has for `remote:ref`.
 */
export async function ostreePullHttp(clientRepo: string, url: string, ref: string, opts: { remote?: string; gpg?: { keyring: string; commits?: boolean } } = {}): Promise<string> {
  const remote = opts.remote ?? 'origin';
  if (!existsSync(`${clientRepo}/config`)) await ostreeInit(clientRepo, 'archive');
  const remotes = (await ostree(['remote', 'list', `--repo=${clientRepo}`])).split('\n');
  const verify =
    opts.gpg === undefined
      ? ['--no-gpg-verify']
      : ['--set=gpg-verify-summary=true', `--set=gpg-verify=${opts.gpg.commits === true ? 'true' : 'false'}`, `--gpg-import=${opts.gpg.keyring}`];
  if (!remotes.includes(remote)) await ostree(['remote', 'add', `--repo=${clientRepo}`, ...verify, remote, url]);
  await ostree(['pull', `--repo=${clientRepo}`, remote, ref], { timeout: 60_000 });
  return ostreeRevParse(clientRepo, `${remote}:${ref}`);
}
