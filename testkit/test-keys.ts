/**
 * Keys made by the tests themselves: ed25519 key files with node:crypto, and
 * GPG keys with `gpg --batch` in a temporary home whose agent is stopped when
 * the test ends. Nothing here touches the user's own keys. Tests that need
 * gpg and gpgv guard with `needTools(t, 'gpg', 'gpgv')`.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpDir, type HasAfter } from './tmp.js';
import { keyFileLines } from '../src/policy/ed25519.js';

export interface Ed25519KeyFiles {
  publicFile: string;
  secretFile: string;
  publicLine: string;
  secretLine: string;
}

export function makeEd25519Keys(dir: string, name: string): Ed25519KeyFiles {
  const { publicLine, secretLine } = keyFileLines(generateKeyPairSync('ed25519').privateKey);
  const publicFile = join(dir, `${name}.pub.ed25519`);
  const secretFile = join(dir, `${name}.sec.ed25519`);
  writeFileSync(publicFile, `${publicLine}\n`);
  writeFileSync(secretFile, `${secretLine}\n`, { mode: 0o600 });
  return { publicFile, secretFile, publicLine, secretLine };
}

export interface GpgKey {
  homedir: string;
  fingerprint: string;
  /** The public key exported in binary form: a keyring gpgv reads. */
  keyring: string;
}

/** A passphrase-less ed25519 signing key in a fresh GnuPG home. */
export function makeGpgKey(t: HasAfter, name: string): GpgKey {
  const dir = tmpDir(t, `gpg-${name}`);
  const homedir = join(dir, 'home');
  execFileSync('mkdir', ['-m', '700', homedir]);
  t.after(() => {
    try {
      execFileSync('gpgconf', ['--homedir', homedir, '--kill', 'gpg-agent'], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      /* no agent was started */
    }
  });
  const gpg = (...args: string[]): string => execFileSync('gpg', ['--batch', '--homedir', homedir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  gpg('--passphrase', '', '--quick-gen-key', `${name} <${name}@test.invalid>`, 'ed25519', 'sign', 'never');
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(gpg('--with-colons', '--list-secret-keys'));
  if (fpr === null) throw new Error('gpg made no key');
  const keyring = join(dir, `${name}.gpg`);
  writeFileSync(keyring, execFileSync('gpg', ['--batch', '--homedir', homedir, '--export', fpr[1] as string], { timeout: 30_000 }));
  return { homedir, fingerprint: fpr[1] as string, keyring };
}
