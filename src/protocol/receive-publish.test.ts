import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitTree, initArchiveRepo, type DirNode } from '../repo/builder.js';
import { objectRelPath, type ObjectName } from '../repo/object-names.js';
import { publicationLevels } from '../repo/publish-levels.js';
import { Staging, type PublishOptions } from '../repo/staging.js';
import { closure } from '../repo/traverse.js';
import { ZERO_CHECKSUM } from '../wire/constants.js';
import { publishUpdate } from './receive-publish.js';

let root = '';
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'receive-publish-'));
});
test.after(() => rm(root, { recursive: true, force: true }));

test('publishUpdate: the walk gives publish the level of every staged dirtree, the levels a read of each would give (none is read twice)', async () => {
  const src = initArchiveRepo(join(root, 'src'));
  let node: DirNode = { type: 'dir', children: { f: { type: 'file', content: 'leaf' } } };
  for (let i = 0; i < 4; i++) node = { type: 'dir', children: { d: node, e: { type: 'dir', children: {} }, [`g${i}`]: { type: 'file', content: String(i) } } };
  const c = await commitTree(src, { tree: node, timestamp: 0, fsync: false });
  const dest = initArchiveRepo(join(root, 'dest'));
  const staging = Staging.create(dest);
  try {
    const objects: ObjectName[] = [];
    for await (const o of closure(src.path, c.commit)) objects.push(o);
    for (const o of objects) await staging.stageVerified(o.checksum, o.type, [await readFile(join(src.path, objectRelPath(o.checksum, o.type)))]);
    await staging.settle();
    let given: { order: readonly ObjectName[]; options: PublishOptions } | undefined;
    const publish = staging.publish.bind(staging);
    staging.publish = (order, options = {}) => {
      given = { order: [...order], options };
      return publish(order, options);
    };
    await publishUpdate(dest, staging, [{ ref: 'main', from: ZERO_CHECKSUM, to: c.commit }], { allowForce: false, canSignSummary: false });
    assert.ok(given !== undefined);
    const dirtrees = objects.filter((o) => o.type === 'dirtree');
    assert.deepEqual([...(given.options.dirtreeLevels?.keys() ?? [])].sort(), dirtrees.map((o) => o.checksum).sort());
    // What publish-levels.ts computes by reading each object.
    const read = (o: ObjectName): Uint8Array => readFileSync(join(src.path, objectRelPath(o.checksum, o.type)));
    const byReading = publicationLevels(given.order, read);
    for (const [checksum, level] of given.options.dirtreeLevels ?? []) {
      assert.equal(level, byReading.findIndex((l) => [...l].some((o) => o.type === 'dirtree' && o.checksum === checksum)), `level of dirtree ${checksum}`);
    }
  } finally {
    staging.dispose();
  }
});
