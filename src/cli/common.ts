/**
 * What the command-line tools share: strict option parsing that turns every
 * mistake into a one-line USAGE error, ostree's default repository chain,
 * and the top-level catch that prints `PROG: message` and exits with the
 * error's exit status (spec/errors.json: 1 refused, 2 usage, 3 transport).
 * Nothing here ever prints a stack trace for bad input; OSTREE_PUSH_DEBUG=1
 * adds the stack of an unexpected error, for bug reports.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OstreePushError, UsageError, asOstreePushError } from '../errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs in strict mode; its errors become USAGE with the node prefix dropped. */
export function parseCommandLine<O extends Options>(args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (e) {
    const text = e instanceof Error ? e.message.replace(/\. To specify a positional argument.*$/s, '') : String(e);
    throw new UsageError('USAGE', `${text.split('\n')[0]} (see --help)`, {});
  }
}

/**
 * `PROG VERSION`, the line `--version` prints: the version of the package
 * this file belongs to (the nearest package.json above it, from src/ under
 * tsx as from dist/ when installed).
 */
export function versionLine(prog: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'ostree-push' && typeof pkg.version === 'string') return `${prog} ${pkg.version}`;
    } catch {
      // no package.json here, or not ours: keep climbing
    }
    if (dirname(dir) === dir) return `${prog} (unknown version)`;
  }
}

/** A usage error (exit 2), one line. */
export function usageError(message: string, code: 'USAGE' | 'PUSH_DEST_UNSUPPORTED' | 'PUSH_DEST_NOT_REPO' = 'USAGE', data: Record<string, unknown> = {}): UsageError {
  return new UsageError(code, message, data);
}

/** True when `dir` looks like a repository the way ostree checks it: a `config` file and an `objects` directory. */
export function looksLikeRepo(dir: string): boolean {
  try {
    return statSync(join(dir, 'config')).isFile() && statSync(join(dir, 'objects')).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The repository when --repo is not given, as `ostree` chooses it
 * (ostree_repo_new_default): the current directory if it looks like a
 * repository, else `$OSTREE_REPO` when set and non-empty, else /ostree/repo.
 */
export function defaultRepoPath(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  if (looksLikeRepo(cwd)) return cwd;
  const fromEnv = env['OSTREE_REPO'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return '/ostree/repo';
}

/** Where a CLI writes: injectable for in-process tests. */
export interface Console {
  err(line: string): void;
}

export const stderrConsole: Console = {
  err: (line) => process.stderr.write(`${line}\n`),
};

/** The line printed for an error that ends a command (plus a stack for INTERNAL under OSTREE_PUSH_DEBUG=1). */
export function errorLines(prog: string, e: unknown): string[] {
  const err = asOstreePushError(e);
  const lines = [`${prog}: ${err.message.replace(/\s*\n\s*/g, ' ')}`];
  if (process.env['OSTREE_PUSH_DEBUG'] === '1' && err.code === 'INTERNAL') {
    const cause = err.cause instanceof Error ? err.cause : err;
    lines.push(...(cause.stack ?? '').split('\n'));
  }
  return lines;
}

/** The exit status for an error ending a command. */
export function exitCodeOf(e: unknown): number {
  return e instanceof OstreePushError ? e.exitCode : 1;
}

/**
 * Runs a CLI body: its resolved number is the exit status; anything thrown
 * is printed as one line and mapped to its exit status. The caller sets
 * process.exitCode (in-process tests call this too).
 */
export async function runMain(prog: string, body: () => Promise<number>, out: Console = stderrConsole): Promise<number> {
  let code: number;
  try {
    code = await body();
  } catch (e) {
    for (const line of errorLines(prog, e)) out.err(line);
    code = exitCodeOf(e);
  }
  return code;
}
