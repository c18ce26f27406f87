import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateSshKeyPair } from './ssh-keygen.js';
import { tmpDir } from '../../testkit/tmp.js';
import { needTools } from '../../testkit/tools.js';
import { blobKeyType, checkHostKey, fingerprint, knownHostName, knownHostsLine, parseKnownHosts, preferredHostKeyAlgorithms } from './known-hosts.js';

function newKey(type: 'ed25519' | 'ecdsa' = 'ed25519'): { line: string; blob: Buffer } {
  const pair = generateSshKeyPair(type);
  const [, b64 = ''] = pair.public.split(' ');
  return { line: pair.public.split(' ').slice(0, 2).join(' '), blob: Buffer.from(b64, 'base64') };
}

test('plain entries: exact names, comma lists, wildcards, negation, case', () => {
  const a = newKey();
  const b = newKey();
  const text = [
    '# a comment',
    '',
    `alpha.example,10.0.0.1 ${a.line} a comment`,
    `*.wild.example,!bad.wild.example ${b.line}`,
    'garbage line',
    `broken ssh-ed25519 !!!notbase64`,
  ].join('\n');
  const entries = parseKnownHosts(text, 'kh');
  assert.equal(entries.length, 2);
  assert.deepEqual([entries[0]?.line, entries[1]?.line], [3, 4]);
  assert.equal(checkHostKey(entries, 'alpha.example', 22, a.blob).status, 'ok');
  assert.equal(checkHostKey(entries, 'ALPHA.example', 22, a.blob).status, 'ok');
  assert.equal(checkHostKey(entries, '10.0.0.1', 22, a.blob).status, 'ok');
  assert.equal(checkHostKey(entries, 'x.wild.example', 22, b.blob).status, 'ok');
  assert.equal(checkHostKey(entries, 'bad.wild.example', 22, b.blob).status, 'unknown');
  assert.equal(checkHostKey(entries, 'beta.example', 22, a.blob).status, 'unknown');
});

test('[host]:port entries match only that port; port 22 uses the bare name', () => {
  const a = newKey();
  const entries = parseKnownHosts(`[127.0.0.1]:2222 ${a.line}\n`);
  assert.equal(knownHostName('127.0.0.1', 2222), '[127.0.0.1]:2222');
  assert.equal(knownHostName('Host', 22), 'host');
  assert.equal(checkHostKey(entries, '127.0.0.1', 2222, a.blob).status, 'ok');
  assert.equal(checkHostKey(entries, '127.0.0.1', 22, a.blob).status, 'unknown');
  assert.equal(checkHostKey(entries, '127.0.0.1', 2223, a.blob).status, 'unknown');
});

test('a changed key is "changed", a key of another type is "unknown" naming the known types', () => {
  const a = newKey();
  const other = newKey();
  const ec = newKey('ecdsa');
  const entries = parseKnownHosts(`host ${a.line}\n`);
  const changed = checkHostKey(entries, 'host', 22, other.blob);
  assert.equal(changed.status, 'changed');
  assert.equal(changed.status === 'changed' && changed.entry.line, 1);
  assert.deepEqual(checkHostKey(entries, 'host', 22, ec.blob), { status: 'unknown', knownTypes: ['ssh-ed25519'] });
  assert.equal(blobKeyType(ec.blob), 'ecdsa-sha2-nistp256');
  assert.deepEqual(preferredHostKeyAlgorithms(parseKnownHosts(`host ${ec.line}\n`), 'host', 22).slice(0, 2), ['ecdsa-sha2-nistp256', 'ssh-ed25519']);
});

test('@revoked refuses the key even when a plain entry lists it; @cert-authority is ignored', () => {
  const a = newKey();
  const entries = parseKnownHosts(`host ${a.line}\n@revoked * ${a.line}\n@cert-authority host ${newKey().line}\n@bogus host ${a.line}\n`);
  assert.equal(entries.length, 3);
  assert.equal(checkHostKey(entries, 'host', 22, a.blob).status, 'revoked');
});

test('hashed entries (|1|salt|hmac) match the name they hash, ports included', () => {
  const a = newKey();
  const text = `${knownHostsLine('h.example', 22, a.blob, { hashed: true })}\n${knownHostsLine('127.0.0.1', 2022, a.blob, { hashed: true })}\n`;
  assert.match(text, /^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-ed25519 /);
  const entries = parseKnownHosts(text);
  assert.equal(checkHostKey(entries, 'h.example', 22, a.blob).status, 'ok');
  assert.equal(checkHostKey(entries, 'H.EXAMPLE', 22, a.blob).status, 'ok');
  assert.equal(checkHostKey(entries, 'g.example', 22, a.blob).status, 'unknown');
  assert.equal(checkHostKey(entries, '127.0.0.1', 2022, a.blob).status, 'ok');
  assert.equal(checkHostKey(entries, '127.0.0.1', 22, a.blob).status, 'unknown');
});

test('oracle: ssh-keygen -H hashes, ssh-keygen -l fingerprints, and we agree', (t) => {
  if (!needTools(t, 'ssh')) return;
  const dir = tmpDir(t, 'known-hosts');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
  const pub = readFileSync(join(dir, 'key.pub'), 'utf8').trim().split(' ');
  const blob = Buffer.from(pub[1] ?? '', 'base64');
  const kh = join(dir, 'known_hosts');
  writeFileSync(kh, `plain.example ${pub[0]} ${pub[1]}\n[10.1.2.3]:2200 ${pub[0]} ${pub[1]}\n`);
  execFileSync('ssh-keygen', ['-H', '-f', kh], { stdio: 'ignore' });
  const hashed = readFileSync(kh, 'utf8');
  assert.doesNotMatch(hashed, /plain\.example|10\.1\.2\.3/);
  const entries = parseKnownHosts(hashed, kh);
  assert.equal(entries.length, 2);
  assert.equal(checkHostKey(entries, 'plain.example', 22, blob).status, 'ok');
  assert.equal(checkHostKey(entries, '10.1.2.3', 2200, blob).status, 'ok');
  assert.equal(checkHostKey(entries, '10.1.2.3', 22, blob).status, 'unknown');
  const lf = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'key.pub')], { encoding: 'utf8' });
  assert.equal(lf.split(' ')[1], fingerprint(blob));
  // Our own hashed line is one ssh-keygen -F finds.
  writeFileSync(kh, `${knownHostsLine('ours.example', 22, blob, { hashed: true })}\n`);
  const found = execFileSync('ssh-keygen', ['-F', 'ours.example', '-f', kh], { encoding: 'utf8' });
  assert.match(found, /Host ours\.example found: line 1/);
});
