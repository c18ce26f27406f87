/**
 * Strict option parsing for the command-line tools: every mistake becomes a
 * one-line USAGE error (exit 2, spec/errors.json), never a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';

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

/** A usage error (exit 2), one line. */
export function usageError(message: string, data: Record<string, unknown> = {}): UsageError {
  return new UsageError('USAGE', message, data);
}
