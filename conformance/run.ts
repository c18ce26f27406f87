/**
 * The suite as a function: `runConformance` runs the selected cases against
 * a receiver command and/or a pusher command, a few at a time, and returns
 * one result per case. An implementation's expected failures come from its
 * expectations file (conformance/expectations/*.json), as in a browser test
 * suite: a listed case that fails is an 'expected-fail', one that passes an
 * 'unexpected-pass' (trim the file), an unlisted one that fails an
 * 'unexpected-fail'. Without a file a failure is a plain 'fail'.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Case, Level, ResultLevel, Role } from './case.js';
import { loadCases } from './case.js';
import { runPusherCase } from './pusher-cases.js';
import { CaseFailure } from './process.js';
import { runReceiverCase } from './receiver-cases.js';

export type Status = 'pass' | 'fail' | 'skip' | 'expected-fail' | 'unexpected-pass' | 'unexpected-fail';

export interface CaseResult {
  id: string;
  level: ResultLevel;
  /** 'codec': a byte vector replayed against this project's codec (vectors.ts). */
  role: Role | 'codec';
  summary: string;
  status: Status;
  /** For an expected failure: the reason the expectations file gives. */
  expected?: string;
  /** Every failed check, or the reason for a skip or an expectation. */
  message?: string;
  problems?: string[];
  ms: number;
}

export interface Expectations {
  /** What the file is about: the implementation and how it was run. */
  $comment?: string;
  /** Case id → why it is expected to fail (the defect, with its evidence). */
  failures: Record<string, string>;
  /** Case id → why it is skipped for this implementation (documentation; skipping is decided by `requires`). */
  skipped?: Record<string, string>;
}

export interface ConformanceOptions {
  receiver?: string;
  pusher?: string;
  level?: Level | 'all';
  /** Only cases whose id contains this (or matches it as a /regex/). */
  only?: string;
  expectations?: Expectations;
  /** Cases run at once (default 3). */
  concurrency?: number;
  timeoutMs?: number;
  keepTmp?: boolean;
  /** Pusher cases: which transports to use (default both); a case with none left is skipped. */
  transports?: ('ssh' | 'local')[];
  onResult?: (r: CaseResult) => void;
  env?: NodeJS.ProcessEnv;
  cases?: Case[];
}

export function readExpectations(path: string): Expectations {
  return JSON.parse(readFileSync(path, 'utf8')) as Expectations;
}

/** `--only`: ids containing PATTERN, or matching it when written /REGEX/. */
export function matcher(only: string): (id: string) => boolean {
  const re = only.length > 2 && only.startsWith('/') && only.endsWith('/') ? new RegExp(only.slice(1, -1)) : null;
  return (id) => (re ? re.test(id) : id.includes(only));
}

export function selectCases(all: Case[], opts: Pick<ConformanceOptions, 'receiver' | 'pusher' | 'level' | 'only'>): Case[] {
  const level = opts.level ?? 'all';
  const match = opts.only === undefined ? () => true : matcher(opts.only);
  return all.filter(
    (c) =>
      ((c.role === 'receiver' && opts.receiver !== undefined) || (c.role === 'pusher' && opts.pusher !== undefined)) &&
      (level === 'all' || c.level === level || (level === 'hardened' && c.level === 'extension')) &&
      match(c.id),
  );
}

async function runOne(c: Case, opts: ConformanceOptions, capabilities: Set<string> | undefined): Promise<CaseResult> {
  const started = Date.now();
  const base = { id: c.id, level: c.level, role: c.role, summary: c.summary };
  // `requires` gates receiver cases on what the receiver under test advertises; pusher cases are offered the extension by the suite's receiver.
  if (c.role === 'receiver' && c.requires !== undefined && !(capabilities?.has(c.requires) ?? false)) {
    return { ...base, status: 'skip', message: `extension '${c.requires}' not advertised in INFO`, ms: 0 };
  }
  if (c.role === 'pusher' && opts.transports !== undefined && !(c.push?.transports ?? ['ssh', 'local']).some((t) => opts.transports?.includes(t))) {
    return { ...base, status: 'skip', message: `needs transport ${(c.push?.transports ?? []).join('/')}`, ms: 0 };
  }
  const dir = mkdtempSync(join(tmpdir(), 'ostree-push-conformance-'));
  const expected = opts.expectations?.failures[c.id];
  const judged = opts.expectations !== undefined;
  try {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    if (c.role === 'receiver') await runReceiverCase(c, opts.receiver as string, { dir, timeoutMs, ...(opts.env ? { env: opts.env } : {}) });
    else {
      const r = await runPusherCase(c, opts.pusher as string, { dir, timeoutMs, ...(opts.env ? { env: opts.env } : {}), ...(opts.transports ? { transports: opts.transports } : {}) });
      if (r.skipped !== undefined) return { ...base, status: 'skip', message: r.skipped, ms: Date.now() - started };
    }
    if (expected !== undefined) return { ...base, status: 'unexpected-pass', message: `listed as an expected failure (${expected}) but passes`, ms: Date.now() - started };
    return { ...base, status: 'pass', ms: Date.now() - started };
  } catch (e) {
    const problems = e instanceof CaseFailure ? e.problems : [`suite error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`];
    const status: Status = expected !== undefined ? 'expected-fail' : judged ? 'unexpected-fail' : 'fail';
    return { ...base, status, message: problems.join('; '), problems, ...(expected !== undefined ? { expected } : {}), ms: Date.now() - started };
  } finally {
    if (opts.keepTmp !== true) rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the selected cases; results come back in case order. */
export async function runConformance(opts: ConformanceOptions): Promise<CaseResult[]> {
  const cases = selectCases(opts.cases ?? loadCases(), opts);
  // Extensions are tested only when the receiver advertises them; learn that from a plain INFO first.
  let capabilities: Set<string> | undefined;
  if (opts.receiver !== undefined && cases.some((c) => c.role === 'receiver' && c.requires !== undefined)) capabilities = await probeCapabilities(opts);
  const results: CaseResult[] = new Array(cases.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const i = next++;
      const r = await runOne(cases[i] as Case, opts, capabilities);
      results[i] = r;
      opts.onResult?.(r);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 3) }, worker));
  return results;
}

async function probeCapabilities(opts: ConformanceOptions): Promise<Set<string>> {
  const dir = mkdtempSync(join(tmpdir(), 'ostree-push-conformance-'));
  try {
    const probe: Case = {
      id: 'receiver/probe', level: 'core', role: 'receiver', summary: 'capability probe', covers: [], file: '',
      fixture: { commits: {} }, steps: [{ op: 'info' }, { op: 'done' }], expect: { exit: 'any', clean: false, fsck: false },
    };
    const run = await runReceiverCase(probe, opts.receiver as string, { dir, timeoutMs: opts.timeoutMs ?? 10_000, ...(opts.env ? { env: opts.env } : {}) });
    return new Set(run.capabilities);
  } catch {
    return new Set();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Whether the run should fail the process: a core case or a byte vector
 * failed; with an expectations file, any result it did not predict (an
 * unexpected failure at any level, or an unexpected pass).
 */
export function coreFailed(results: readonly CaseResult[]): boolean {
  return results.some(
    (r) => ((r.level === 'core' || r.level === 'vectors') && (r.status === 'fail' || r.status === 'unexpected-fail')) || r.status === 'unexpected-fail' || r.status === 'unexpected-pass',
  );
}
