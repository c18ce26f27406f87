import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { serveDirectory } from './http-server.js';
import { tmpDir } from './tmp.js';

test('serves files read-only on loopback, 404s everything else, logs each request', async (t) => {
  const root = join(tmpDir(t, 'http'), 'root');
  mkdirSync(join(root, 'refs/heads'), { recursive: true });
  writeFileSync(join(root, 'config'), '[core]\n');
  writeFileSync(join(root, '..', 'secret'), 'outside');
  const server = await serveDirectory(root, t);
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);

  const get = async (path: string, method = 'GET'): Promise<[number, string]> => {
    const res = await fetch(new URL(path, server.url), { method });
    return [res.status, await res.text()];
  };
  assert.deepEqual(await get('config'), [200, '[core]\n']);
  assert.deepEqual(await get('missing'), [404, '404\n']);
  assert.equal((await get('refs/heads'))[0], 404, 'a directory is not served');
  // A raw request path: fetch() would normalise the dot segments away before sending.
  const rawStatus = await new Promise<number>((ok, fail) => {
    request({ host: '127.0.0.1', port: server.port, path: '/..%2fsecret' }, (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    }).on('error', fail).end();
  });
  assert.equal(rawStatus, 404, 'no escape from the root');
  assert.equal((await get('config', 'PUT'))[0], 405);
  assert.deepEqual(await get('config', 'HEAD'), [200, '']);
  assert.deepEqual(
    server.log.map((e) => `${e.method} ${e.path} ${e.status}`),
    ['GET /config 200', 'GET /missing 404', 'GET /refs/heads 404', 'GET /../secret 404', 'PUT /config 405', 'HEAD /config 200'],
  );
  await server.close();
  await server.close(); // idempotent, and t.after may call it again
  await assert.rejects(fetch(server.url));
});
