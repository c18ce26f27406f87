/**
 * Verifying and adding the signatures of a commit to publish
 * (spec/ostree-format.md §3.4):
 *
 *   .commitmeta  a{sv}, not covered by the commit checksum
 *     ostree.sign.ed25519  aay  each a 64-byte ed25519 signature over the .commit bytes
 *     ostree.gpgsigs       aay  each a binary detached OpenPGP signature over them
 *
 * A commit passes a kind of verification when at least one of its signatures
 * of that kind verifies with a trusted key (as `ostree pull` with sign-verify
 * / gpg-verify decides); with both kinds configured, both must pass.
 *
 * What is checked is what clients will get: the commit's bytes (staged or
 * stored, they are equal by checksum) and the commitmeta that publication
 * leaves in objects/ — the stored one when there is one (publication never
 * replaces a stored object), else the staged one.
 *
 * Signing merges into that commitmeta: other keys are kept, a new signature
 * is appended to its list, and the keys are written in GVariantDict order.
 */
import { Variant } from '../gvariant/index.js';
import { RepoError } from '../errors.js';
import { glibDictOrder } from '../repo/glib-dict-order.js';
import { decodeCommitmeta, encodeCommitmeta, readMetadataFile } from '../repo/metadata.js';
import type { Repo } from '../repo/repo.js';
import type { Staging } from '../repo/staging.js';
import { ED25519_KEY, signEd25519, verifyAny, type Ed25519PublicKey, type Ed25519SecretKey } from './ed25519.js';
import { PolicyError } from './errors.js';
import { GPG_KEY, gpgSign, gpgvVerify } from './gpg.js';

export interface VerifySettings {
  /** Trusted ed25519 public keys (`sign_verify` with `sign_trustedkeyfile`). */
  ed25519?: { keys: readonly Ed25519PublicKey[]; file: string };
  /** Trusted GPG keyring, a file as `gpg --export` writes it (`gpg_verify` with `gpg_trustedkeys`). */
  gpg?: { keyring: string };
}

export interface SignSettings {
  /** Secret keys from `sign_keyfiles`. */
  ed25519?: readonly Ed25519SecretKey[];
  /** `gpg_sign` key ids, from `gpg_homedir` (else gpg's default home). */
  gpg?: { keyIds: readonly string[]; homedir?: string };
}

export interface CommitForSigning {
  checksum: string;
  commitBytes: Uint8Array;
  /** The commitmeta publication will leave, or null when there is none. */
  commitmeta: Map<string, Variant> | null;
}

export function needsVerification(v: VerifySettings): boolean {
  return v.ed25519 !== undefined || v.gpg !== undefined;
}

export function needsSigning(s: SignSettings): boolean {
  return (s.ed25519?.length ?? 0) > 0 || (s.gpg?.keyIds.length ?? 0) > 0;
}

/** Reads a commit and its effective commitmeta from staging ∪ store. */
export async function readCommitForSigning(repo: Repo, staging: Staging | null, checksum: string): Promise<CommitForSigning> {
  // Stored objects are asked of the repository's held objects (repo/held-objects.ts), staged ones read from staging.
  const staged = (type: 'commit' | 'commitmeta'): string | null =>
    staging !== null && staging.has(checksum, type) ? staging.pathOf(checksum, type) : null;
  const commitPath = staged('commit');
  const commitBytes = commitPath !== null ? await readMetadataFile(commitPath) : await repo.held.read(checksum, 'commit');
  if (commitBytes === null) throw new RepoError('REPO_OBJECT_MISSING', `commit ${checksum} is neither staged nor stored`, { checksum, type: 'commit' });
  // A stored commitmeta is the one publication leaves (a staged copy never replaces it).
  const metaPath = staged('commitmeta');
  const metaBytes = repo.held.has(checksum, 'commitmeta') ? await repo.held.read(checksum, 'commitmeta') : metaPath === null ? null : await readMetadataFile(metaPath);
  const commitmeta = metaBytes === null ? null : decodeCommitmeta(metaBytes);
  return { checksum, commitBytes, commitmeta };
}

/** The `aay` list under `key`, [] when absent; a value of another type is no signature at all. */
function signatures(meta: Map<string, Variant> | null, key: string): Uint8Array[] | 'wrong-type' {
  const v = meta?.get(key);
  if (v === undefined) return [];
  if (v.type !== 'aay') return 'wrong-type';
  return v.value as Uint8Array[];
}

function unsigned(c: CommitForSigning, kind: string): PolicyError {
  const where = c.commitmeta === null ? 'it has no detached metadata (.commitmeta)' : `its .commitmeta has no ${kind === 'ed25519' ? ED25519_KEY : GPG_KEY}`;
  return new PolicyError('POLICY_UNSIGNED', `commit ${c.checksum} is not signed (${kind}): ${where}; nothing was published`, { commit: c.checksum, kind });
}

function badSignature(c: CommitForSigning, kind: string, why: string): PolicyError {
  return new PolicyError('POLICY_BAD_SIGNATURE', `commit ${c.checksum}: no ${kind} signature verifies with a trusted key (${why}); nothing was published`, { commit: c.checksum, kind });
}

/** Throws POLICY_UNSIGNED / POLICY_BAD_SIGNATURE unless every configured kind of verification passes. */
export async function verifyCommitSignatures(c: CommitForSigning, settings: VerifySettings): Promise<{ ed25519Key?: number; gpgFingerprint?: string }> {
  const out: { ed25519Key?: number; gpgFingerprint?: string } = {};
  if (settings.ed25519 !== undefined) {
    const sigs = signatures(c.commitmeta, ED25519_KEY);
    if (sigs === 'wrong-type') throw badSignature(c, 'ed25519', `${ED25519_KEY} is not of type aay`);
    if (sigs.length === 0) throw unsigned(c, 'ed25519');
    const k = verifyAny(settings.ed25519.keys, c.commitBytes, sigs);
    if (k < 0) throw badSignature(c, 'ed25519', `${sigs.length} signature(s) checked against ${settings.ed25519.keys.length} key(s) from ${settings.ed25519.file}`);
    out.ed25519Key = k;
  }
  if (settings.gpg !== undefined) {
    const sigs = signatures(c.commitmeta, GPG_KEY);
    if (sigs === 'wrong-type') throw badSignature(c, 'gpg', `${GPG_KEY} is not of type aay`);
    if (sigs.length === 0) throw unsigned(c, 'gpg');
    let last = '';
    for (const sig of sigs) {
      const r = await gpgvVerify(settings.gpg.keyring, c.commitBytes, sig);
      if (r.ok) {
        if (r.fingerprint !== undefined) out.gpgFingerprint = r.fingerprint;
        return out;
      }
      last = r.detail;
    }
    throw badSignature(c, 'gpg', `keyring ${settings.gpg.keyring}${last === '' ? '' : `; gpgv: ${last}`}`);
  }
  return out;
}

/** Appends `added` signatures under their keys to a copy of `meta`, keeping every other key. */
export function mergeSignatures(meta: Map<string, Variant> | null, added: ReadonlyMap<string, readonly Uint8Array[]>): Map<string, Variant> {
  const values = new Map(meta ?? []);
  for (const [key, sigs] of added) {
    if (sigs.length === 0) continue;
    const old = values.get(key);
    const existing = old !== undefined && old.type === 'aay' ? (old.value as Uint8Array[]) : [];
    values.set(key, new Variant('aay', [...existing, ...sigs]));
  }
  const out = new Map<string, Variant>();
  for (const key of glibDictOrder([...values.keys()])) out.set(key, values.get(key) as Variant);
  return out;
}

/** Signatures by every configured key over `data`, by commitmeta/summary.sig key. */
export async function makeSignatures(data: Uint8Array, settings: SignSettings): Promise<Map<string, Uint8Array[]>> {
  const added = new Map<string, Uint8Array[]>();
  if ((settings.ed25519?.length ?? 0) > 0) added.set(ED25519_KEY, (settings.ed25519 ?? []).map((k) => signEd25519(k, data)));
  if (settings.gpg !== undefined && settings.gpg.keyIds.length > 0) {
    const sigs: Uint8Array[] = [];
    for (const id of settings.gpg.keyIds) sigs.push(await gpgSign(settings.gpg.homedir, id, data));
    added.set(GPG_KEY, sigs);
  }
  return added;
}

/** The bytes of the commit's commitmeta with our signatures added. */
export async function signedCommitmeta(c: CommitForSigning, settings: SignSettings): Promise<Uint8Array> {
  return encodeCommitmeta(mergeSignatures(c.commitmeta, await makeSignatures(c.commitBytes, settings)));
}

