/**
 * The top level of each command: runs its body, prints an error that ends it
 * as one line `PROG: message`, and maps it to its exit status
 * (spec/errors.json: 1 refused, 2 usage, 3 transport). Nothing here prints a
 * stack trace for bad input; OSTREE_PUSH_DEBUG=1 adds the stack of an
 * unexpected error, for bug reports.
 */
import { OstreePushError, asOstreePushError } from '../errors.js';

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
