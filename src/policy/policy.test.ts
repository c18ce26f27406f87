import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tmpDir } from '../../testkit/tmp.js';
import { buildReceivePolicy, mergePolicySettings } from './policy.js';
import { makeEd25519Keys } from '../../testkit/test-keys.js';

test('policy: defaults are the Python receiver\'s (no verification, no signing, update on, no hook, all refs allowed)', () => {
  const p = buildReceivePolicy({});
  assert.deepEqual([p.verify, p.sign, p.update, p.updateHook, p.refPermissions.restricted], [{}, {}, true, null, false]);
});

test('policy: a repository entry overrides the global settings key by key', () => {
  assert.deepEqual(mergePolicySettings({ update: false, sign_verify: true, root: '/x' }, { update: true, update_hook: 'h' }), { update: true, sign_verify: true, update_hook: 'h' });
  assert.deepEqual(mergePolicySettings(null, undefined), {});
});

test('policy: keys load at build time; default trusted key file paths as the Python receiver looks them up', (t) => {
  const dir = tmpDir(t, 'policy');
  const k = makeEd25519Keys(dir, 'k');
  const p = buildReceivePolicy({ sign_verify: true, sign_trustedkeyfile: k.publicFile, sign_keyfiles: k.secretFile });
  assert.equal(p.verify.ed25519?.keys.length, 1);
  assert.equal(p.sign.ed25519?.length, 1, 'a single string is a one-element list');
  assert.throws(() => buildReceivePolicy({ sign_verify: true }, { home: dir, etc: dir }), { code: 'POLICY_CONFIG_INVALID', message: /ostree-receive-trustedkeyfile\.ed25519/ });
  assert.throws(() => buildReceivePolicy({ gpg_verify: true }, { home: dir, etc: dir }), { code: 'POLICY_CONFIG_INVALID', message: /ostree-receive-trustedkeys\.gpg/ });
  assert.throws(() => buildReceivePolicy({ sign_verify: true, sign_trustedkeyfile: k.secretFile }), { code: 'POLICY_KEY_INVALID' });
  assert.throws(() => buildReceivePolicy({ sign_verify: true, sign_type: 'dummy', sign_trustedkeyfile: k.publicFile }), { code: 'POLICY_CONFIG_INVALID', message: /only ed25519/ });
  assert.throws(() => buildReceivePolicy({ update: 'yes' }), { code: 'POLICY_CONFIG_INVALID', message: /update must be true or false/ });
  assert.throws(() => buildReceivePolicy({ ref_permissions: ['a'] }), { code: 'POLICY_CONFIG_INVALID' });
  assert.equal(buildReceivePolicy({ ref_permissions: { 'os/*': ['move'] } }).refPermissions.allows('os/main', 'move'), true);
});

test('policy: the default trusted key files, as 1.x: /etc first, then $XDG_CONFIG_HOME/ostree (else ~/.config/ostree)', (t) => {
  const dir = tmpDir(t, 'policy-xdg');
  const etc = join(dir, 'etc');
  const xdg = join(dir, 'xdg');
  mkdirSync(etc);
  mkdirSync(join(xdg, 'ostree'), { recursive: true });
  const k = makeEd25519Keys(dir, 'k');
  const other = makeEd25519Keys(dir, 'other');
  copyFileSync(k.publicFile, join(xdg, 'ostree', 'ostree-receive-trustedkeyfile.ed25519'));
  const viaXdg = buildReceivePolicy({ sign_verify: true }, { home: join(dir, 'home'), etc, env: { XDG_CONFIG_HOME: xdg } });
  assert.equal(viaXdg.verify.ed25519?.file, join(xdg, 'ostree', 'ostree-receive-trustedkeyfile.ed25519'));
  assert.throws(() => buildReceivePolicy({ sign_verify: true }, { home: join(dir, 'home'), etc, env: {} }), { code: 'POLICY_CONFIG_INVALID' }, 'without XDG_CONFIG_HOME: ~/.config, which has none');
  copyFileSync(other.publicFile, join(etc, 'ostree-receive-trustedkeyfile.ed25519'));
  const viaEtc = buildReceivePolicy({ sign_verify: true }, { home: join(dir, 'home'), etc, env: { XDG_CONFIG_HOME: xdg } });
  assert.equal(viaEtc.verify.ed25519?.file, join(etc, 'ostree-receive-trustedkeyfile.ed25519'), '/etc comes first');
});
