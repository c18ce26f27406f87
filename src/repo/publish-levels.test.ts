import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitTree, initArchiveRepo, type DirNode } from './builder.js';
import { decodeCommit, decodeDirtree } from './metadata.js';
import { objectRelPath, type ObjectName } from './object-names.js';
import { publicationLevels } from './publish-levels.js';
import { closure, objectKey } from './traverse.js';

const scratch = mkdtempSync(join(tmpdir(), 'levels-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

test('levels: children strictly below parents, leaves at 0, barriers = depth + 2', async () => {
  const repo = join(scratch, 'r');
  initArchiveRepo(repo);
  let node: DirNode = { type: 'dir', children: { f: { type: 'file', content: 'leaf' } } };
  for (let i = 0; i < 4; i++) node = { type: 'dir', children: { d: node, [`g${i}`]: { type: 'file', content: String(i) } } };
  const c = await commitTree(repo, { tree: node, timestamp: 0, fsync: false, detachedMetadata: new Map() });
  const order: ObjectName[] = [];
  for await (const o of closure(repo, c.commit)) order.push(o);
  const read = (o: ObjectName): Uint8Array => readFileSync(join(repo, objectRelPath(o.checksum, o.type)));
  const levels = publicationLevels(order, read).map((l) => [...l]);
  // 5 nested dirtrees (levels 1..5), the commit at 6, leaves at 0.
  assert.equal(levels.length, 7);
  assert.equal(levels.flat().length, order.length);
  assert.ok(levels[0]?.every((o) => o.type === 'file' || o.type === 'dirmeta' || o.type === 'commitmeta'));
  const at = new Map<string, number>();
  levels.forEach((l, i) => {
    for (const o of l) at.set(objectKey(o.checksum, o.type), i);
  });
  for (const o of order) {
    const me = at.get(objectKey(o.checksum, o.type)) as number;
    const kids: string[] = [];
    if (o.type === 'dirtree') {
      const t = decodeDirtree(read(o));
      kids.push(...t.files.map((f) => objectKey(f.checksum, 'file')), ...t.dirs.flatMap((d) => [objectKey(d.dirtree, 'dirtree'), objectKey(d.dirmeta, 'dirmeta')]));
    } else if (o.type === 'commit') {
      const k = decodeCommit(read(o));
      kids.push(objectKey(k.rootDirtree, 'dirtree'), objectKey(k.rootDirmeta, 'dirmeta'), objectKey(o.checksum, 'commitmeta'));
    }
    for (const k of kids) assert.ok((at.get(k) as number) < me, `${k} below ${o.type}`);
  }
  // Only part of the tree new (the rest in the store): the commit and root dirtree need 2 barriers.
  const part = order.filter((o) => o.type === 'commit' || o.checksum === c.dirtree);
  assert.equal(publicationLevels(part, read).length, 2);
  // A parent before its child is refused.
  assert.throws(() => publicationLevels([...order].reverse(), read), { code: 'REPO_STAGING' });
});

test('levels: a dirtree whose level the caller gives is not read, and the levels are the same', async () => {
  const repo = join(scratch, 'given');
  initArchiveRepo(repo);
  let node: DirNode = { type: 'dir', children: { f: { type: 'file', content: 'leaf' } } };
  for (let i = 0; i < 3; i++) node = { type: 'dir', children: { d: node, [`g${i}`]: { type: 'file', content: String(i) } } };
  const c = await commitTree(repo, { tree: node, timestamp: 0, fsync: false });
  const order: ObjectName[] = [];
  for await (const o of closure(repo, c.commit)) order.push(o);
  const reads: ObjectName[] = [];
  const read = (o: ObjectName): Uint8Array => {
    reads.push(o);
    return readFileSync(join(repo, objectRelPath(o.checksum, o.type)));
  };
  const levels = publicationLevels(order, read).map((l) => [...l]);
  const given = new Map<string, number>();
  levels.forEach((l, i) => {
    for (const o of l) if (o.type === 'dirtree') given.set(o.checksum, i);
  });
  reads.length = 0;
  assert.deepEqual(publicationLevels(order, read, given).map((l) => [...l]), levels);
  assert.deepEqual(reads.map((o) => o.type), ['commit']);
});
