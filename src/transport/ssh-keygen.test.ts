import assert from 'node:assert/strict';
import { test } from 'node:test';
import ssh2 from 'ssh2';
import { generateSshKeyPair } from './ssh-keygen.js';

// Without the read-back check about 1 pair in 256 fails to parse: 2,000 pairs
// would then fail this test with probability 1 - (255/256)^2000 > 0.999.
test('every generated ed25519 pair parses back, private and public', () => {
  for (let i = 0; i < 2000; i++) {
    const pair = generateSshKeyPair();
    const priv = ssh2.utils.parseKey(pair.private);
    const pub = ssh2.utils.parseKey(pair.public);
    assert.ok(!(priv instanceof Error), `private key ${i}: ${priv instanceof Error ? priv.message : ''}`);
    assert.ok(!(pub instanceof Error), `public key ${i}: ${pub instanceof Error ? pub.message : ''}`);
  }
});

test('ecdsa pairs too', () => {
  const pair = generateSshKeyPair('ecdsa');
  assert.match(pair.public, /^ecdsa-sha2-nistp256 /);
  assert.ok(!(ssh2.utils.parseKey(pair.private) instanceof Error));
});
