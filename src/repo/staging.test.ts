import { createHook } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Repo } from './repo.js';
import { MAX_PENDING_WRITES, Staging } from './staging.js';

const scratch = mkdtempSync(join(tmpdir(), 'staging-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;
const fresh = (): Repo => Repo.init(join(scratch, `r${n++}`));
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const DIRMETA = Buffer.from('0000000000000000000041ed', 'hex');
const EMPTY_TREE = Buffer.from('00', 'hex');

async function stage(s: Staging, bytes: Uint8Array, type: 'dirmeta' | 'dirtree'): Promise<string> {
  const c = sha(bytes);
  const sink = await s.writeObject(c, type);
  await sink.write(bytes.subarray(0, 1));
  await sink.write(bytes.subarray(1));
  await sink.commit();
  return c;
}

test('stage, publish child-first, dispose', async () => {
  const repo = fresh();
  const s = Staging.create(repo);
  assert.match(s.dir, /\/tmp\/push-staging-\d+-[0-9a-f]+$/);
  const meta = await stage(s, DIRMETA, 'dirmeta');
  // The two chunks written land as one file under the name given, in the leaf layout (XX/rest.ext).
  assert.equal(s.pathOf(meta, 'dirmeta'), join(s.dir, meta.slice(0, 2), `${meta.slice(2)}.dirmeta`));
  assert.deepEqual(readFileSync(join(s.dir, meta.slice(0, 2), `${meta.slice(2)}.dirmeta`)), DIRMETA);
  const tree = await stage(s, EMPTY_TREE, 'dirtree');
  assert.deepEqual(readFileSync(join(s.dir, 'm', tree.slice(0, 2), `${tree.slice(2)}.dirtree`)), EMPTY_TREE, 'parents in m/XX/');
  assert.equal(s.has(meta, 'dirmeta'), true);
  assert.equal(await repo.objects.has(meta, 'dirmeta'), false, 'nothing visible before publish');
  // In no particular order (the set is a hash table).
  assert.deepEqual(new Set(s.list().map((o) => `${o.checksum}.${o.type}`)), new Set([`${meta}.dirmeta`, `${tree}.dirtree`]));
  assert.equal(s.size, 2);
  assert.deepEqual(s.listOfType('dirtree'), [{ checksum: tree, type: 'dirtree' }]);
  await assert.rejects(s.writeObject(meta, 'dirmeta'), { code: 'REPO_STAGING' });
  await assert.rejects(s.writeObject('../../x'.padEnd(64, 'a'), 'dirmeta'), { code: 'REPO_BAD_OBJECT_NAME' });
  assert.throws(() => s.publish([{ checksum: 'f'.repeat(64), type: 'commit' }]), { code: 'REPO_STAGING' });
  // The store already holds the dirtree (different bytes even): never overwritten, staged copy dropped.
  const held = Buffer.from('held by the store');
  mkdirSync(repo.resolve('objects', tree.slice(0, 2)));
  writeFileSync(repo.resolve('objects', tree.slice(0, 2), `${tree.slice(2)}.dirtree`), held);
  const r = s.publish([{ checksum: meta, type: 'dirmeta' }, { checksum: tree, type: 'dirtree' }]);
  assert.deepEqual(r, { published: 1, alreadyPresent: 1 });
  assert.deepEqual(readFileSync(repo.resolve('objects', tree.slice(0, 2), `${tree.slice(2)}.dirtree`)), held);
  assert.deepEqual(readFileSync(repo.resolve('objects', meta.slice(0, 2), `${meta.slice(2)}.dirmeta`)), DIRMETA);
  s.dispose();
  s.dispose();
  assert.equal(existsSync(s.dir), false);
  assert.throws(() => s.publish([]), { code: 'REPO_STAGING' });
});

test('makeDurable covers the objects committed before it; a later commit needs a new sync', async () => {
  const repo = fresh();
  const s = Staging.create(repo);
  const meta = await stage(s, DIRMETA, 'dirmeta');
  assert.equal(s.durable, false);
  await s.makeDurable();
  assert.equal(s.durable, true, 'sync -f ran (coreutils is a test dependency)');
  const syncing = s.makeDurable();
  const tree = await stage(s, EMPTY_TREE, 'dirtree');
  await syncing;
  assert.equal(s.durable, false, 'the dirtree was committed after that sync began');
  assert.deepEqual(s.publish([{ checksum: meta, type: 'dirmeta' }, { checksum: tree, type: 'dirtree' }]), { published: 2, alreadyPresent: 0 });
  s.dispose();
});

test('stageVerified writes in the background: staged at once, complete after settle, failures reported', async () => {
  const repo = fresh();
  const s = Staging.create(repo);
  const objects = Array.from({ length: MAX_PENDING_WRITES * 2 + 3 }, (_, i) => {
    const parts = [Buffer.from(`part one of ${i} `), Buffer.alloc(i * 7, i & 0xff), Buffer.from(' end')];
    return { checksum: sha(Buffer.concat(parts)), parts };
  });
  for (const o of objects) {
    await s.stageVerified(o.checksum, 'file', o.parts);
    assert.equal(s.has(o.checksum, 'file'), true);
  }
  await assert.rejects(s.stageVerified(objects[0]!.checksum, 'file', objects[0]!.parts), { code: 'REPO_STAGING' });
  const all = objects.map((o) => ({ checksum: o.checksum, type: 'file' as const }));
  assert.throws(() => s.publish(all), { code: 'REPO_STAGING', message: /settled/ });
  await s.settle();
  for (const o of objects) assert.deepEqual(readFileSync(s.pathOf(o.checksum, 'file')), Buffer.concat(o.parts));
  assert.deepEqual(s.publish(all), { published: objects.length, alreadyPresent: 0 });
  // A failed write (the name is taken: O_EXCL) is reported by settle, by the next stage, and refuses publication.
  const c = 'b'.repeat(64);
  mkdirSync(join(s.dir, 'bb'), { recursive: true });
  writeFileSync(join(s.dir, 'bb', `${'b'.repeat(62)}.filez`), 'squatter');
  await s.stageVerified(c, 'file', [Buffer.from('x')]);
  await assert.rejects(s.settle(), { code: 'REPO_STAGING', message: /writing a staged object failed/ });
  await assert.rejects(s.stageVerified('c'.repeat(64), 'file', [Buffer.from('y')]), { code: 'REPO_STAGING' });
  assert.throws(() => s.publish([{ checksum: c, type: 'file' }]), { code: 'REPO_STAGING' });
  s.dispose();
});

test('stageVerified makes one thread-pool request per object (the create); the write and close follow on this thread', async () => {
  const repo = fresh();
  const s = Staging.create(repo);
  let requests = 0;
  // Every asynchronous fs call is one FSREQCALLBACK: a hop to a pool thread and back, about ten system calls of hand-off.
  const hook = createHook({
    init(_id, type) {
      if (type === 'FSREQCALLBACK') requests++;
    },
  }).enable();
  const objects = Array.from({ length: 20 }, (_, i) => [Buffer.from(`object ${i} `), Buffer.alloc(3000 + i, i)]);
  try {
    for (const parts of objects) await s.stageVerified(sha(Buffer.concat(parts)), 'file', parts);
    await s.settle();
  } finally {
    hook.disable();
  }
  assert.equal(requests, objects.length);
  for (const parts of objects) assert.deepEqual(readFileSync(s.pathOf(sha(Buffer.concat(parts)), 'file')), Buffer.concat(parts));
  s.dispose();
});

test('a staging disposed with background writes pending is gone once they end', async () => {
  const repo = fresh();
  for (let round = 0; round < 5; round++) {
    const s = Staging.create(repo);
    for (let i = 0; i < 30; i++) await s.stageVerified(sha(Buffer.from([round, i])), 'file', [Buffer.alloc(50_000, i)]);
    s.dispose();
    await s.settle().catch(() => undefined);
    assert.equal(existsSync(s.dir), false, `round ${round}`);
  }
});

test('makeDurable waits for the background writes it must cover', async () => {
  const repo = fresh();
  const s = Staging.create(repo);
  await s.stageVerified(sha(Buffer.from('x')), 'file', [Buffer.from('x')]);
  await s.makeDurable();
  assert.equal(s.durable, true);
  assert.deepEqual(readFileSync(s.pathOf(sha(Buffer.from('x')), 'file')), Buffer.from('x'));
  s.dispose();
});

test('publish moves a leaf directory whole when objects/XX/ is absent, drops unreferenced leaves, links the rest', async () => {
  const repo = fresh();
  const s = Staging.create(repo);
  // Four file objects under 'aa', one under 'bb' whose objects/bb/ already exists, one never published.
  const files = [0, 1, 2, 3].map((i) => ({ checksum: `aa${String(i).repeat(62)}`, bytes: Buffer.from(`file ${i}`) }));
  const other = { checksum: `bb${'5'.repeat(62)}`, bytes: Buffer.from('other') };
  const unreferenced = { checksum: `aa${'9'.repeat(62)}`, bytes: Buffer.from('nobody wants me') };
  for (const f of [...files, other, unreferenced]) await s.stageVerified(f.checksum, 'file', [f.bytes]);
  await s.settle();
  const tree = await stage(s, EMPTY_TREE, 'dirtree');
  assert.equal(s.pathOf(tree, 'dirtree'), join(s.dir, 'm', tree.slice(0, 2), `${tree.slice(2)}.dirtree`), 'parents are staged apart');
  mkdirSync(repo.resolve('objects', 'bb'));
  const order = [...files, other].map((f) => ({ checksum: f.checksum, type: 'file' as const }));
  const steps: string[] = [];
  const r = s.publish([...order, { checksum: tree, type: 'dirtree' }], { onStep: (_k, o) => steps.push(o.checksum) });
  assert.deepEqual(r, { published: 6, alreadyPresent: 0 });
  assert.equal(steps.at(-1), tree, 'the parent comes last');
  assert.deepEqual(readdirSync(repo.resolve('objects', 'aa')).sort(), files.map((f) => `${f.checksum.slice(2)}.filez`).sort(), 'moved whole, without the unreferenced leaf');
  for (const f of [...files, other]) assert.deepEqual(readFileSync(repo.resolve('objects', f.checksum.slice(0, 2), `${f.checksum.slice(2)}.filez`)), f.bytes);
  assert.equal(existsSync(join(s.dir, 'aa')), false);
  assert.deepEqual(readdirSync(join(s.dir, 'bb')), [], 'linked one by one into the existing objects/bb/');
  s.dispose();
});

test('abort removes the partial file; an unknown type is refused', async () => {
  const repo = fresh();
  const s = Staging.create(repo);
  const sink = await s.writeObject('a'.repeat(64), 'file');
  await sink.write(new Uint8Array([1, 2, 3]));
  // Written under its final staging name, yet not staged until committed.
  assert.deepEqual(readFileSync(join(s.dir, 'aa', `${'a'.repeat(62)}.filez`)), Buffer.from([1, 2, 3]));
  assert.equal(s.has('a'.repeat(64), 'file'), false);
  assert.deepEqual(s.list(), []);
  assert.throws(() => s.publish([{ checksum: 'a'.repeat(64), type: 'file' }]), { code: 'REPO_STAGING' });
  await sink.abort();
  assert.deepEqual(readdirSync(s.dir).sort(), ['aa', 'owner.json']);
  assert.deepEqual(readdirSync(join(s.dir, 'aa')), [], 'the partial file is gone');
  assert.equal(s.has('a'.repeat(64), 'file'), false);
  // Aborted, the name can be written again.
  const again = await s.writeObject('a'.repeat(64), 'file');
  await again.abort();
  await assert.rejects(s.writeObject('a'.repeat(64), '../x' as never), { code: 'REPO_BAD_OBJECT_NAME' });
  s.dispose();
});

test('a staging dir is removed when its process is stopped by SIGTERM', async () => {
  const repo = fresh();
  const script = `
    import { Repo } from './src/repo/repo.ts';
    import { Staging } from './src/repo/staging.ts';
    const s = Staging.create(Repo.open(${JSON.stringify(repo.path)}));
    process.stdout.write(s.dir + '\\n');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '..', '..') });
  const dir = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
  assert.ok(existsSync(dir));
  child.kill('SIGTERM');
  const [, signal] = (await new Promise((r) => child.on('exit', (...a) => r(a)))) as [number | null, string | null];
  assert.equal(signal, 'SIGTERM', 'the process still dies of the signal');
  assert.equal(existsSync(dir), false);
});

test('a name in objects/ that is not a regular file is not taken as the object: publication stops before the parents', async () => {
  const repo = fresh();
  const s = Staging.create(repo);
  const meta = await stage(s, DIRMETA, 'dirmeta');
  const tree = await stage(s, EMPTY_TREE, 'dirtree');
  // A directory where the dirmeta's file goes (something else's debris, or a blocker): linking onto it fails with EEXIST.
  mkdirSync(repo.resolve('objects', meta.slice(0, 2), `${meta.slice(2)}.dirmeta`, 'blocker'), { recursive: true });
  assert.throws(() => s.publish([{ checksum: meta, type: 'dirmeta' }, { checksum: tree, type: 'dirtree' }]), { code: 'REPO_CORRUPT_OBJECT' });
  assert.equal(existsSync(repo.resolve('objects', tree.slice(0, 2), `${tree.slice(2)}.dirtree`)), false, 'the parent level was never reached');
  s.dispose();
});
