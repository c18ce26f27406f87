/**
 * The receiver asks its repository's `held` objects (repo/held-objects.ts)
 * whether an object is stored and what a stored commit says, never the disk
 * under the repository's root: a destination whose objects live elsewhere
 * (a bucket) needs no local copy of them. Here the objects are held by
 * another directory, and the session's root has no object at all.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { initArchiveRepo, setRef } from '../repo/builder.js';
import type { HeldObjects } from '../repo/held-objects.js';
import { objectBasename, objectRelPath, type ObjectName, type ObjectType } from '../repo/object-names.js';
import { listRefs } from '../repo/refs.js';
import { Repo } from '../repo/repo.js';
import { closure, difference } from '../repo/traverse.js';
import type { AnswerMessage } from '../wire/messages.js';
import { makeFixture, stagingLeft } from '../../testkit/receive-fixtures.js';
import { objectBytes, runSession } from '../../testkit/scripted-pusher.js';

/** `inner`, with every question asked of it recorded. */
function recording(inner: HeldObjects): { held: HeldObjects; asked: string[]; read: string[] } {
  const asked: string[] = [];
  const read: string[] = [];
  const held: HeldObjects = {
    has: (checksum: string, type: ObjectType) => {
      asked.push(`${checksum}.${type}`);
      return inner.has(checksum, type);
    },
    read: async (checksum: string, type: ObjectType) => {
      read.push(`${checksum}.${type}`);
      return inner.read(checksum, type);
    },
    sessionLookup: () => (o: ObjectName) => held.has(o.checksum, o.type),
  };
  return { held, asked, read };
}

/** Every file under `dir`, relative. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out;
}

test('receiver: objects held elsewhere answer QUERY, "already held", the closure and the fast-forward check; the root holds only what was sent', async (t) => {
  const f = await makeFixture(t);
  // The store: c1 and its whole closure, on os/main.
  const store = initArchiveRepo(join(f.dir, 'store'));
  for await (const o of closure(f.src, f.c1)) {
    const path = store.resolve(objectRelPath(o.checksum, o.type));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, objectBytes(f.src, o));
  }
  await setRef(store, 'os/main', f.c1);
  // The session's root: config and refs, no object.
  const root = initArchiveRepo(join(f.dir, 'session'));
  await setRef(root, 'os/main', f.c1);
  const rec = recording(store.held);
  const dest = Repo.open(root.path, { held: rec.held });

  const sent: ObjectName[] = [];
  for await (const o of difference(f.src, [f.c2], [f.c1])) sent.push(o);
  // One object the store holds already: it is skipped, not staged.
  const shared = { checksum: f.c1, type: 'commit' as const };
  let answer: AnswerMessage | undefined;
  const { result } = await runSession({ repo: dest }, async (p) => {
    await p.info();
    await p.writer.send({ type: 'QUERY', objects: [objectBasename(f.c1, 'commit'), objectBasename(f.c2, 'commit')], refs: ['os/main'], extra: new Map() }, p.order);
    const r = await p.reader.next();
    if (r?.message.type === 'ANSWER') answer = r.message;
    const st = await p.update({ 'os/main': { from: f.c1, to: f.c2 } });
    assert.equal(st?.result, true, st?.message);
    for (const o of [...sent, shared]) {
      const s = await p.put(objectBasename(o.checksum, o.type), objectBytes(f.src, o));
      assert.equal(s?.result, true, s?.message);
    }
    await p.done();
  });
  assert.equal(result.outcome, 'published', result.error?.message);
  assert.deepEqual(answer?.have, [true, false], 'QUERY answered from the held objects');
  assert.deepEqual(result.objects, { received: sent.length, alreadyPresent: 1, published: sent.length, discarded: 0 });
  assert.deepEqual(listRefs(dest), new Map([['os/main', f.c2]]));
  assert.ok(rec.read.includes(`${f.c1}.commit`), 'the fast-forward check read the old commit through the held objects');
  assert.ok(rec.asked.length > 0);
  // Under the session's root: the config, the ref, and exactly the objects sent.
  const objects = filesUnder(dest.resolve('objects'));
  assert.equal(objects.length, sent.length);
  assert.deepEqual(stagingLeft(dest), []);
});
