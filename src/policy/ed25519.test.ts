import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tmpDir } from '../../testkit/tmp.js';
import {
  ED25519_SIGNATURE_BYTES,
  keyFileLines,
  loadPublicKeys,
  loadSecretKeys,
  parsePublicKeys,
  parseSecretKeys,
  publicKeyFromRaw,
  secretKeyFromRaw,
  signEd25519,
  verifyAny,
  verifyEd25519,
} from './ed25519.js';

// RFC 8032 §7.1 TEST 2: libsodium's crypto_sign is this same deterministic ed25519.
const RFC_SEED = '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb';
const RFC_PUBLIC = '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c';
const RFC_MESSAGE = '72';
const RFC_SIGNATURE =
  '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00';

const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

test('ed25519: the libsodium 64-byte secret key (seed || public) signs exactly as RFC 8032 says', () => {
  const sk = secretKeyFromRaw(hex(RFC_SEED + RFC_PUBLIC));
  assert.equal(Buffer.from(sk.publicRaw).toString('hex'), RFC_PUBLIC);
  const sig = signEd25519(sk, hex(RFC_MESSAGE));
  assert.equal(Buffer.from(sig).toString('hex'), RFC_SIGNATURE);
  assert.ok(verifyEd25519(publicKeyFromRaw(hex(RFC_PUBLIC)), hex(RFC_MESSAGE), sig));
});

test('ed25519: key-file lines are base64 of 32 public / 64 secret bytes; they round-trip', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const { publicLine, secretLine } = keyFileLines(privateKey);
  assert.equal(Buffer.from(publicLine, 'base64').byteLength, 32);
  assert.equal(Buffer.from(secretLine, 'base64').byteLength, 64);
  assert.deepEqual(Buffer.from(secretLine, 'base64').subarray(32), Buffer.from(publicLine, 'base64'), 'the secret key ends with the public key');
  const [sk] = parseSecretKeys(`${secretLine}\n`);
  const [pk] = parsePublicKeys(`\n${publicLine}\n\n`);
  assert.ok(sk && pk);
  const data = new TextEncoder().encode('commit bytes');
  const sig = signEd25519(sk, data);
  assert.equal(sig.byteLength, ED25519_SIGNATURE_BYTES);
  assert.ok(verifyEd25519(pk, data, sig));
  assert.equal(verifyEd25519(pk, new TextEncoder().encode('commit byteS'), sig), false, 'other bytes');
  const flipped = Uint8Array.from(sig);
  flipped[10] = (flipped[10] ?? 0) ^ 1;
  assert.equal(verifyEd25519(pk, data, flipped), false, 'tampered signature');
  assert.equal(verifyEd25519(pk, data, sig.subarray(0, 63)), false, 'short signature');
});

test('ed25519: verifyAny finds the key that signed among several, -1 for a stranger', () => {
  const keys = [generateKeyPairSync('ed25519'), generateKeyPairSync('ed25519')].map((k) => parsePublicKeys(keyFileLines(k.privateKey).publicLine)[0]!);
  const stranger = generateKeyPairSync('ed25519').privateKey;
  const signer = generateKeyPairSync('ed25519').privateKey;
  const second = parsePublicKeys(keyFileLines(signer).publicLine)[0]!;
  const data = new Uint8Array([1, 2, 3]);
  const sig = signEd25519(parseSecretKeys(keyFileLines(signer).secretLine)[0]!, data);
  const strangerSig = signEd25519(parseSecretKeys(keyFileLines(stranger).secretLine)[0]!, data);
  assert.equal(verifyAny([...keys, second], data, [strangerSig, sig]), 2);
  assert.equal(verifyAny(keys, data, [strangerSig, sig]), -1);
  assert.equal(verifyAny([...keys, second], data, []), -1);
});

test('ed25519: bad key lines are POLICY_KEY_INVALID naming the file and line', (t) => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const { publicLine, secretLine } = keyFileLines(privateKey);
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['not base64', () => parsePublicKeys(`${publicLine}\nnot*base64\n`, 'trusted.ed25519'), /^trusted\.ed25519:2: not an ed25519 public key/],
    ['secret where public expected', () => parsePublicKeys(secretLine, 'f'), /^f:1:/],
    ['public where secret expected', () => parseSecretKeys(publicLine, 'f'), /^f:1: not an ed25519 secret key/],
    ['mismatched halves', () => parseSecretKeys(Buffer.concat([Buffer.from(secretLine, 'base64').subarray(0, 32), Buffer.alloc(32, 7)]).toString('base64'), 'f'), /does not match its seed/],
  ];
  for (const [what, fn, message] of cases) assert.throws(fn, (e: { code?: string; message?: string }) => e.code === 'POLICY_KEY_INVALID' && message.test(e.message ?? ''), what);
  const dir = tmpDir(t, 'ed25519');
  writeFileSync(join(dir, 'empty'), '\n\n');
  assert.throws(() => loadPublicKeys(join(dir, 'empty')), { code: 'POLICY_KEY_INVALID', message: /holds no ed25519 public key/ });
  assert.throws(() => loadSecretKeys(join(dir, 'missing')), { code: 'POLICY_KEY_INVALID', message: /cannot read the key file/ });
  writeFileSync(join(dir, 'ok'), `${secretLine}\n`);
  assert.equal(loadSecretKeys(join(dir, 'ok')).length, 1);
});
