/**
 * The vectors level: every byte vector replays cleanly against our codec,
 * and a vector with one wrong byte, or a must-reject vector expecting
 * another code, is reported as a failure with a reason.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { VECTORS_DIR } from './case.js';
import { runVectors } from './vectors.js';

it('every vector of conformance/vectors/ passes against our codec', async () => {
  const results = await runVectors();
  assert.ok(results.length >= 250, `${results.length} vectors`);
  for (const f of ['gvariant', 'gvariant-reject', 'messages', 'messages-reject']) assert.ok(results.some((r) => r.id.startsWith(`vectors/${f}/`)), f);
  assert.deepEqual(results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.message}`), []);
});

it('a wrong byte or a wrong expected code is a failure', async (t) => {
  const dir = `${mkdtempSync(join(tmpdir(), 'ostree-push-vectors-'))}/`;
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of ['messages.json', 'messages-reject.json']) copyFileSync(`${VECTORS_DIR}${f}`, `${dir}${f}`);
  const values = JSON.parse(readFileSync(`${VECTORS_DIR}gvariant.json`, 'utf8')) as { vectors: { name: string; hex: string }[] };
  const v = values.vectors.find((x) => x.name === 'byte-255-le');
  assert.ok(v);
  v.hex = 'fe';
  writeFileSync(`${dir}gvariant.json`, JSON.stringify(values));
  const rejects = JSON.parse(readFileSync(`${VECTORS_DIR}gvariant-reject.json`, 'utf8')) as { vectors: { name: string; code: string }[] };
  const r = rejects.vectors.find((x) => x.name === 'bool-2');
  assert.ok(r);
  r.code = 'GVARIANT_BAD_TYPE';
  writeFileSync(`${dir}gvariant-reject.json`, JSON.stringify(rejects));
  const failed = (await runVectors(dir)).filter((x) => x.status === 'fail');
  assert.deepEqual(failed.map((x) => x.id), ['vectors/gvariant/byte-255-le', 'vectors/gvariant-reject/bool-2']);
  for (const x of failed) assert.ok((x.message ?? '').length > 0);
});
