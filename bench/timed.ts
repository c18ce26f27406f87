/**
 * Resource figures of child processes: each measured command runs under
 * `/usr/bin/time -f '%M %U %S %e' -o FILE`, which records, once the command
 * has exited, its peak RSS (KiB) and CPU seconds including every descendant
 * it reaped (an ssh client under rsync, say). Without /usr/bin/time the
 * figures are simply absent.
 */
import { existsSync, readFileSync } from 'node:fs';

export const TIME_BIN = '/usr/bin/time';
export const TIME_FORMAT = '%M %U %S %e';

export interface Usage {
  /** Peak resident set size, KiB. */
  maxRssKiB: number;
  userMs: number;
  sysMs: number;
}

export function hasTime(): boolean {
  return existsSync(TIME_BIN);
}

/** argv prefix that runs a command under /usr/bin/time writing to `file` (empty without it). */
export function timePrefix(file: string): string[] {
  return hasTime() ? [TIME_BIN, '-f', TIME_FORMAT, '-o', file] : [];
}

/** Reads a /usr/bin/time output file; null when absent or unreadable (the command never ran). */
export function readUsage(file: string): Usage | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  // A command that failed gets a "Command exited with non-zero status" line first.
  const line = text.trim().split('\n').pop() ?? '';
  const [rss, user, sys] = line.trim().split(/\s+/).map(Number);
  if (rss === undefined || user === undefined || sys === undefined || [rss, user, sys].some((x) => !Number.isFinite(x))) return null;
  return { maxRssKiB: rss, userMs: Math.round(user * 1000), sysMs: Math.round(sys * 1000) };
}

/** Sums CPU and takes the larger peak (two processes of one side). */
export function addUsage(a: Usage | null, b: Usage | null): Usage | null {
  if (a === null) return b;
  if (b === null) return a;
  return { maxRssKiB: Math.max(a.maxRssKiB, b.maxRssKiB), userMs: a.userMs + b.userMs, sysMs: a.sysMs + b.sysMs };
}
