/**
 * Retries with exponential backoff and full jitter, and a bounded pool.
 *
 * What is retried: network errors and the statuses a store uses for "try
 * again" (408, 429, 500, 502, 503, 504), never a 4xx that states a fact
 * (403, 404, 412…). Every failure that ends the retries is a REPO_BUCKET_IO
 * naming the request and the store's answer (its status in `data.status`). The caller decides whether a request is safe to repeat:
 * an object PUT is (its key is its content), a conditional ref write is too,
 * because its caller reads the ref back after a 412 and counts "already at
 * the new value" as its own success (bucket-refs.ts).
 */
import { RepoError, isOstreePushError } from '../errors.js';

export interface RetryOptions {
  /** Attempts in all (default 5). */
  attempts?: number;
  /** First backoff in ms (default 100); doubles each time, capped at maxDelayMs (default 5000). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** The wait (tests replace it); default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** The jitter source in [0, 1) (default Math.random). */
  random?: () => number;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH']);

/** The HTTP status of an SDK error (or of the REPO_BUCKET_IO made of one), if it has one. */
export function httpStatus(e: unknown): number | undefined {
  if (isOstreePushError(e)) return typeof e.data['status'] === 'number' ? e.data['status'] : undefined;
  const m = (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return m?.httpStatusCode;
}

export function isRetryable(e: unknown): boolean {
  if (isOstreePushError(e)) return false;
  const status = httpStatus(e);
  if (status !== undefined) return RETRY_STATUS.has(status);
  const code = (e as { code?: unknown } | null)?.code;
  const name = (e as { name?: unknown } | null)?.name;
  return (typeof code === 'string' && NETWORK_CODES.has(code)) || name === 'TimeoutError' || name === 'RequestTimeout';
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function withRetries<T>(what: string, fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 5;
  const base = opts.baseDelayMs ?? 100;
  const cap = opts.maxDelayMs ?? 5000;
  const sleep = opts.sleep ?? defaultSleep;
  const random = opts.random ?? Math.random;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      // Whatever the store (or the SDK: no credentials, a bad endpoint) said last, as one REPO_BUCKET_IO.
      if (!isRetryable(e)) throw isOstreePushError(e) ? e : bucketIo(what, e);
      if (i >= attempts) throw bucketIo(what, e, { attempts });
      await sleep(Math.floor(random() * Math.min(cap, base * 2 ** (i - 1))));
    }
  }
}

/** REPO_BUCKET_IO for a failed request, naming what it was and the store's answer. */
export function bucketIo(what: string, e: unknown, data: Record<string, unknown> = {}): RepoError {
  const status = httpStatus(e);
  const name = (e as { name?: unknown } | null)?.name;
  const detail = `${typeof name === 'string' ? name : 'error'}${status !== undefined ? ` (HTTP ${status})` : ''}: ${(e as Error)?.message ?? String(e)}`;
  return new RepoError('REPO_BUCKET_IO', `${what}: ${detail}`, { ...data, status: status ?? null }, { cause: e });
}

/** Runs `fn` over `items` with at most `limit` at once; the first failure stops new starts and is thrown. */
export async function forEachBounded<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { e: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        await fn(items[i] as T, i);
      } catch (e) {
        failed ??= { e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== undefined) throw failed.e;
}
