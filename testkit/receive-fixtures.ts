/**
 * Fixtures for the receiver's tests: a source repository with a small
 * history, an empty destination, and the checks every hostile-input test
 * ends with (refs unchanged, nothing written outside the repository, no
 * staging left, `ostree fsck` clean).
 */
import assert from 'node:assert/strict';
import { lstatSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { TestContext } from 'node:test';
import { Variant } from '../src/gvariant/index.js';
import { commitTree, initArchiveRepo, type DirNode, listRefs, type Repo } from '../src/repo/index.js';
import { ostreeFsck } from './ostree.js';
import { tmpDir } from './tmp.js';
import { hasTool } from './tools.js';

export interface Fixture {
  dir: string;
  src: Repo;
  dest: Repo;
  /** c1 ← c2 (fast-forward); c3 unrelated; c4 has detached metadata, parent c2. */
  c1: string;
  c2: string;
  c3: string;
  c4: string;
}

export function tree(variant: string): DirNode {
  return {
    type: 'dir',
    children: {
      'a.txt': { type: 'file', content: `alpha ${variant}\n` },
      'same.txt': { type: 'file', content: 'shared by every commit\n' },
      bin: { type: 'dir', mode: 0o755, children: { tool: { type: 'file', mode: 0o755, content: `#!/bin/sh\necho ${variant}\n` } } },
      sub: {
        type: 'dir',
        children: {
          deeper: { type: 'dir', children: { 'd.txt': { type: 'file', content: 'x'.repeat(5000) + variant } } },
          link: { type: 'symlink', target: '../a.txt' },
        },
      },
      empty: { type: 'dir', children: {} },
    },
  };
}

/**
 * c1 ← c2 ← c4 on os/main and an unrelated c3 on os/other, made without
 * ref bindings (`ostree commit --no-bindings`): the tests push them to many
 * refs, and a bound commit is refused on any ref it is not bound to.
 */
export async function makeFixture(t: TestContext): Promise<Fixture> {
  const dir = tmpDir(t, 'receiver');
  const src = initArchiveRepo(join(dir, 'src'));
  const dest = initArchiveRepo(join(dir, 'dest'));
  const c1 = (await commitTree(src, { tree: tree('one'), timestamp: 1_700_000_001, subject: 'one', branch: 'os/main', bindings: false })).commit;
  const c2 = (await commitTree(src, { tree: tree('two'), timestamp: 1_700_000_002, subject: 'two', parent: c1, branch: 'os/main', bindings: false })).commit;
  const c3 = (await commitTree(src, { tree: tree('three'), timestamp: 1_700_000_003, subject: 'unrelated', branch: 'os/other', bindings: false })).commit;
  const c4 = (
    await commitTree(src, {
      tree: tree('four'),
      timestamp: 1_700_000_004,
      subject: 'signed-ish',
      parent: c2,
      detachedMetadata: new Map([['note', new Variant('s', 'detached')]]),
    })
  ).commit;
  return { dir, src, dest, c1, c2, c3, c4 };
}

/** Every path under `dir` except the source repository, with type and size. */
export function snapshot(f: Fixture): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (p: string): void => {
    for (const name of readdirSync(p)) {
      const full = join(p, name);
      if (full === f.src.path) continue;
      // ostree's lock file: any writer creates it (empty) when it first locks, ostree's own commands too.
      if (p === f.dest.path && name === '.lock') continue;
      const st = lstatSync(full);
      const rel = relative(f.dir, full);
      if (st.isDirectory()) {
        out.set(rel, 'dir');
        walk(full);
      } else out.set(rel, `${st.isFile() ? 'file' : 'other'} ${st.size}`);
    }
  };
  walk(f.dir);
  return out;
}

export function stagingLeft(repo: Repo): string[] {
  return readdirSync(repo.resolve('tmp')).filter((n) => n.startsWith('push-staging-') || n.startsWith('ostree-push.lock'));
}

/**
 * What every refused or broken session must leave: the destination exactly
 * as before (same refs, same files, nothing beside it), and fsck clean.
 */
export async function assertUntouched(t: TestContext, f: Fixture, before: Map<string, string>, refsBefore: Map<string, string>, opts: { fsck?: boolean } = {}): Promise<void> {
  assert.deepEqual(listRefs(f.dest), refsBefore, 'refs unchanged');
  assert.deepEqual(stagingLeft(f.dest), [], 'no staging or lock left in tmp/');
  assert.deepEqual(snapshot(f), before, 'nothing written anywhere');
  if (opts.fsck !== false) await assertFsckClean(t, f);
}

/** `ostree fsck` on the destination (skipped with a note when ostree is missing, failed under CI). */
export async function assertFsckClean(t: TestContext, f: Fixture): Promise<void> {
  if (hasTool('ostree')) {
    const fsck = await ostreeFsck(f.dest.path);
    assert.ok(fsck.ok, `ostree fsck: ${fsck.stderr}`);
  } else if (process.env.CI === 'true') {
    assert.fail('CI=true and ostree is missing');
  } else {
    t.diagnostic('ostree not installed: fsck skipped');
  }
}
