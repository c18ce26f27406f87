/**
 * The receiver in 1.x form (pull.ts) against a static HTTP server: full and
 * incremental pulls, what it pulls and skips, and a lying or hostile server.
 * Each hostile case asserts the error code and that the destination is
 * exactly as before (refs, every file, no staging left, fsck clean).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { serveDirectory, type Intercept, type StaticServer } from '../../testkit/http-server.js';
import { assertFsckClean, assertUntouched, makeFixture, snapshot, tree, type Fixture } from '../../testkit/receive-fixtures.js';
import { commitTree, setRef } from '../repo/builder.js';
import { readFilezHeader } from '../repo/filez.js';
import { objectRelPath, type ObjectName } from '../repo/object-names.js';
import { listRefs, readRef } from '../repo/refs.js';
import { SUMMARY_TYPE, writeSummary } from '../repo/summary.js';
import { encode } from '../gvariant/index.js';
import { closure, readCommit } from '../repo/traverse.js';
import { pull, type PullOptions, type PullResult } from './pull.js';

async function objectsOf(repo: string, commit: string): Promise<ObjectName[]> {
  const out: ObjectName[] = [];
  for await (const o of closure(repo, commit)) out.push(o);
  return out;
}

/** The fixture's source (os/main at c2, os/other at c3) with a summary, served over HTTP. */
async function served(t: TestContext, intercept?: Intercept, keepAliveMs?: number): Promise<{ f: Fixture; server: StaticServer }> {
  const f = await makeFixture(t);
  await writeSummary(f.src);
  const server = await serveDirectory(f.src.path, t, { ...(intercept === undefined ? {} : { intercept }), ...(keepAliveMs === undefined ? {} : { keepAliveMs }) });
  return { f, server };
}

async function run(f: Fixture, server: StaticServer, extra: Partial<PullOptions> = {}): Promise<PullResult> {
  return pull({ repo: f.dest, url: server.url, refs: ['os/main'], ...extra });
}

function ok(r: PullResult, outcome: PullResult['outcome'] = 'published'): void {
  assert.equal(r.outcome, outcome, r.error === undefined ? undefined : `${r.error.code}: ${r.error.message}`);
}

test('pull: a full pull, then an incremental one fetching only new objects; fsck clean', async (t) => {
  const { f, server } = await served(t);
  const first = await run(f, server);
  ok(first);
  assert.equal(readRef(f.dest, 'os/main'), f.c2);
  assert.deepEqual(
    first.updated.map((u) => u.ref),
    ['os/main'],
  );
  await assertFsckClean(t, f);
  // c4 on top of c2.
  await setRef(f.src, 'os/main', f.c4);
  await writeSummary(f.src);
  server.log.length = 0;
  const second = await run(f, server);
  ok(second);
  assert.equal(readRef(f.dest, 'os/main'), f.c4);
  const had = new Set((await objectsOf(f.src.path, f.c2)).map((o) => objectRelPath(o.checksum, o.type)));
  const asked = server.log.map((l) => l.path.slice(1)).filter((p) => p.startsWith('objects/'));
  assert.ok(asked.length > 0);
  assert.deepEqual(
    asked.filter((p) => had.has(p)),
    [],
    'no object of the first pull is fetched again',
  );
  // The detached metadata of c4 came along.
  assert.ok(asked.includes(objectRelPath(f.c4, 'commitmeta')));
  await assertFsckClean(t, f);
});

test('pull: a fast-forward over several commits fetches the commits in between, with their trees', async (t) => {
  const { f, server } = await served(t);
  await setRef(f.src, 'os/main', f.c1);
  await writeSummary(f.src);
  ok(await run(f, server));
  // c1 ← c2 ← c4: c2 comes too, whole, so the server's history has no gap.
  await setRef(f.src, 'os/main', f.c4);
  await writeSummary(f.src);
  ok(await run(f, server));
  assert.equal(readRef(f.dest, 'os/main'), f.c4);
  for (const o of await objectsOf(f.src.path, f.c2)) assert.ok(f.dest.objects.hasSync(o.checksum, o.type), `${o.checksum}.${o.type}`);
  await assertFsckClean(t, f);
});

test('pull: keep-alive connections, never more at once than the concurrency', async (t) => {
  const sockets = new Set<unknown>();
  let requests = 0;
  const { f, server } = await served(
    t,
    (_path, req) => {
      sockets.add(req.socket);
      requests++;
      return false;
    },
    60_000,
  );
  const r = await run(f, server, { refs: [], concurrency: 3 });
  ok(r);
  assert.ok(r.http.peak > 1 && r.http.peak <= 3, `at most 3 requests at once, saw ${r.http.peak}`);
  assert.ok(sockets.size <= 3, `at most 3 connections, saw ${sockets.size}`);
  assert.ok(requests > sockets.size * 2, `connections are reused (${requests} requests on ${sockets.size} connections)`);
});

test('pull: with no ref named, every ref of the summary but the generated ones', async (t) => {
  const { f, server } = await served(t);
  await setRef(f.src, 'appstream/x86_64', f.c1);
  await setRef(f.src, 'ostree-metadata', f.c1);
  await writeSummary(f.src);
  const r = await pull({ repo: f.dest, url: server.url, refs: [] });
  ok(r);
  assert.deepEqual(listRefs(f.dest), new Map([
    ['os/main', f.c2],
    ['os/other', f.c3],
  ]));
});

test('pull: without a summary, a named ref is read from refs/heads; no ref named is PULL_REF_NOT_FOUND', async (t) => {
  const { f, server } = await served(t);
  const summary = readFileSync(join(f.src.path, 'summary'));
  const intercept: Intercept = (path, _req, res) => {
    if (path !== '/summary') return false;
    res.writeHead(404, { 'content-length': 0 }).end();
    return true;
  };
  const bare = await serveDirectory(f.src.path, t, { intercept });
  assert.ok(summary.byteLength > 0);
  const before = snapshot(f);
  const none = await pull({ repo: f.dest, url: bare.url, refs: [] });
  assert.equal(none.error?.code, 'PULL_REF_NOT_FOUND');
  await assertUntouched(t, f, before, new Map(), { fsck: false });
  ok(await pull({ repo: f.dest, url: bare.url, refs: ['os/other'] }));
  assert.equal(readRef(f.dest, 'os/other'), f.c3);
  void server;
});

test('pull: a ref the remote lacks is PULL_REF_NOT_FOUND and nothing is published', async (t) => {
  const { f, server } = await served(t);
  const before = snapshot(f);
  const r = await run(f, server, { refs: ['os/main', 'os/nope'] });
  assert.equal(r.error?.code, 'PULL_REF_NOT_FOUND');
  await assertUntouched(t, f, before, new Map());
});

test('pull: up to date fetches no object', async (t) => {
  const { f, server } = await served(t);
  ok(await run(f, server));
  server.log.length = 0;
  const r = await run(f, server);
  ok(r, 'up-to-date');
  assert.deepEqual(
    server.log.filter((l) => l.path.startsWith('/objects/')),
    [],
  );
});

test('pull: not newer is skipped with a warning; force pulls it, and a non-fast-forward still needs the server to allow force', async (t) => {
  const { f, server } = await served(t);
  // dest os/main at c3 (newer, unrelated); the source's c2 is older.
  ok(await run(f, server, { refs: ['os/other'] }));
  await setRef(f.dest, 'os/main', f.c3);
  const logs: string[] = [];
  const skipped = await run(f, server, { log: (level, line) => logs.push(`${level}: ${line}`) });
  ok(skipped, 'up-to-date');
  assert.equal(skipped.skipped[0]?.ref, 'os/main');
  assert.ok(logs.some((l) => l.startsWith('warning: os/main')));
  const before = snapshot(f);
  const refused = await run(f, server, { force: true });
  assert.equal(refused.error?.code, 'PROTOCOL_NOT_FAST_FORWARD');
  await assertUntouched(t, f, before, listRefs(f.dest), { fsck: false });
  ok(await run(f, server, { force: true, policy: { allowForce: true } }));
  assert.equal(readRef(f.dest, 'os/main'), f.c2);
  await assertFsckClean(t, f);
});

test('pull: with recommit, each pulled commit is re-committed on top of the current one, as 1.x does', async (t) => {
  const { f, server } = await served(t);
  await setRef(f.src, 'os/main', f.c1);
  await writeSummary(f.src);
  ok(await run(f, server, { policy: { recommit: true } }));
  const r1 = readRef(f.dest, 'os/main') as string;
  assert.notEqual(r1, f.c1, 'the ref names a re-commit');
  await setRef(f.src, 'os/main', f.c4);
  await writeSummary(f.src);
  server.log.length = 0;
  ok(await run(f, server, { policy: { recommit: true } }));
  const r2 = readRef(f.dest, 'os/main') as string;
  const c = await readCommit(f.dest.path, r2);
  assert.equal(c.parent, r1, "the server's previous commit is the parent");
  assert.equal(c.rootDirtree, (await readCommit(f.src.path, f.c4)).rootDirtree);
  // No chain of the source's history is fetched: only c4 and what it needs.
  assert.ok(!server.log.some((l) => l.path === `/${objectRelPath(f.c2, 'commit')}`));
  await assertFsckClean(t, f);
});

test('pull: a dry run fetches and checks everything and publishes nothing', async (t) => {
  const { f, server } = await served(t);
  const before = snapshot(f);
  const r = await run(f, server, { dryRun: true });
  ok(r, 'dry-run');
  assert.deepEqual(
    r.updated.map((u) => u.ref),
    ['os/main'],
  );
  assert.ok(r.objects.fetched > 0);
  await assertUntouched(t, f, before, new Map());
});

test('pull: update false leaves the summary as it was; by default it is rewritten', async (t) => {
  const { f, server } = await served(t);
  await writeSummary(f.dest);
  const old = readFileSync(join(f.dest.path, 'summary'));
  ok(await run(f, server, { update: false }));
  assert.deepEqual(readFileSync(join(f.dest.path, 'summary')), old);
  await setRef(f.src, 'os/main', f.c4);
  await writeSummary(f.src);
  ok(await run(f, server));
  assert.notDeepEqual(readFileSync(join(f.dest.path, 'summary')), old);
});

// ---------------------------------------------------------------- hostile servers

/** A content object of c2's tree, by its path in the source. */
async function someFile(f: Fixture): Promise<ObjectName> {
  const o = (await objectsOf(f.src.path, f.c2)).find((x) => x.type === 'file');
  assert.ok(o);
  return o;
}

async function hostile(t: TestContext, make: (f: Fixture) => Promise<Intercept>, code: string, extra: Partial<PullOptions> = {}): Promise<PullResult> {
  let handler: Intercept = () => false;
  const { f, server } = await served(t, (p, req, res) => handler(p, req, res));
  handler = await make(f);
  const before = snapshot(f);
  const r = await run(f, server, extra);
  assert.equal(r.outcome, 'failed');
  assert.equal(r.error?.code, code, r.error?.message);
  await assertUntouched(t, f, before, new Map());
  return r;
}

const at =
  (rel: string, answer: (res: ServerResponse) => void): Intercept =>
  (path, _req, res) => {
    if (path !== `/${rel}`) return false;
    answer(res);
    return true;
  };

test('hostile HTTP: a truncated body', async (t) => {
  await hostile(
    t,
    async (f) => {
      const o = await someFile(f);
      const bytes = readFileSync(join(f.src.path, objectRelPath(o.checksum, o.type)));
      return at(objectRelPath(o.checksum, o.type), (res) => {
        res.writeHead(200, { 'content-length': bytes.byteLength });
        res.write(bytes.subarray(0, bytes.byteLength - 5));
        res.socket?.end();
        res.socket?.destroySoon();
      });
    },
    'PULL_HTTP_BAD_RESPONSE',
  );
});

test('hostile HTTP: bytes of another object under this name', async (t) => {
  await hostile(
    t,
    async (f) => {
      const objects = (await objectsOf(f.src.path, f.c2)).filter((x) => x.type === 'file');
      const [a, b] = objects as [ObjectName, ObjectName];
      const other = readFileSync(join(f.src.path, objectRelPath(b.checksum, b.type)));
      return at(objectRelPath(a.checksum, a.type), (res) => res.writeHead(200, { 'content-length': other.byteLength }).end(other));
    },
    'REPO_CORRUPT_OBJECT',
  );
});

test('hostile HTTP: a wrong commit object', async (t) => {
  await hostile(
    t,
    async (f) => {
      const other = readFileSync(join(f.src.path, objectRelPath(f.c3, 'commit')));
      return at(objectRelPath(f.c2, 'commit'), (res) => res.writeHead(200, { 'content-length': other.byteLength }).end(other));
    },
    'REPO_CORRUPT_OBJECT',
  );
});

test('hostile HTTP: a redirect is refused, not followed', async (t) => {
  const r = await hostile(
    t,
    async (f) => {
      const o = await someFile(f);
      return at(objectRelPath(o.checksum, o.type), (res) => res.writeHead(302, { location: '/config', 'content-length': 0 }).end());
    },
    'PULL_HTTP_REDIRECT',
  );
  assert.equal(r.error?.data['location'], '/config');
});

test('hostile HTTP: a response over max_push_bytes is refused before its body is read', async (t) => {
  await hostile(
    t,
    async (f) => {
      const o = await someFile(f);
      return at(objectRelPath(o.checksum, o.type), (res) => {
        // Announces 1 TiB and sends nothing more: only the announcement is judged.
        res.writeHead(200, { 'content-length': String(2 ** 40) });
        res.flushHeaders();
      });
    },
    'PROTOCOL_PUSH_TOO_LARGE',
    { policy: { maxPushBytes: 1024n * 1024n * 1024n } },
  );
});

test('hostile HTTP: a metadata object over the metadata cap', async (t) => {
  await hostile(
    t,
    async (f) => {
      const o = (await objectsOf(f.src.path, f.c2)).find((x) => x.type === 'dirtree') as ObjectName;
      return at(objectRelPath(o.checksum, o.type), (res) => {
        res.writeHead(200, { 'content-length': String(64 * 1024 * 1024) });
        res.flushHeaders();
      });
    },
    'REPO_OBJECT_TOO_LARGE',
  );
});

test('hostile HTTP: a huge commit response is refused before its body is read', async (t) => {
  await hostile(
    t,
    async (f) =>
      at(objectRelPath(f.c2, 'commit'), (res) => {
        res.writeHead(200, { 'content-length': String(2 ** 40) });
        res.flushHeaders();
      }),
    'PULL_HTTP_BAD_RESPONSE',
  );
});

test('hostile HTTP: a deflate bomb costs its declared size, then is refused', async (t) => {
  await hostile(
    t,
    async (f) => {
      const o = await someFile(f);
      const path = join(f.src.path, objectRelPath(o.checksum, o.type));
      const { payloadOffset } = await readFilezHeader(path);
      const bomb = Buffer.concat([readFileSync(path).subarray(0, payloadOffset), deflateRawSync(Buffer.alloc(64 * 1024 * 1024))]);
      return at(objectRelPath(o.checksum, o.type), (res) => res.writeHead(200, { 'content-length': bomb.byteLength }).end(bomb));
    },
    'REPO_CORRUPT_OBJECT',
  );
});

test('hostile HTTP: a body without Content-Length (chunked) is refused', async (t) => {
  await hostile(
    t,
    async (f) => {
      const o = await someFile(f);
      const bytes = readFileSync(join(f.src.path, objectRelPath(o.checksum, o.type)));
      return at(objectRelPath(o.checksum, o.type), (res) => {
        res.writeHead(200, { 'transfer-encoding': 'chunked' });
        res.end(bytes);
      });
    },
    'PULL_HTTP_BAD_RESPONSE',
  );
});

test('hostile HTTP: a server that stops answering meets the idle timeout', async (t) => {
  await hostile(
    t,
    async (f) => {
      const o = await someFile(f);
      // Headers, then silence: the connection stays open.
      return at(objectRelPath(o.checksum, o.type), (res) => {
        res.writeHead(200, { 'content-length': '100' });
        res.write('x');
      });
    },
    'PROTOCOL_IDLE_TIMEOUT',
    { policy: { idleTimeoutMs: 300 } },
  );
});

test('hostile HTTP: a server slower than the session deadline', async (t) => {
  await hostile(
    t,
    async (f) => {
      const o = await someFile(f);
      // Never answers at all.
      return at(objectRelPath(o.checksum, o.type), () => undefined);
    },
    'PROTOCOL_SESSION_TIMEOUT',
    { policy: { sessionTimeoutMs: 300 } },
  );
});

test('hostile HTTP: 404 for an object a commit needs', async (t) => {
  const r = await hostile(
    t,
    async (f) => {
      const o = await someFile(f);
      return at(objectRelPath(o.checksum, o.type), (res) => res.writeHead(404, { 'content-length': 0 }).end());
    },
    'PULL_OBJECT_MISSING',
  );
  assert.equal(r.error?.data['type'], 'file');
});

test('hostile HTTP: a summary listing a ref name that escapes refs/', async (t) => {
  await hostile(
    t,
    async () =>
      at('summary', (res) => {
        const bytes = encode(SUMMARY_TYPE, [[['../x', [0n, new Uint8Array(32), new Map()]]], new Map()]);
        res.writeHead(200, { 'content-length': bytes.byteLength }).end(bytes);
      }),
    'PULL_REMOTE_INVALID',
    { refs: [] },
  );
});

test('hostile HTTP: a summary that is not a summary', async (t) => {
  await hostile(t, async () => at('summary', (res) => res.writeHead(200, { 'content-length': 3 }).end('bad')), 'PULL_REMOTE_INVALID', { refs: [] });
});

test('hostile HTTP: a ref whose commit is bound to another ref is refused (PROTOCOL_REF_BINDING)', async (t) => {
  const { f, server } = await served(t);
  // A commit `ostree commit --branch=os/elsewhere` would write, listed as os/main.
  const bound = (await commitTree(f.src, { tree: tree('bound'), timestamp: 1_700_000_009, subject: 'bound', branch: 'os/elsewhere' })).commit;
  await setRef(f.src, 'os/main', bound);
  await writeSummary(f.src);
  const before = snapshot(f);
  const r = await run(f, server);
  assert.equal(r.error?.code, 'PROTOCOL_REF_BINDING', r.error?.message);
  assert.deepEqual(
    server.log.filter((l) => /\.(dirtree|dirmeta|filez)$/.test(l.path)),
    [],
    'refused before any tree is fetched',
  );
  await assertUntouched(t, f, before, new Map());
});

test('hostile HTTP: a remote that is not an archive repository', async (t) => {
  await hostile(
    t,
    async () =>
      at('config', (res) => {
        const text = '[core]\nrepo_version=1\nmode=bare\n';
        res.writeHead(200, { 'content-length': text.length }).end(text);
      }),
    'PULL_REMOTE_INVALID',
  );
});
