/**
 * What `ostree-push` prints on stderr after a session, in git push's style:
 *
 *    * [new branch]      1a2b3c4 -> main
 *      1a2b3c4..5d6e7f8  main
 *    + 1a2b3c4...5d6e7f8 main (forced update)
 *    - [deleted]         main            (:main, --delete main)
 *    = [up to date]      main            (only with -v)
 *    ! [rejected]        main (non-fast-forward)
 *    ! [remote rejected] main (<the receiver's reason>)
 *    ! [not pushed]      main (the connection was lost after DONE; …)
 *    ? [unknown]         main (… the remote's refs could not be read …)
 *
 * A ref pushed under another name (SRC:DST) is named `SRC -> DST` instead:
 * ` * [new branch]      os/stable -> os/beta`.
 *
 * then one summary line. A dry run prints the same lines and says what would
 * be sent. With -q only the refs that failed are listed; when one of them
 * gives the receiver's reason, the closing error line does not repeat it
 * (`ostree-push: failed to push some refs to DEST`).
 */
import { ZERO_CHECKSUM } from '../wire/constants.js';
import type { PushProgress, PushResult, RefResult } from '../protocol/pusher.js';

const short = (c: string): string => c.slice(0, 7);
const FLAG_WIDTH = 18;

function pad(s: string): string {
  return s.length >= FLAG_WIDTH ? `${s} ` : s.padEnd(FLAG_WIDTH);
}

export function refLine(r: RefResult): string | null {
  const isNew = r.from === ZERO_CHECKSUM;
  // SRC:DST: named `SRC -> DST`, as git push does (SRC a local ref or a checksum).
  const name = r.src === undefined ? r.ref : `${r.src} -> ${r.ref}`;
  switch (r.status) {
    case 'pushed':
      if (r.to === ZERO_CHECKSUM) return ` - ${pad('[deleted]')}${r.ref}`;
      if (isNew) return ` * ${pad('[new branch]')}${r.src === undefined ? `${short(r.to)} -> ${r.ref}` : name}`;
      if (r.forced === true) return ` + ${pad(`${short(r.from)}...${short(r.to)}`)}${name} (forced update)`;
      return `   ${pad(`${short(r.from)}..${short(r.to)}`)}${name}`;
    case 'up-to-date':
      return ` = ${pad('[up to date]')}${name}`;
    case 'rejected':
      return ` ! ${pad('[rejected]')}${name} (${r.reason ?? 'non-fast-forward'})`;
    case 'refused':
      return ` ! ${pad('[remote rejected]')}${name} (${r.reason ?? 'refused'})`;
    case 'not-pushed':
      return ` ! ${pad('[not pushed]')}${name} (${r.reason ?? 'not pushed'})`;
    case 'unknown':
      return ` ? ${pad('[unknown]')}${name} (${r.reason ?? 'unknown'})`;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export interface ReportOptions {
  dest: string;
  verbose: boolean;
  dryRun: boolean;
  /** Only `To DEST` and the refs that failed, and nothing at all when none did (-q). */
  failuresOnly?: boolean;
}

const failed = (r: RefResult): boolean => r.status === 'rejected' || r.status === 'refused';

/** The lines to print for a finished session. */
export function reportLines(result: PushResult, o: ReportOptions): string[] {
  if (o.failuresOnly === true) {
    const failures = result.refs.filter(failed);
    return failures.length === 0 ? [] : [`To ${o.dest}`, ...failures.map((r) => refLine(r) as string)];
  }
  const lines: string[] = [];
  const moving = result.refs.filter((r) => r.status !== 'up-to-date');
  if (moving.length === 0) {
    if (o.verbose) {
      lines.push(`To ${o.dest}`);
      for (const r of result.refs) lines.push(refLine(r) as string);
    }
    lines.push('Everything up-to-date');
    return lines;
  }
  lines.push(`To ${o.dest}`);
  for (const r of result.refs) {
    if (r.status === 'up-to-date' && !o.verbose) continue;
    const l = refLine(r);
    if (l !== null) lines.push(l);
  }
  if (o.dryRun) {
    lines.push(`dry run: would send ${plural(result.objectsTotal, 'object')} (${formatBytes(result.bytesTotal)}); nothing was changed`);
  } else if (result.objectsSent > 0 || result.ok) {
    lines.push(`sent ${plural(result.objectsSent, 'object')} (${formatBytes(result.bytesSent)})`);
  }
  return lines;
}

/**
 * The text of the closing `ostree-push:` line when the push failed: the
 * error's message, or, when a ref line above already gives the receiver's
 * reason, only that the push failed (as git does), so the reason is printed
 * once.
 */
export function closingLine(result: PushResult, error: { message: string }, dest: string): string {
  const shown = result.refs.some((r) => r.status === 'refused' && r.reason !== undefined && r.reason !== '' && error.message.includes(r.reason));
  return shown ? `failed to push some refs to ${dest}` : error.message;
}

/** One progress line, for a terminal (rewritten in place with \r). */
export function progressLine(p: PushProgress): string {
  const pct = p.objectsTotal === 0 ? 100 : Math.floor((100 * p.objectsSent) / p.objectsTotal);
  return `Sending objects: ${pct}% (${p.objectsSent}/${p.objectsTotal}), ${formatBytes(p.bytesSent)} of ${formatBytes(p.bytesTotal)}`;
}
