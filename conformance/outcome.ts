/**
 * The checks on what a session left behind, shared by receiver and pusher
 * cases: exit status class, every ref of the destination, objects present
 * and absent, no staging left under tmp/ (hardened), and `ostree fsck` when
 * ostree is installed. Every failed check is reported, not only the first.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { hasTool } from '../testkit/tools.js';
import type { Expect, ExitClass, Level } from './case.js';
import { destRefs, hasObject, type BuiltFixture } from './fixture.js';
import { CaseFailure, type Problems } from './process.js';

/** What tmp/ may hold after a session besides what it held before: caches and lock files. */
function allowedInTmp(name: string): boolean {
  return name === 'cache' || name.endsWith('.lock');
}

export function tmpEntries(repo: string): Set<string> {
  try {
    return new Set(readdirSync(join(repo, 'tmp')));
  } catch {
    return new Set();
  }
}

export function checkExit(want: ExitClass | undefined, code: number | null, stderr: string): void {
  const w = want ?? 'zero';
  if (w === 'any') return;
  const ok = w === 'zero' ? code === 0 : code !== 0;
  if (!ok) throw new CaseFailure(`exit status ${code === null ? 'killed by a signal' : code}, expected ${w}${stderr ? ` (stderr: ${stderr})` : ''}`);
}

function fsck(repo: string): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile('ostree', ['fsck', `--repo=${repo}`], { timeout: 20_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      resolve({ ok: err === null, out: `${stdout}${stderr}`.trim().split('\n').slice(-3).join(' | ') });
    });
  });
}

/**
 * Refs, objects, tmp/ and fsck, each checked and every failure recorded in
 * `problems`; `tmpBefore` is tmp/'s listing before the session. Cleanup of
 * tmp/ is a hardened guarantee: `expect.clean` defaults to false for core
 * cases (version 0 says nothing of it; the 2015 receiver leaves its staging
 * directory behind after every session) and true otherwise.
 */
export async function checkDestination(fx: BuiltFixture, expect: Expect, tmpBefore: Set<string>, destIsArchive: boolean, level: Level, problems: Problems): Promise<void> {
  if (expect.refs !== undefined) {
    const want: Record<string, string> = {};
    for (const [k, v] of Object.entries(expect.refs)) want[k] = fx.rev(v);
    let got: Record<string, string> = {};
    if (
      await problems.run(() => {
        try {
          got = destRefs(fx.dest);
        } catch (e) {
          throw new CaseFailure(`destination refs cannot be read: ${(e as Error).message}`);
        }
      })
    ) {
      const names = [...new Set([...Object.keys(want), ...Object.keys(got)])].sort();
      const diffs = names.filter((n) => want[n] !== got[n]).map((n) => `${n}: ${short(got[n])} (expected ${short(want[n])})`);
      if (diffs.length > 0) problems.add(`destination refs differ: ${diffs.join(', ')}`);
    }
  }
  const missing: string[] = [];
  for (const sel of expect.present ?? []) {
    for (const o of await fx.objects(sel)) if (!hasObject(fx.dest, o)) missing.push(`${o.checksum.slice(0, 12)}….${o.type} (${sel})`);
  }
  if (missing.length > 0) problems.add(`missing from the destination: ${missing.join(', ')}`);
  const visible: string[] = [];
  for (const sel of expect.absent ?? []) {
    for (const o of await fx.objects(sel)) if (hasObject(fx.dest, o)) visible.push(`${o.checksum.slice(0, 12)}….${o.type} (${sel})`);
  }
  if (visible.length > 0) problems.add(`visible in the destination, must not be: ${visible.join(', ')}`);
  if (expect.clean ?? level !== 'core') {
    const left = [...tmpEntries(fx.dest)].filter((n) => !tmpBefore.has(n) && !allowedInTmp(n));
    if (left.length > 0) problems.add(`left behind under tmp/: ${left.join(', ')}`);
  }
  if ((expect.fsck ?? true) && destIsArchive && hasTool('ostree')) {
    const r = await fsck(fx.dest);
    if (!r.ok) problems.add(`ostree fsck fails on the destination: ${r.out}`);
  }
}

function short(c: string | undefined): string {
  if (c === undefined) return 'absent';
  return /^[0-9a-f]{64}$/.test(c) ? `${c.slice(0, 12)}…` : JSON.stringify(c);
}
