import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Variant } from '../gvariant/index.js';
import { decodeInfo, encodeInfo } from '../wire/messages.js';
import { remotePolicyOf } from './pusher.js';
import { infoBody } from './receive-info.js';
import { validateMessage } from './validate.js';

test('INFO policy: advertised only with extensions and a requirement; round-trips, validates and is read back by the pusher', () => {
  const refs = new Map([['os/main', 'a'.repeat(64)]]);
  for (const [policy, want] of [
    [{ signVerify: ['ed25519'], gpgVerify: false }, { signVerify: ['ed25519'], gpgVerify: false }],
    [{ signVerify: [], gpgVerify: true }, { signVerify: [], gpgVerify: true }],
    [{ signVerify: ['ed25519'], gpgVerify: true }, { signVerify: ['ed25519'], gpgVerify: true }],
  ] as const) {
    const info = infoBody(1, refs, true, policy).message;
    const back = decodeInfo(encodeInfo(info), 'le');
    validateMessage(back as unknown as Parameters<typeof validateMessage>[0]);
    assert.deepEqual(remotePolicyOf(back.extra), want);
  }
  assert.equal(infoBody(1, refs, true, { signVerify: [], gpgVerify: false }).message.extra.has('policy'), false, 'nothing required: no key');
  assert.equal(infoBody(1, refs, false, { signVerify: ['ed25519'], gpgVerify: true }).message.extra.has('policy'), false, 'plain version 0: no key');
  assert.equal(infoBody(1, refs, true).message.extra.has('policy'), false);
});

test('INFO policy: a malformed value fails validation on receipt, and the pusher ignores it', () => {
  const info = infoBody(1, new Map(), true, { signVerify: ['ed25519'], gpgVerify: false }).message;
  const json = { type: 'INFO', mode: 1, refs: new Map(), extra: new Map(info.extra) };
  json.extra.set('policy', info.extra.get('capabilities')!);
  assert.throws(() => validateMessage(json), { code: 'PROTOCOL_BAD_MESSAGE', message: /^INFO: policy must be object$/ });
  assert.equal(remotePolicyOf(json.extra), undefined);
});

test('INFO policy: force, ref permissions and the collection id round-trip, validate and are read back', () => {
  const refs = new Map([['os/main', 'a'.repeat(64)]]);
  const policy = { signVerify: [], gpgVerify: false, allowForce: false, refPermissions: { 'os/**': ['create', 'move'], 'app/*/beta': [] }, collectionId: 'org.example.Os' };
  const info = infoBody(1, refs, true, policy).message;
  const back = decodeInfo(encodeInfo(info), 'le');
  validateMessage(back as unknown as Parameters<typeof validateMessage>[0]);
  assert.deepEqual(remotePolicyOf(back.extra), policy);
  assert.deepEqual(remotePolicyOf(infoBody(1, refs, true, { signVerify: [], gpgVerify: false, allowForce: true }).message.extra), { signVerify: [], gpgVerify: false, allowForce: true });
});

test('INFO policy: ref permissions too large for one body are left out, the rest of the policy stays', () => {
  const refPermissions = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`team-${i}/**/x86_64/*`, ['create', 'move']]));
  const info = infoBody(1, new Map([['os/main', 'a'.repeat(64)]]), true, { signVerify: ['ed25519'], gpgVerify: false, allowForce: false, refPermissions }).message;
  assert.deepEqual(remotePolicyOf(info.extra), { signVerify: ['ed25519'], gpgVerify: false, allowForce: false });
  assert.equal(info.refs.size, 1);
});

test('INFO policy: unreadable entries are ignored key by key', () => {
  const extra = new Map([
    ['policy', new Variant('a{sv}', new Map([
      ['force', new Variant('s', 'no')],
      ['ref-permissions', new Variant('as', ['os/**'])],
      ['collection-id', new Variant('s', 'org.example.Os')],
    ]))],
  ]);
  assert.deepEqual(remotePolicyOf(extra), { signVerify: [], gpgVerify: false, collectionId: 'org.example.Os' });
});
