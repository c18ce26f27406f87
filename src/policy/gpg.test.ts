import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needTools } from '../../testkit/tools.js';
import { gpgSign, gpgvVerify } from './gpg.js';
import { makeGpgKey } from '../../testkit/test-keys.js';

test('gpg: a detached signature made with gpg --detach-sign is accepted by gpgv with the exported key, refused with another', async (t) => {
  if (!needTools(t, 'gpg', 'gpgv')) return;
  const alice = makeGpgKey(t, 'alice');
  const mallory = makeGpgKey(t, 'mallory');
  const data = new TextEncoder().encode('the exact .commit bytes');
  const sig = await gpgSign(alice.homedir, alice.fingerprint, data);
  assert.equal(sig[0] !== undefined && (sig[0] & 0x80) !== 0, true, 'binary OpenPGP packet, not armour');
  const good = await gpgvVerify(alice.keyring, data, sig);
  assert.deepEqual(good, { ok: true, fingerprint: alice.fingerprint, detail: '' });
  const wrongKey = await gpgvVerify(mallory.keyring, data, sig);
  assert.equal(wrongKey.ok, false);
  assert.match(wrongKey.detail, /public key|No public key|Can't check/i);
  const otherData = await gpgvVerify(alice.keyring, new TextEncoder().encode('other bytes'), sig);
  assert.equal(otherData.ok, false);
  assert.match(otherData.detail, /BAD signature/);
  const garbage = await gpgvVerify(alice.keyring, data, new Uint8Array([1, 2, 3]));
  assert.equal(garbage.ok, false);
});

test('gpg: signing with a key the home lacks is POLICY_TOOL_FAILED naming the key', async (t) => {
  if (!needTools(t, 'gpg', 'gpgv')) return;
  const alice = makeGpgKey(t, 'alice');
  await assert.rejects(gpgSign(alice.homedir, 'NOSUCHKEY0000', new Uint8Array([1])), { code: 'POLICY_TOOL_FAILED', message: /key NOSUCHKEY0000/ });
});

test('gpg: a missing tool is POLICY_TOOL_MISSING, not a raw ENOENT', async () => {
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    await assert.rejects(gpgvVerify('/dev/null', new Uint8Array([1]), new Uint8Array([1])), { code: 'POLICY_TOOL_MISSING', message: /gpgv is not installed/ });
    await assert.rejects(gpgSign(undefined, 'x', new Uint8Array([1])), { code: 'POLICY_TOOL_MISSING' });
  } finally {
    process.env.PATH = saved;
  }
});
