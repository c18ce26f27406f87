/**
 * OSTree's ed25519 signatures (`ostree sign`, libostree ostree-sign-ed25519),
 * done with node:crypto (no libsodium, no external tool).
 *
 *   public key file:  one key per line, base64 of the 32-byte public key
 *   secret key file:  one key per line, base64 of libsodium's 64-byte secret
 *                     key = 32-byte seed || 32-byte public key
 *   signature:        ed25519 (pure, RFC 8032) over the exact bytes signed —
 *                     a commit's `.commit` file, or the `summary` file — 64 bytes
 *   stored as:        `ostree.sign.ed25519` (type `aay`, one element per
 *                     signature) in the commit's `.commitmeta` or in `summary.sig`
 *
 * Blank lines are skipped. Any other line that is not a valid key is an error
 * naming the file and line (POLICY_KEY_INVALID): a typo in a trusted-key file
 * must not silently shrink the set of keys.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PolicyError } from './errors.js';

export const ED25519_KEY = 'ostree.sign.ed25519';
export const ED25519_PUBLIC_BYTES = 32;
export const ED25519_SECRET_BYTES = 64;
export const ED25519_SIGNATURE_BYTES = 64;

// DER headers that turn raw key bytes into SPKI / PKCS#8 (RFC 8410, OID 1.3.101.112).
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface Ed25519PublicKey {
  raw: Uint8Array;
  key: KeyObject;
}

export interface Ed25519SecretKey {
  /** The 32-byte public half (also the last 32 bytes of the libsodium form). */
  publicRaw: Uint8Array;
  key: KeyObject;
}

export function publicKeyFromRaw(raw: Uint8Array): Ed25519PublicKey {
  if (raw.byteLength !== ED25519_PUBLIC_BYTES) throw new RangeError(`an ed25519 public key is ${ED25519_PUBLIC_BYTES} bytes, not ${raw.byteLength}`);
  return { raw: Uint8Array.from(raw), key: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }) };
}

/** From libsodium's 64-byte form (seed || public); the public half must match the seed. */
export function secretKeyFromRaw(raw: Uint8Array): Ed25519SecretKey {
  if (raw.byteLength !== ED25519_SECRET_BYTES) throw new RangeError(`an ed25519 secret key is ${ED25519_SECRET_BYTES} bytes (seed and public key), not ${raw.byteLength}`);
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
  const derived = rawPublicKey(createPublicKey(key));
  if (!Buffer.from(derived).equals(Buffer.from(raw.subarray(32)))) throw new RangeError('the public half of the secret key does not match its seed');
  return { publicRaw: derived, key };
}

/** The 32 raw bytes of an ed25519 public KeyObject. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.byteLength - ED25519_PUBLIC_BYTES));
}

/** libsodium's 64-byte secret key of an ed25519 private KeyObject. */
export function rawSecretKey(key: KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'pkcs8' });
  const seed = der.subarray(der.byteLength - 32);
  return new Uint8Array(Buffer.concat([seed, rawPublicKey(createPublicKey(key))]));
}

export function signEd25519(key: Ed25519SecretKey, data: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, data, key.key));
}

export function verifyEd25519(key: Ed25519PublicKey, data: Uint8Array, signature: Uint8Array): boolean {
  if (signature.byteLength !== ED25519_SIGNATURE_BYTES) return false;
  return verify(null, data, key.key, signature);
}

/** Index of the first trusted key that verifies any of the signatures, or -1. */
export function verifyAny(keys: readonly Ed25519PublicKey[], data: Uint8Array, signatures: readonly Uint8Array[]): number {
  for (const sig of signatures) {
    const k = keys.findIndex((key) => verifyEd25519(key, data, sig));
    if (k >= 0) return k;
  }
  return -1;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function keyLines(text: string, file: string, size: number, what: string): Array<{ line: number; raw: Uint8Array }> {
  const out: Array<{ line: number; raw: Uint8Array }> = [];
  text.split('\n').forEach((l, i) => {
    const s = l.trim();
    if (s === '') return;
    const raw = BASE64.test(s) && s.length % 4 === 0 ? Buffer.from(s, 'base64') : undefined;
    if (raw?.byteLength !== size) {
      throw new PolicyError('POLICY_KEY_INVALID', `${file}:${i + 1}: not an ed25519 ${what} (base64 of ${size} bytes)`, { file, line: i + 1 });
    }
    out.push({ line: i + 1, raw: new Uint8Array(raw) });
  });
  return out;
}

function readKeyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new PolicyError('POLICY_KEY_INVALID', `${file}: cannot read the key file: ${(e as Error).message}`, { file }, { cause: e });
  }
}

export function parsePublicKeys(text: string, file = '(keys)'): Ed25519PublicKey[] {
  return keyLines(text, file, ED25519_PUBLIC_BYTES, 'public key').map(({ raw }) => publicKeyFromRaw(raw));
}

export function parseSecretKeys(text: string, file = '(keys)'): Ed25519SecretKey[] {
  return keyLines(text, file, ED25519_SECRET_BYTES, 'secret key').map(({ line, raw }) => {
    try {
      return secretKeyFromRaw(raw);
    } catch (e) {
      throw new PolicyError('POLICY_KEY_INVALID', `${file}:${line}: ${(e as Error).message}`, { file, line }, { cause: e });
    }
  });
}

/** A trusted-key file (`sign_trustedkeyfile`); at least one key. */
export function loadPublicKeys(file: string): Ed25519PublicKey[] {
  const keys = parsePublicKeys(readKeyFile(file), file);
  if (keys.length === 0) throw new PolicyError('POLICY_KEY_INVALID', `${file}: holds no ed25519 public key`, { file });
  return keys;
}

/** A signing key file (`sign_keyfiles`); at least one key. */
export function loadSecretKeys(file: string): Ed25519SecretKey[] {
  const keys = parseSecretKeys(readKeyFile(file), file);
  if (keys.length === 0) throw new PolicyError('POLICY_KEY_INVALID', `${file}: holds no ed25519 secret key`, { file });
  return keys;
}

/** Key-file lines for a key pair, as ostree's files hold them (tests and tooling). */
export function keyFileLines(privateKey: KeyObject): { publicLine: string; secretLine: string } {
  return { publicLine: Buffer.from(rawPublicKey(createPublicKey(privateKey))).toString('base64'), secretLine: Buffer.from(rawSecretKey(privateKey)).toString('base64') };
}
