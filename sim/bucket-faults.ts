/**
 * Faults between a receiver and its bucket, through the S3 client's
 * middleware (no seam in src/bucket: the receiver is handed a client).
 *
 * Every PUT and DELETE is a write. Each write *attempt* (a retry is a new
 * attempt: the retries are the caller's, retry.ts, and the SDK's own are off)
 * gets a number from 0, and a plan may fault it:
 *
 *   drop     a network error before the request leaves: nothing reached the store
 *   lost     the request reached the store and was applied, its answer is lost
 *            (a network error after the fact: what a conditional write must survive)
 *   503      the store answers 503 Service Unavailable without applying it
 *   slow     the request leaves after `ms` milliseconds
 *
 * `outageFrom`: every write attempt from that number on fails with a network
 * error (the store is gone for good: the push must fail cleanly).
 *
 * Writes that reached the store (answered, whatever the status, or `lost`)
 * are counted from 1; `onWrite(n, key)` is told after each, and the kill
 * point of bucket-receiver.child.ts ("killed after write N") is taken there,
 * before the caller sees the answer.
 *
 * `barrier`: before its first write of the ref journal, the receiver leaves
 * a file in that directory and waits (at most 8 s) until `parties` files are
 * there. Two racing receivers thus meet at the journal with their objects
 * uploaded and their refs checked: the race is certain to overlap.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';

export type BucketFaultKind = 'drop' | 'lost' | '503' | 'slow';

export interface BucketFault {
  /** The write attempt it hits (0 is the first). */
  at: number;
  kind: BucketFaultKind;
  /** For slow: the delay. */
  ms?: number;
}

export interface BucketFaultPlan {
  faults?: BucketFault[];
  outageFrom?: number;
  /** SIGKILL (or what onKill does) right after the N-th write reached the store. */
  killAfter?: number;
  barrier?: { dir: string; parties: number };
}

export interface BucketFaultHooks {
  onWrite?: (n: number, key: string) => void;
  onKill?: () => void;
  onFault?: (kind: BucketFaultKind | 'outage', attempt: number, key: string) => void;
}

export const JOURNAL_SUFFIX = 'tmp/ostree-push-refs.journal';

const WRITES = new Set(['PutObjectCommand', 'DeleteObjectCommand']);

function networkError(): Error {
  return Object.assign(new Error('socket hang up (injected)'), { code: 'ECONNRESET', name: 'Error' });
}

function unavailable(): Error {
  return Object.assign(new Error('Service Unavailable (injected)'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function meet(b: { dir: string; parties: number }): Promise<void> {
  mkdirSync(b.dir, { recursive: true });
  writeFileSync(join(b.dir, String(process.pid)), '');
  const until = Date.now() + 8000;
  while (readdirSync(b.dir).length < b.parties && Date.now() < until) await sleep(20);
}

/** Installs the plan on `client`; returns the counters. */
export function installBucketFaults(client: S3Client, plan: BucketFaultPlan, hooks: BucketFaultHooks = {}): { attempts: () => number; writes: () => number } {
  let attempts = 0;
  let writes = 0;
  let met = plan.barrier === undefined;
  const byAttempt = new Map((plan.faults ?? []).map((f) => [f.at, f]));
  const reached = (key: string): void => {
    writes++;
    hooks.onWrite?.(writes, key);
    if (plan.killAfter !== undefined && writes === plan.killAfter) hooks.onKill?.();
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!WRITES.has(context.commandName ?? '')) return next(args);
      const key = (args.input as { Key?: string }).Key ?? '';
      if (!met && plan.barrier !== undefined && key.endsWith(JOURNAL_SUFFIX)) {
        met = true;
        await meet(plan.barrier);
      }
      const n = attempts++;
      if (plan.outageFrom !== undefined && n >= plan.outageFrom) {
        if (n === plan.outageFrom) hooks.onFault?.('outage', n, key);
        throw networkError();
      }
      const f = byAttempt.get(n);
      if (f !== undefined) hooks.onFault?.(f.kind, n, key);
      if (f?.kind === 'drop') throw networkError();
      if (f?.kind === '503') throw unavailable();
      if (f?.kind === 'slow') await sleep(f.ms ?? 200);
      let out: Awaited<ReturnType<typeof next>>;
      try {
        out = await next(args);
      } catch (e) {
        // The store answered (412, say): the write reached it all the same.
        if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== undefined) reached(key);
        throw e;
      }
      reached(key);
      if (f?.kind === 'lost') throw networkError();
      return out;
    },
    { step: 'initialize', name: 'simBucketFaults' },
  );
  return { attempts: () => attempts, writes: () => writes };
}
