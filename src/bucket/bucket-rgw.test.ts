/**
 * The bucket repository against a real store: Ceph's RADOS Gateway, started
 * once for this file (testkit/rgw.ts), each test in its own bucket.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { join, sep } from 'node:path';
import { test } from 'node:test';
import { PutBucketPolicyCommand, type S3Client } from '@aws-sdk/client-s3';
import { bucketKeys as keys, dropConditions, pushThroughGateway as push, rgwForFile, type Rgw } from '../../testkit/rgw.js';
import { tmpDir } from '../../testkit/tmp.js';
import { needTools } from '../../testkit/tools.js';
import { makeGpgKey } from '../../testkit/test-keys.js';
import { ostreeFsck, ostreePullHttp } from '../../testkit/ostree.js';
import { commitTree, initArchiveRepo, type TreeNode } from '../repo/builder.js';
import { decodeCommit, decodeDirtree } from '../repo/metadata.js';
import { ArchiveObjectStore } from '../repo/object-store.js';
import { objectBasename, objectRelPath, type ObjectName, type ObjectType } from '../repo/object-names.js';
import { difference } from '../repo/traverse.js';
import { ScriptedPusher } from '../../testkit/scripted-pusher.js';
import { ZERO_CHECKSUM } from '../repo/ref-names.js';
import { summarySignature } from '../policy/summary-signature.js';
import { ARCHIVE_CONFIG, BucketRepo } from './bucket-repo.js';
import { publishToBucket, type StagedObjects } from './bucket-publish.js';
import { BUCKET_JOURNAL_REL, updateBucketRefs } from './bucket-refs.js';
import { receiveIntoBucket } from './bucket-receive.js';

const gateway = rgwForFile();

/** A repository's objects as a staging directory, less those in `skip` (checksum.type). */
async function stagedFrom(repo: string, skip: ReadonlySet<string> = new Set()): Promise<Omit<StagedObjects, 'list'> & { all: Set<string>; list(): ObjectName[] }> {
  const all = new Set<string>();
  for await (const o of new ArchiveObjectStore(repo).list()) all.add(`${o.checksum}.${o.type}`);
  const staged = new Set([...all].filter((k) => !skip.has(k)));
  return {
    all,
    has: (checksum: string, type: ObjectType) => staged.has(`${checksum}.${type}`),
    pathOf: (checksum: string, type: ObjectType) => join(repo, objectRelPath(checksum, type)),
    list: () => [...staged].map((k) => ({ checksum: k.slice(0, 64), type: k.slice(65) as ObjectType })),
  };
}

/** Every PUT through `client`: when it started and when it finished, in one sequence. */
function recordPuts(client: S3Client): { started: Map<string, number>; done: Map<string, number>; notStreamed: Set<string> } {
  let seq = 0;
  const started = new Map<string, number>();
  const done = new Map<string, number>();
  // Objects whose body was not a stream reading at most 64 KiB at a time.
  const notStreamed = new Set<string>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const key = (args.input as { Key?: string }).Key;
      if (context.commandName !== 'PutObjectCommand' || key === undefined) return next(args);
      const body = (args.input as { Body?: unknown }).Body;
      if (key.includes('/objects/') && !(body instanceof Readable && body.readableHighWaterMark <= 64 << 10)) notStreamed.add(key);
      started.set(key, seq++);
      const out = await next(args);
      done.set(key, seq++);
      return out;
    },
    { step: 'initialize', name: 'recordPuts' },
  );
  return { started, done, notStreamed };
}

/** The children of a local archive object (dirtree, commit), as bucket-relative paths. */
function childrenOf(repo: string, o: ObjectName): string[] {
  const bytes = readFileSync(join(repo, objectRelPath(o.checksum, o.type)));
  if (o.type === 'dirtree') {
    const t = decodeDirtree(bytes);
    return [...t.files.map((f) => objectRelPath(f.checksum, 'file')), ...t.dirs.flatMap((d) => [objectRelPath(d.dirtree, 'dirtree'), objectRelPath(d.dirmeta, 'dirmeta')])];
  }
  if (o.type === 'commit') {
    const c = decodeCommit(bytes);
    return [objectRelPath(c.rootDirtree, 'dirtree'), objectRelPath(c.rootDirmeta, 'dirmeta')];
  }
  return [];
}

const tree = (n: number) => ({
  type: 'dir' as const,
  children: {
    etc: { type: 'dir' as const, children: { 'os-release': { type: 'file' as const, content: `VERSION=${n}\n` } } },
    usr: {
      type: 'dir' as const,
      children: {
        bin: { type: 'dir' as const, children: { tool: { type: 'file' as const, content: `tool ${n}`, mode: 0o755 } } },
        share: { type: 'dir' as const, children: { 'fixed.txt': { type: 'file' as const, content: 'same in every commit' } } as Record<string, TreeNode> },
      },
    },
  },
});

/** Anyone may read the bucket (objects, and listing, so that a missing key is a 404 rather than a 403). */
async function publicRead(client: S3Client, bucket: string): Promise<void> {
  const policy = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${bucket}/*`] },
      { Effect: 'Allow', Principal: '*', Action: ['s3:ListBucket'], Resource: [`arn:aws:s3:::${bucket}`] },
    ],
  };
  await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
}

const TSX = import.meta.resolve('tsx');
/** ostree-receive as a user runs it, with the gateway in its environment (the SDK's own chain reads it). */
function receiveCli(rgw: Rgw, conf: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  const entry = fileURLToPath(new URL('../cli/ostree-receive.ts', import.meta.url));
  const env = { ...process.env, ...rgw.env(), OSTREE_RECEIVE_CONF: conf };
  return new Promise((resolve) => {
    execFile(process.execPath, ['--no-warnings', '--import', TSX, entry, ...args], { env, timeout: 120_000 }, (err, _stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr });
    });
  });
}

async function openNew(rgw: Rgw, client = rgw.client()): Promise<{ repo: BucketRepo; bucket: string; client: S3Client }> {
  const bucket = await rgw.createBucket('repo');
  const repo = await BucketRepo.open(`s3://${bucket}/os`, { client, init: true });
  return { repo, bucket, client };
}

test('a bucket without config is refused, unless asked to initialise it: then an archive config is written', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const client = rgw.client();
  const bucket = await rgw.createBucket('init');
  await assert.rejects(BucketRepo.open(`s3://${bucket}/os`, { client }), { code: 'REPO_NOT_FOUND' });
  assert.deepEqual(await keys(client, bucket), []);
  const repo = await BucketRepo.open(`s3://${bucket}/os`, { client, init: true });
  assert.equal(Buffer.from((await repo.get('config'))?.body ?? []).toString(), ARCHIVE_CONFIG);
  // Opened again without init, and nothing but the config is left behind (the probe key is removed).
  await BucketRepo.open(`s3://${bucket}/os`, { client });
  assert.deepEqual(await keys(client, bucket), ['os/config']);
});

test('a store that ignores conditional writes is detected at open and refused', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const bucket = await rgw.createBucket('nocond');
  await BucketRepo.open(`s3://${bucket}/os`, { client: rgw.client(), init: true });
  // A path to the store that drops the condition, as a proxy or a store without support would.
  const client = dropConditions(rgw.client());
  await assert.rejects(BucketRepo.open(`s3://${bucket}/os`, { client }), { code: 'REPO_NO_CONDITIONAL_WRITES' });
  // A store that refuses conditional PUTs as not implemented (OpenStack Swift's S3 layer answers 501).
  const swiftLike = rgw.client();
  swiftLike.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { method?: string; headers?: Record<string, string> };
      if (req.method === 'PUT' && req.headers?.['if-none-match'] !== undefined) {
        throw Object.assign(new Error('Conditional object PUTs are not supported.'), { name: 'NotImplemented', $metadata: { httpStatusCode: 501 } });
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'notImplemented' },
  );
  await assert.rejects(BucketRepo.open(`s3://${bucket}/os`, { client: swiftLike }), { code: 'REPO_NO_CONDITIONAL_WRITES' });
});

test('objects go in children first, then the refs, then the summary; an incremental push sends and checks only what is new', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const src = initArchiveRepo(join(tmpDir(t, 's3src'), 'repo')).path;
  const c1 = await commitTree(src, { tree: tree(1), branch: 'os/stable', timestamp: 1_700_000_000 });
  const client = rgw.client();
  const puts = recordPuts(client);
  const { repo } = await openNew(rgw, client);
  const staged1 = await stagedFrom(src);
  const out1 = await publishToBucket(repo, staged1, [{ ref: 'os/stable', from: ZERO_CHECKSUM, to: c1.commit }], { alwaysWriteSummary: true, parallel: 4 });
  assert.equal(out1.published, staged1.all.size);
  assert.deepEqual(out1.moved.map((m) => m.ref), ['os/stable']);
  assert.ok(out1.summaryUpdated);
  assert.deepEqual(out1.warnings, []);

  const checkOrder = (objects: Iterable<string>): void => {
    for (const k of objects) {
      const o = { checksum: k.slice(0, 64), type: k.slice(65) as ObjectType };
      const parent = `os/${objectRelPath(o.checksum, o.type)}`;
      const start = puts.started.get(parent);
      assert.ok(start !== undefined, `${parent} was not written`);
      for (const child of childrenOf(src, o)) {
        const childDone = puts.done.get(`os/${child}`);
        if (childDone !== undefined) assert.ok(childDone < start, `${child} finished after ${parent} started`);
      }
      assert.ok((puts.done.get(parent) ?? Infinity) < (puts.started.get('os/refs/heads/os/stable') ?? -1), `${parent} not done before the ref`);
    }
    assert.ok((puts.done.get('os/refs/heads/os/stable') ?? Infinity) < (puts.started.get('os/summary') ?? -1), 'the summary started before the ref was written');
  };
  checkOrder(staged1.all);
  assert.deepEqual([...puts.notStreamed], [], 'every object is streamed from its file, never read whole');
  assert.equal((await repo.readRef('os/stable'))?.checksum, c1.commit);

  // Incremental: a child commit, with only its new objects staged.
  const c2 = await commitTree(src, { tree: tree(2), branch: 'os/stable', parent: c1.commit, timestamp: 1_700_000_100 });
  const staged2 = await stagedFrom(src, staged1.all);
  puts.started.clear();
  puts.done.clear();
  const reopened = await BucketRepo.open(`s3://${repo.location.bucket}/os`, { client });
  const out2 = await publishToBucket(reopened, staged2, [{ ref: 'os/stable', from: c1.commit, to: c2.commit }]);
  assert.equal(out2.published, staged2.list().length);
  assert.ok(out2.summaryUpdated, 'an existing summary is rewritten');
  const objectPuts = [...puts.started.keys()].filter((k) => k.startsWith('os/objects/'));
  assert.equal(objectPuts.length, staged2.list().length, 'only the new objects are written');
  checkOrder(staged2.list().map((o) => `${o.checksum}.${o.type}`));
  assert.equal((await reopened.readRef('os/stable'))?.checksum, c2.commit);
});

test('a commit whose closure is neither staged nor in the bucket is refused before anything is written', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const src = initArchiveRepo(join(tmpDir(t, 's3src'), 'repo')).path;
  const c1 = await commitTree(src, { tree: tree(1), timestamp: 1_700_000_000 });
  const { repo, bucket, client } = await openNew(rgw);
  const all = await stagedFrom(src);
  const aFile = [...all.all].find((k) => k.endsWith('.file')) as string;
  const staged = await stagedFrom(src, new Set([aFile]));
  const before = await keys(client, bucket);
  await assert.rejects(publishToBucket(repo, staged, [{ ref: 'main', from: ZERO_CHECKSUM, to: c1.commit }]), (e: unknown) => {
    assert.equal((e as { code?: string }).code, 'REPO_OBJECT_MISSING');
    assert.equal((e as { data: { checksum: string } }).data.checksum, aFile.slice(0, 64));
    return true;
  });
  assert.deepEqual(await keys(client, bucket), before);
});

test('a ref update loses cleanly to a concurrent writer: a clear conflict, none of its refs written', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const { repo } = await openNew(rgw);
  const [x, y, z, w] = ['1', '2', '3', '4'].map((d) => d.repeat(64)) as [string, string, string, string];
  await updateBucketRefs(repo, [{ ref: 'a', from: ZERO_CHECKSUM, to: x }, { ref: 'b', from: ZERO_CHECKSUM, to: x }]);
  let resume: () => void = () => undefined;
  let paused: () => void = () => undefined;
  const atClaim = new Promise<void>((r) => (paused = r));
  // Writer A (refs a and b) stops once it holds the journal and has checked its refs.
  const a = updateBucketRefs(repo, [{ ref: 'a', from: x, to: y }, { ref: 'b', from: x, to: y }], {
    pause: (step) => {
      if (step !== 'claimed') return;
      paused();
      return new Promise<void>((r) => (resume = r));
    },
  });
  const aResult = a.then(() => null, (e: unknown) => e as { code?: string });
  await atClaim;
  // Writer B moves ref a meanwhile, and ref b's neighbour c.
  // Writer B, whose lease is short, takes A's stalled claim over (A starts again when it resumes).
  const b = await updateBucketRefs(repo, [{ ref: 'a', from: x, to: z }, { ref: 'c', from: ZERO_CHECKSUM, to: w }], { claimLeaseMs: 100 });
  assert.equal(b.moved.length, 2);
  resume();
  assert.equal((await aResult)?.code, 'REPO_REF_CONFLICT');
  assert.equal((await repo.readRef('a'))?.checksum, z);
  assert.equal((await repo.readRef('b'))?.checksum, x, 'A wrote none of its refs');
  assert.equal((await repo.readRef('c'))?.checksum, w);
  assert.equal(Buffer.from((await repo.get(BUCKET_JOURNAL_REL))?.body ?? []).toString(), '{"state":"idle"}');
  // A stale update is refused the same way, and the journal stays idle.
  await assert.rejects(updateBucketRefs(repo, [{ ref: 'b', from: y, to: z }]), { code: 'REPO_REF_CONFLICT' });
  assert.equal((await repo.readRef('b'))?.checksum, x);
});

test('a writer killed between its journal and its refs is rolled forward by the next open', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const { repo, bucket, client } = await openNew(rgw);
  const [x, y] = ['a', 'b'].map((d) => d.repeat(64)) as [string, string];
  await updateBucketRefs(repo, [{ ref: 'os/one', from: ZERO_CHECKSUM, to: x }]);
  const crash = new Error('killed');
  for (const step of ['committed', 'refs'] as const) {
    const from = step === 'committed' ? x : y;
    const to = step === 'committed' ? y : x;
    await assert.rejects(
      updateBucketRefs(repo, [{ ref: 'os/one', from, to }, { ref: 'os/two', from: step === 'committed' ? ZERO_CHECKSUM : y, to }], {
        pause: (s) => {
          if (s === step) throw crash;
        },
      }),
      (e) => e === crash,
    );
    const journal = JSON.parse(Buffer.from((await repo.get(BUCKET_JOURNAL_REL))?.body ?? []).toString()) as { state: string };
    assert.equal(journal.state, 'committed', `after a kill at ${step}`);
    const next = await BucketRepo.open(`s3://${bucket}/os`, { client });
    assert.equal((await next.readRef('os/one'))?.checksum, to, `os/one after a kill at ${step}`);
    assert.equal((await next.readRef('os/two'))?.checksum, to, `os/two after a kill at ${step}`);
    assert.equal(Buffer.from((await next.get(BUCKET_JOURNAL_REL))?.body ?? []).toString(), '{"state":"idle"}');
  }
});

test('ostree pull over HTTP from the bucket (anonymous read) gets the pushed commits, fsck clean', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined || !needTools(t, 'ostree')) return;
  const src = initArchiveRepo(join(tmpDir(t, 's3src'), 'repo')).path;
  // One object larger than 1 MiB even deflated: streamed from its file rather than read whole.
  const big = tree(1);
  big.children.usr.children.share.children['big.bin'] = { type: 'file', content: randomBytes(3 << 19) };
  const c1 = await commitTree(src, { tree: big, branch: 'os/stable', timestamp: 1_700_000_000 });
  const { repo, bucket, client } = await openNew(rgw);
  await publicRead(client, bucket);
  const staged1 = await stagedFrom(src);
  await publishToBucket(repo, staged1, [{ ref: 'os/stable', from: ZERO_CHECKSUM, to: c1.commit }], { alwaysWriteSummary: true });
  const client1 = join(tmpDir(t, 's3pull'), 'repo');
  assert.equal(await ostreePullHttp(client1, `${rgw.endpoint}/${bucket}/os`, 'os/stable'), c1.commit);
  const c2 = await commitTree(src, { tree: tree(2), branch: 'os/stable', parent: c1.commit, timestamp: 1_700_000_100 });
  await publishToBucket(repo, await stagedFrom(src, staged1.all), [{ ref: 'os/stable', from: c1.commit, to: c2.commit }]);
  assert.equal(await ostreePullHttp(client1, `${rgw.endpoint}/${bucket}/os`, 'os/stable'), c2.commit);
  const fsck = await ostreeFsck(client1);
  assert.equal(fsck.code, 0, fsck.stderr);
});

test('ostree-push s3://BUCKET/PREFIX: refused until the bucket is initialised, then full and incremental pushes that ostree pull reads', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined || !needTools(t, 'ostree')) return;
  const dir = tmpDir(t, 's3cli');
  const src = initArchiveRepo(join(dir, 'repo')).path;
  const conf = join(dir, 'ostree-receive.conf');
  writeFileSync(conf, '{}\n');
  const c1 = await commitTree(src, { tree: tree(1), branch: 'os/stable', timestamp: 1_700_000_000 });
  const client = rgw.client();
  const bucket = await rgw.createBucket('cli');
  await publicRead(client, bucket);
  const url = `s3://${bucket}/os`;
  const refused = await push(rgw, conf, [`--repo=${src}`, url, 'os/stable']);
  assert.equal(refused.code, 1, refused.stderr);
  assert.deepEqual(await keys(client, bucket), []);
  const init = await receiveCli(rgw, conf, [`--repo=${url}`, '--init']);
  assert.equal(init.code, 0, init.stderr);
  const first = await push(rgw, conf, [`--repo=${src}`, url, 'os/stable']);
  assert.equal(first.code, 0, first.stderr);
  // The receiver's `update` default: a summary even where there was none.
  assert.ok((await keys(client, bucket)).includes('os/summary'));
  const pulled = join(tmpDir(t, 's3pull'), 'repo');
  assert.equal(await ostreePullHttp(pulled, `${rgw.endpoint}/${bucket}/os`, 'os/stable'), c1.commit);
  const c2 = await commitTree(src, { tree: tree(2), branch: 'os/stable', parent: c1.commit, timestamp: 1_700_000_100 });
  const second = await push(rgw, conf, [`--repo=${src}`, url, 'os/stable']);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(await ostreePullHttp(pulled, `${rgw.endpoint}/${bucket}/os`, 'os/stable'), c2.commit);
  const fsck = await ostreeFsck(pulled);
  assert.equal(fsck.code, 0, fsck.stderr);
});

test('ref writes failing past the commit point are a warning, not a failed update, and the next open completes them', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const { bucket } = await openNew(rgw);
  const client = rgw.client();
  let failRefs = false;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const key = (args.input as { Key?: string }).Key ?? '';
      if (failRefs && context.commandName === 'PutObjectCommand' && key.includes('/refs/heads/')) {
        throw Object.assign(new Error('injected'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } });
      }
      return next(args);
    },
    { step: 'initialize', name: 'failRefs' },
  );
  const repo = await BucketRepo.open(`s3://${bucket}/os`, { client, retry: { attempts: 2, baseDelayMs: 1 } });
  const x = 'c'.repeat(64);
  failRefs = true;
  const out = await updateBucketRefs(repo, [{ ref: 'main', from: ZERO_CHECKSUM, to: x }]);
  assert.deepEqual(out.moved.map((m) => m.ref), ['main']);
  assert.deepEqual(out.warnings.map((w) => w.code), ['REPO_BUCKET_IO']);
  assert.equal(await repo.readRef('main'), null, 'the injected failure kept the ref from being written');
  failRefs = false;
  const next = await BucketRepo.open(`s3://${bucket}/os`, { client });
  assert.equal((await next.readRef('main'))?.checksum, x);
});

test('503s on object PUTs are retried; a publication killed between two PUTs leaves only complete objects and no ref, and a retry finishes it', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const src = initArchiveRepo(join(tmpDir(t, 's3src'), 'repo')).path;
  const c1 = await commitTree(src, { tree: tree(1), branch: 'main', timestamp: 1_700_000_000 });
  const client = rgw.client();
  const failed = new Set<string>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const key = (args.input as { Key?: string }).Key ?? '';
      // Every object PUT fails once with 503 first.
      if (context.commandName === 'PutObjectCommand' && key.includes('/objects/') && !failed.has(key)) {
        failed.add(key);
        throw Object.assign(new Error('injected'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } });
      }
      return next(args);
    },
    { step: 'initialize', name: 'fail503' },
  );
  const bucket = await rgw.createBucket('kill');
  const repo = await BucketRepo.open(`s3://${bucket}/os`, { client, init: true, retry: { baseDelayMs: 1 } });
  const staged = await stagedFrom(src);
  const total = staged.all.size;
  const update = [{ ref: 'main', from: ZERO_CHECKSUM, to: c1.commit }];
  const killed = new Error('killed');
  for (const after of [1, Math.floor(total / 2), total - 1]) {
    let n = 0;
    await assert.rejects(
      publishToBucket(repo, staged, update, {
        parallel: 1,
        onPut: () => {
          if (n++ === after) throw killed;
        },
      }),
      (e) => e === killed,
    );
    // Every object in the bucket has all its children there; no ref.
    const present = new Set((await keys(client, bucket)).filter((k) => k.startsWith('os/objects/')).map((k) => k.slice('os/'.length)));
    for (const rel of present) {
      const name = rel.slice('objects/'.length).replace('/', '');
      const o = { checksum: name.slice(0, 64), type: (name.endsWith('.filez') ? 'file' : name.slice(65)) as ObjectType };
      for (const child of childrenOf(src, o)) assert.ok(present.has(child), `${rel} is in the bucket without its child ${child} (killed after ${after})`);
    }
    assert.equal(await repo.readRef('main'), null);
  }
  const done = await publishToBucket(repo, staged, update);
  assert.deepEqual(done.moved.map((m) => m.ref), ['main']);
  assert.equal(failed.size, total, 'every object PUT met one 503 and was retried');
});

test('writers racing on one ref: exactly one wins each round, the others get REPO_REF_CONFLICT, the journal ends idle', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const { bucket, client } = await openNew(rgw);
  // Each writer its own session, as separate receivers would have.
  const writers = await Promise.all([0, 1, 2, 3].map(() => BucketRepo.open(`s3://${bucket}/os`, { client })));
  let from = ZERO_CHECKSUM;
  for (let round = 0; round < 3; round++) {
    const outcomes = await Promise.all(
      writers.map((w, i) =>
        updateBucketRefs(w, [{ ref: 'race', from, to: `${round}${i}`.padEnd(64, 'f') }]).then(
          () => `${round}${i}`.padEnd(64, 'f'),
          (e: unknown) => (e as { code?: string }).code ?? String(e),
        ),
      ),
    );
    const won = outcomes.filter((o) => /^[0-9a-f]{64}$/.test(o));
    assert.equal(won.length, 1, `round ${round}: ${outcomes.join(', ')}`);
    assert.deepEqual(outcomes.filter((o) => !won.includes(o)), ['REPO_REF_CONFLICT', 'REPO_REF_CONFLICT', 'REPO_REF_CONFLICT']);
    assert.equal((await writers[0]?.readRef('race'))?.checksum, won[0]);
    from = won[0] as string;
  }
  assert.equal(Buffer.from((await writers[0]?.get(BUCKET_JOURNAL_REL))?.body ?? []).toString(), '{"state":"idle"}');
});

/** Every file under `dir` whose path has an `objects` directory in it (a repository's objects, never staging). */
function objectFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && join(e.parentPath, e.name).split(sep).includes('objects'))
    .map((e) => join(e.parentPath, e.name));
}

test('a receive into a bucket keeps no local file per object of the bucket, and GETs only the commits its checks read', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const src = initArchiveRepo(join(tmpDir(t, 's3src'), 'repo')).path;
  const c1 = await commitTree(src, { tree: tree(1), timestamp: 1_700_000_000 });
  const other = await commitTree(src, { tree: tree(7), timestamp: 1_700_000_001 });
  const { bucket, client } = await openNew(rgw);
  const repo = await BucketRepo.open(`s3://${bucket}/os`, { client });
  const first = await stagedFrom(src);
  await publishToBucket(repo, first, [
    { ref: 'main', from: ZERO_CHECKSUM, to: c1.commit },
    { ref: 'other', from: ZERO_CHECKSUM, to: other.commit },
  ]);
  const c2 = await commitTree(src, { tree: tree(2), parent: c1.commit, timestamp: 1_700_000_100 });
  const sent: ObjectName[] = [];
  for await (const o of difference(src, [c2.commit], [c1.commit])) sent.push(o);
  const gets: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const key = (args.input as { Key?: string }).Key;
      if (context.commandName === 'GetObjectCommand' && key !== undefined) gets.push(key);
      return next(args);
    },
    { step: 'initialize', name: 'recordGets' },
  );
  // The session's local files go into a directory of this test's own.
  const local = tmpDir(t, 's3local');
  const saved = process.env['TMPDIR'];
  process.env['TMPDIR'] = local;
  t.after(() => {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
  });
  let atDone: string[] | undefined;
  const p = new ScriptedPusher();
  const receiving = receiveIntoBucket({
    url: `s3://${bucket}/os`,
    bucket: { client },
    input: p.toReceiver,
    output: p.fromReceiver,
    hooks: {
      pause: (step) => {
        if (step === 'done') atDone = objectFilesUnder(local);
      },
    },
  }).finally(() => {
    p.fromReceiver.end();
    p.toReceiver.destroy();
  });
  await p.info();
  assert.equal((await p.update({ main: { from: c1.commit, to: c2.commit } }))?.result, true);
  for (const o of sent) assert.equal((await p.put(objectBasename(o.checksum, o.type), readFileSync(join(src, objectRelPath(o.checksum, o.type)))))?.result, true);
  await p.done();
  const result = await receiving;
  assert.equal(result.outcome, 'published', result.error?.message);
  assert.equal((await repo.readRef('main'))?.checksum, c2.commit);
  assert.deepEqual(atDone, [], 'every object received is in staging; none of the bucket is on local disk');
  const commitGets = gets.filter((k) => k.endsWith('.commit')).sort();
  assert.deepEqual(commitGets, [`os/${objectRelPath(c1.commit, 'commit')}`], 'the fast-forward check read the old commit, and no other');
  assert.deepEqual(readdirSync(local), [], 'nothing left behind');
  repo.close();
});

test('a receiver that signs the summary (gpg): summary.sig goes in right after summary, a signed bucket is accepted, and ostree pull verifying the summary gets each push; without a key a signed bucket is refused', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined || !needTools(t, 'ostree', 'gpg', 'gpgv')) return;
  const dir = tmpDir(t, 's3signed');
  const src = initArchiveRepo(join(dir, 'repo')).path;
  const alice = makeGpgKey(t, 'alice');
  const signing = join(dir, 'signing.conf');
  writeFileSync(signing, `${JSON.stringify({ gpg_sign: [alice.fingerprint], gpg_homedir: alice.homedir })}\n`);
  const plain = join(dir, 'plain.conf');
  writeFileSync(plain, '{}\n');
  const client = rgw.client();
  const bucket = await rgw.createBucket('signed');
  await publicRead(client, bucket);
  const url = `s3://${bucket}/os`;
  assert.equal((await receiveCli(rgw, plain, [`--repo=${url}`, '--init'])).code, 0);

  const c1 = await commitTree(src, { tree: tree(1), branch: 'os/stable', timestamp: 1_700_000_000 });
  const first = await push(rgw, signing, [`--repo=${src}`, url, 'os/stable']);
  assert.equal(first.code, 0, first.stderr);
  assert.ok((await keys(client, bucket)).includes('os/summary.sig'), 'the summary is signed');
  const pulled = join(tmpDir(t, 's3pull'), 'repo');
  // The receiver signs each new commit too: the client checks both.
  const verified = { gpg: { keyring: alice.keyring, commits: true } };
  assert.equal(await ostreePullHttp(pulled, `${rgw.endpoint}/${bucket}/os`, 'os/stable', verified), c1.commit);

  // The bucket now has a signed summary: a receiver without a key refuses it, and nothing moves.
  const c2 = await commitTree(src, { tree: tree(2), branch: 'os/stable', parent: c1.commit, timestamp: 1_700_000_100 });
  const refused = await push(rgw, plain, [`--repo=${src}`, url, 'os/stable']);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /summary\.sig/);
  const repo = await BucketRepo.open(url, { client });
  assert.equal((await repo.readRef('os/stable'))?.checksum, c1.commit);
  // One that signs accepts it, and signs the new summary.
  const second = await push(rgw, signing, [`--repo=${src}`, url, 'os/stable']);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(await ostreePullHttp(pulled, `${rgw.endpoint}/${bucket}/os`, 'os/stable', verified), c2.commit);
  const fsck = await ostreeFsck(pulled);
  assert.equal(fsck.code, 0, fsck.stderr);

  const sigBefore = (await repo.get('summary.sig'))?.body;
  // The order: summary.sig is written only once the summary it signs is in the bucket (publication alone: c3 itself is not signed).
  const puts = recordPuts(client);
  const c3 = await commitTree(src, { tree: tree(3), branch: 'os/stable', parent: c2.commit, timestamp: 1_700_000_200 });
  const staged = await stagedFrom(src);
  const out = await publishToBucket(repo, staged, [{ ref: 'os/stable', from: c2.commit, to: c3.commit }], {
    signSummary: (summary) => summarySignature(summary, { gpg: { keyIds: [alice.fingerprint], homedir: alice.homedir } }),
  });
  assert.ok(out.summaryUpdated);
  assert.deepEqual(out.warnings, []);
  assert.ok((puts.done.get('os/summary') ?? Infinity) < (puts.started.get('os/summary.sig') ?? -1), 'summary.sig started before the summary was written');
  const summaryOnly = join(tmpDir(t, 's3pull'), 'repo');
  assert.equal(await ostreePullHttp(summaryOnly, `${rgw.endpoint}/${bucket}/os`, 'os/stable', { gpg: { keyring: alice.keyring } }), c3.commit);
  // What a reader could meet between the two PUTs, the new summary beside the old signature: refused, not believed.
  await repo.put('summary.sig', Buffer.from(sigBefore ?? []));
  const between = join(tmpDir(t, 's3pull'), 'repo');
  await assert.rejects(ostreePullHttp(between, `${rgw.endpoint}/${bucket}/os`, 'os/stable', { gpg: { keyring: alice.keyring } }), /signature/i);
});

test('no level barrier: a directory is written once its own children are, before the other directories\' files', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const src = initArchiveRepo(join(tmpDir(t, 's3src'), 'repo')).path;
  const c1 = await commitTree(src, { tree: tree(1), branch: 'main', timestamp: 1_700_000_000 });
  const { repo } = await openNew(rgw);
  const started: ObjectName[] = [];
  await publishToBucket(repo, await stagedFrom(src), [{ ref: 'main', from: ZERO_CHECKSUM, to: c1.commit }], { parallel: 1, onPut: (o) => started.push(o) });
  const firstDirtree = started.findIndex((o) => o.type === 'dirtree');
  assert.ok(firstDirtree >= 0 && firstDirtree < started.map((o) => o.type).lastIndexOf('file'), `every file went before the first directory: ${started.map((o) => o.type).join(' ')}`);
});
