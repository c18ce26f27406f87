/**
 * The one JSON object `ostree-push --json` prints on stdout, for scripts:
 *
 *   { "remote", "dryRun", "ok", "seconds",
 *     "refs": [{ "ref", "src"?, "old", "new", "status", "forced"?, "deleted"?, "reason"? }],
 *     "objects": { "sent", "skipped", "total" }, "bytes": { "sent", "skipped", "total" },
 *     "error": null | { "code", "message", "exit" } }
 *
 * src is the local ref or commit checksum pushed as ref, when not ref itself
 * (SRC:DST). A deletion (:DST, --delete) has new = 64 zeros and deleted: true. status is pushed | up-to-date | rejected | refused | not-pushed | unknown (the last two after a session lost after DONE: what a second session found; a dry run says pushed
 * for what would move). skipped counts what the plan held but was not sent
 * (a dry run, or a push stopped by a refusal). A run that failed before a
 * session has empty refs and zero counts, and its error.
 *
 * A push in the pull form (push-pull-form.ts) that succeeded adds
 * `"protocol": "pull"` and `"command"` (the server's command that pulled),
 * lists each ref offered with status `offered` (what the server took is in
 * its own output, not known here) and zero counts.
 */
import type { OstreePushError } from '../errors.js';
import type { PushResult } from '../protocol/pusher.js';
import { ZERO_CHECKSUM } from '../wire/constants.js';

export interface JsonSummaryInput {
  remote: string;
  dryRun: boolean;
  result: PushResult | undefined;
  error: OstreePushError | undefined;
  seconds: number;
}

export function jsonSummary(i: JsonSummaryInput): Record<string, unknown> {
  const r = i.result;
  const total = r?.bytesTotal ?? 0;
  const sent = r?.bytesSent ?? 0;
  return {
    remote: i.remote,
    dryRun: i.dryRun,
    ok: r?.ok === true && i.error === undefined,
    seconds: Math.round(i.seconds * 1000) / 1000,
    refs: (r?.refs ?? []).map((x) => ({
      ref: x.ref,
      ...(x.src === undefined ? {} : { src: x.src }),
      old: x.from,
      new: x.to,
      status: x.status,
      ...(x.forced === true ? { forced: true } : {}),
      ...(x.to === ZERO_CHECKSUM ? { deleted: true } : {}),
      ...(x.reason === undefined ? {} : { reason: x.reason }),
    })),
    objects: { sent: r?.objectsSent ?? 0, skipped: r?.objectsSkipped ?? 0, total: r?.objectsTotal ?? 0 },
    bytes: { sent, skipped: Math.max(0, total - sent), total },
    error: i.error === undefined ? null : { code: i.error.code, message: i.error.message, exit: i.error.exitCode },
  };
}

export function pullJsonSummary(i: { remote: string; dryRun: boolean; command: string; refs: ReadonlyMap<string, string>; seconds: number }): Record<string, unknown> {
  return {
    ...jsonSummary({ remote: i.remote, dryRun: i.dryRun, result: undefined, error: undefined, seconds: i.seconds }),
    ok: true,
    protocol: 'pull',
    command: i.command,
    refs: [...i.refs].map(([ref, commit]) => ({ ref, new: commit, status: 'offered' })),
  };
}
