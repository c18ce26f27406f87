/**
 * The receiver's limits (src/protocol/receive-limits.ts) as the
 * configuration file and the command line of ostree-receive give them:
 *
 *   key / option                         unit      0
 *   idle_timeout      --idle-timeout     seconds   (not allowed)
 *   session_timeout   --session-timeout  seconds   no deadline
 *   max_push_bytes    --max-push-bytes   bytes     no limit
 *   max_push_objects  --max-push-objects objects   no limit
 *   max_receivers     --max-receivers    sessions  no limit
 *   min_free_space    --min-free-space   bytes     no floor
 *
 * Absent or null: the default of receive-limits.ts. A `repos` entry
 * replaces a top-level key for its repository; an option on the command
 * line replaces both. Seconds may have a fraction.
 */
import type { ReceiveLimits } from '../protocol/receive-limits.js';
import { usageError } from './command-line.js';

export type LimitSettings = Partial<ReceiveLimits>;

interface LimitKey {
  key: string;
  option: string;
  field: keyof ReceiveLimits;
  kind: 'seconds' | 'count' | 'bytes';
  /** 0 is not a valid value (idle_timeout). */
  positive?: boolean;
}

export const LIMIT_KEYS: readonly LimitKey[] = [
  { key: 'idle_timeout', option: 'idle-timeout', field: 'idleTimeoutMs', kind: 'seconds', positive: true },
  { key: 'session_timeout', option: 'session-timeout', field: 'sessionTimeoutMs', kind: 'seconds' },
  { key: 'max_push_bytes', option: 'max-push-bytes', field: 'maxPushBytes', kind: 'bytes' },
  { key: 'max_push_objects', option: 'max-push-objects', field: 'maxPushObjects', kind: 'count' },
  { key: 'max_receivers', option: 'max-receivers', field: 'maxReceivers', kind: 'count' },
  { key: 'min_free_space', option: 'min-free-space', field: 'minFreeBytes', kind: 'bytes' },
];

function set(out: LimitSettings, k: LimitKey, n: number): void {
  if (k.kind === 'seconds') (out as Record<string, unknown>)[k.field] = Math.max(k.positive === true ? 1 : 0, Math.round(n * 1000));
  else if (k.kind === 'bytes') (out as Record<string, unknown>)[k.field] = BigInt(Math.floor(n));
  else (out as Record<string, unknown>)[k.field] = Math.floor(n);
}

/** The limit keys present in one part of the file (already validated by the schema). */
export function limitsFrom(raw: Record<string, unknown>): LimitSettings {
  const out: LimitSettings = {};
  for (const k of LIMIT_KEYS) {
    const v = raw[k.key];
    if (typeof v === 'number') set(out, k, v);
  }
  return out;
}

/** The parseArgs options for the limits. */
export const LIMIT_OPTIONS = Object.fromEntries(LIMIT_KEYS.map((k) => [k.option, { type: 'string' as const }]));

/** The limits given on the command line; a malformed value is a usage error. */
export function limitsFromOptions(values: Record<string, unknown>): LimitSettings {
  const out: LimitSettings = {};
  for (const k of LIMIT_KEYS) {
    const text = values[k.option];
    if (typeof text !== 'string') continue;
    const pattern = k.kind === 'seconds' ? /^\d+(\.\d+)?$/ : /^\d+$/;
    const n = pattern.test(text) ? Number(text) : NaN;
    if (!Number.isFinite(n) || (k.positive === true && n <= 0)) {
      const what = k.kind === 'seconds' ? 'a number of seconds' : k.kind === 'bytes' ? 'a number of bytes' : 'a whole number';
      throw usageError(`--${k.option} must be ${what}${k.positive === true ? ' greater than 0' : ' (0: no limit)'}, not '${text}'`);
    }
    set(out, k, n);
  }
  return out;
}
