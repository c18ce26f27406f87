/**
 * The update hook (`update_hook`): a program run after a push moved refs,
 * as the Python ostree-receive runs it.
 *
 *   command line        the configured string, run by /bin/sh -c (so the
 *                       Python receiver's `program arg …` lines work unchanged;
 *                       it splits them into words itself and runs no shell)
 *   OSTREE_RECEIVE_REPO the repository's absolute path
 *   OSTREE_RECEIVE_REFS the refs updated, names only, space-separated — what
 *                       the Python receiver sets, so existing hooks keep working
 *   OSTREE_RECEIVE_UPDATES  the same refs as `ref:from:to` (64-hex checksums,
 *                       64 zeros for "absent"), space-separated; ours only
 *   stdin / stdout      /dev/null / forwarded to our stderr (stdout carries the
 *                       protocol and must never receive a byte from the hook)
 *
 * It runs after the refs moved, instead of the summary update (as in 1.x,
 * and only when `update` is on: engine.ts), outside the repository lock, in its own process group so a timeout (default 10 min)
 * kills everything it started. Its failure cannot undo or corrupt the
 * publication: it is returned as POLICY_HOOK_FAILED for the caller to report
 * (the receiver logs it and the session still counts as published; 1.x
 * exits non-zero instead, with the refs moved all the same).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { PolicyError } from './errors.js';

export const DEFAULT_HOOK_TIMEOUT_MS = 10 * 60 * 1000;

export interface HookUpdate {
  ref: string;
  from: string;
  to: string;
}

export interface HookOptions {
  repoPath: string;
  updates: readonly HookUpdate[];
  timeoutMs?: number;
  /** Where the hook's output goes; default our stderr. */
  output?: (chunk: Uint8Array) => void;
  env?: NodeJS.ProcessEnv;
}

export interface HookOutcome {
  ok: boolean;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  error?: PolicyError;
}

export function hookEnvironment(opts: HookOptions): Record<string, string> {
  return {
    OSTREE_RECEIVE_REPO: resolve(opts.repoPath),
    OSTREE_RECEIVE_REFS: opts.updates.map((u) => u.ref).join(' '),
    OSTREE_RECEIVE_UPDATES: opts.updates.map((u) => `${u.ref}:${u.from}:${u.to}`).join(' '),
  };
}

export function runUpdateHook(hook: string, opts: HookOptions): Promise<HookOutcome> {
  const output = opts.output ?? ((c: Uint8Array) => process.stderr.write(c));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  const failed = (why: string, exitCode: number | null, signal: NodeJS.Signals | null, cause?: unknown): HookOutcome => ({
    ok: false,
    exitCode,
    signal,
    error: new PolicyError('POLICY_HOOK_FAILED', `update_hook '${hook}' ${why}; the refs were already published and stay so`, { hook, exitCode, signal }, cause === undefined ? undefined : { cause }),
  });
  return new Promise((done) => {
    const child = spawn('/bin/sh', ['-c', hook], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...(opts.env ?? process.env), ...hookEnvironment(opts) },
      detached: true, // its own process group: a timeout kills its children too
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, timeoutMs);
    child.stdout.on('data', output);
    child.stderr.on('data', output);
    child.on('error', (e) => {
      clearTimeout(timer);
      done(failed(`could not be started: ${e.message}`, null, null, e));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) done(failed(`timed out after ${timeoutMs} ms and was killed`, code, signal));
      else if (code === 0) done({ ok: true, exitCode: 0, signal: null });
      else if (code === 127) done(failed('was not found or could not be run (status 127)', code, signal));
      else done(failed(signal !== null ? `was killed by ${signal}` : `exited with status ${String(code)}`, code, signal));
    });
  });
}
