/**
 * The checks on what a session left behind, shared by receiver and pusher
 * cases: exit status class, every ref of the destination, objects present
 * and absent, no staging left under tmp/, and `ostree fsck` when ostree is
 * installed.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { hasTool } from '../src/testkit/tools.js';
import type { Expect, ExitClass } from './case.js';
import { destRefs, hasObject, type BuiltFixture } from './fixture.js';
import { CaseFailure } from './process.js';

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

/** Refs, objects, tmp/ and fsck; `tmpBefore` is tmp/'s listing before the session. */
export async function checkDestination(fx: BuiltFixture, expect: Expect, tmpBefore: Set<string>, destIsArchive: boolean): Promise<void> {
  if (expect.refs !== undefined) {
    const want: Record<string, string> = {};
    for (const [k, v] of Object.entries(expect.refs)) want[k] = fx.rev(v);
    const got = destRefs(fx.dest);
    const names = [...new Set([...Object.keys(want), ...Object.keys(got)])].sort();
    const diffs = names.filter((n) => want[n] !== got[n]).map((n) => `${n}: ${short(got[n])} (expected ${short(want[n])})`);
    if (diffs.length > 0) throw new CaseFailure(`destination refs differ: ${diffs.join(', ')}`);
  }
  for (const sel of expect.present ?? []) {
    for (const o of await fx.objects(sel)) {
      if (!hasObject(fx.dest, o)) throw new CaseFailure(`object ${o.checksum.slice(0, 12)}….${o.type} (${sel}) is missing from the destination`);
    }
  }
  for (const sel of expect.absent ?? []) {
    for (const o of await fx.objects(sel)) {
      if (hasObject(fx.dest, o)) throw new CaseFailure(`object ${o.checksum.slice(0, 12)}….${o.type} (${sel}) is visible in the destination; it must not be`);
    }
  }
  if (expect.clean ?? true) {
    const left = [...tmpEntries(fx.dest)].filter((n) => !tmpBefore.has(n) && !allowedInTmp(n));
    if (left.length > 0) throw new CaseFailure(`left behind under tmp/: ${left.join(', ')}`);
  }
  if ((expect.fsck ?? true) && destIsArchive && hasTool('ostree')) {
    const r = await fsck(fx.dest);
    if (!r.ok) throw new CaseFailure(`ostree fsck fails on the destination: ${r.out}`);
  }
}

function short(c: string | undefined): string {
  if (c === undefined) return 'absent';
  return /^[0-9a-f]{64}$/.test(c) ? `${c.slice(0, 12)}…` : JSON.stringify(c);
}
