/**
 * The receiver refuses a ref whose new commit is bound elsewhere
 * (receive-bindings.ts), before anything is published; the oracle is a real
 * `ostree pull` over http, which gets a bound commit on its right ref.
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Variant } from '../gvariant/index.js';
import { commitTree } from '../repo/builder.js';
import { COLLECTION_BINDING_KEY } from '../repo/bindings.js';
import { listRefs, ZERO_CHECKSUM } from '../repo/refs.js';
import { Repo } from '../repo/repo.js';
import { serveDirectory } from '../../testkit/http-server.js';
import { ostreeFsck, ostreePullHttp, runOstree } from '../../testkit/ostree.js';
import { tmpDir } from '../../testkit/tmp.js';
import { needTools } from '../../testkit/tools.js';
import { makeFixture, snapshot, stagingLeft, tree, type Fixture } from '../../testkit/receive-fixtures.js';
import type { ReceiverPolicy } from './receiver.js';
import { closureObjects, objectBytes, runSession } from '../../testkit/scripted-pusher.js';

const STABLE = 'os/x86_64/stable';
const BETA = 'os/x86_64/beta';

/** UPDATE ref → to, then `to`'s closure until a refusal, then DONE. */
async function push(f: Fixture, dest: Repo, ref: string, to: string, policy: ReceiverPolicy = {}) {
  let update: boolean | undefined;
  const objects: Array<[string, boolean]> = [];
  const { result } = await runSession({ repo: dest, policy }, async (p) => {
    await p.info();
    update = (await p.update({ [ref]: { from: listRefs(dest).get(ref) ?? ZERO_CHECKSUM, to } }))?.result;
    if (update === true) {
      for (const o of await closureObjects(f.src, to)) {
        const st = await p.put(o.name, objectBytes(f.src, o));
        objects.push([o.name, st?.result === true]);
        if (st?.result !== true) break;
      }
    }
    await p.done();
  });
  return { result, update, objects };
}

test('receiver: a commit bound to another ref is refused at its PUTOBJECT, or at UPDATE when stored; nothing is published', async (t) => {
  const f = await makeFixture(t);
  const bound = (await commitTree(f.src, { tree: tree('bound'), timestamp: 1_700_000_010, subject: 'bound', branch: STABLE })).commit;
  const before = snapshot(f);

  const sent = await push(f, f.dest, BETA, bound);
  assert.equal(sent.update, true, 'the commit is not here yet at UPDATE');
  assert.deepEqual(sent.objects.at(-1), [`${bound}.commit`, false], 'refused at the commit (sent last, after its tree)');
  assert.ok(sent.objects.slice(0, -1).every(([, ok]) => ok));
  assert.equal(sent.result.outcome, 'refused');
  assert.equal(sent.result.error?.code, 'PROTOCOL_REF_BINDING');
  assert.deepEqual(sent.result.error?.data, { ref: BETA, commit: bound, kind: 'ref', bound: [STABLE], wanted: BETA });
  assert.match(sent.result.error?.message ?? '', /os\/x86_64\/stable/, 'names the binding');
  assert.deepEqual(snapshot(f), before, 'nothing published, nothing left');

  assert.equal((await push(f, f.dest, STABLE, bound)).result.outcome, 'published', 'its own ref is fine');
  const stored = await push(f, f.dest, BETA, bound);
  assert.equal(stored.update, false, 'a stored commit is judged at UPDATE');
  assert.equal(stored.result.error?.code, 'PROTOCOL_REF_BINDING');
  assert.deepEqual(listRefs(f.dest), new Map([[STABLE, bound]]));

  const off = await push(f, f.dest, BETA, bound, { verifyBindings: false });
  assert.equal(off.result.outcome, 'published', 'verifyBindings: false lets it through');
  assert.deepEqual(stagingLeft(f.dest), []);
});

test('receiver: a collection binding must name the repository collection id when it has one', async (t) => {
  const f = await makeFixture(t);
  const commitFor = async (collection: string, ts: number) =>
    (await commitTree(f.src, { tree: tree(collection), timestamp: ts, subject: collection, branch: `os/${ts}`, bindings: false, metadata: new Map([[COLLECTION_BINDING_KEY, new Variant('s', collection)]]) })).commit;
  const other = await commitFor('org.example.Other', 1_700_000_011);
  const mine = await commitFor('org.example.Mine', 1_700_000_012);
  // Without a collection id nothing is checked.
  const noId = await push(f, f.dest, 'os/a', other);
  assert.equal(noId.result.outcome, 'published', noId.result.error?.message);

  appendFileSync(f.dest.resolve('config'), 'collection-id=org.example.Mine\n');
  const dest = Repo.open(f.dest.path);
  const refused = await push(f, dest, 'os/b', other);
  assert.equal(refused.update, false);
  assert.equal(refused.result.error?.code, 'PROTOCOL_REF_BINDING');
  assert.deepEqual(refused.result.error?.data, { ref: 'os/b', commit: other, kind: 'collection', bound: ['org.example.Other'], wanted: 'org.example.Mine' });
  const ok = await push(f, dest, 'os/b', mine);
  assert.equal(ok.result.outcome, 'published', ok.result.error?.message);
  assert.deepEqual(listRefs(dest), new Map([['os/a', other], ['os/b', mine]]));
});

test('receiver: oracle: ostree pull over http gets a bound commit pushed to its own ref', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const f = await makeFixture(t);
  const bound = (await commitTree(f.src, { tree: tree('bound'), timestamp: 1_700_000_010, subject: 'bound', branch: STABLE })).commit;
  assert.equal((await push(f, f.dest, STABLE, bound, { alwaysWriteSummary: true })).result.outcome, 'published');
  assert.equal((await push(f, f.dest, BETA, bound)).result.error?.code, 'PROTOCOL_REF_BINDING');
  const fsck = await ostreeFsck(f.dest.path);
  assert.ok(fsck.ok, fsck.stderr);
  const server = await serveDirectory(f.dest.path, t);
  const client = join(tmpDir(t, 'client'), 'repo');
  assert.equal(await ostreePullHttp(client, server.url, STABLE), bound, 'ostree pull verifies the binding and accepts it');
  // What the check prevents: published anyway, the ref cannot be pulled.
  assert.equal((await push(f, f.dest, BETA, bound, { verifyBindings: false, alwaysWriteSummary: true })).result.outcome, 'published');
  const pull = await runOstree(['pull', `--repo=${client}`, 'origin', BETA], { timeout: 60_000 });
  assert.equal(pull.ok, false, 'ostree pull refuses the mis-bound ref');
  assert.match(pull.stderr, /ref binding/);
});
