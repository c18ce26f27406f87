/**
 * `summary.sig` (spec/ostree-format.md §6.1): an `a{sv}` of detached signatures
 * over the exact `summary` bytes — `ostree.gpgsigs` (aay, OpenPGP) and/or
 * `ostree.sign.ed25519` (aay, 64-byte ed25519) — as `ostree summary -u
 * --gpg-sign=… / --sign=…` writes it.
 *
 * Written after the summary it covers, by an atomic replace (temp file,
 * fsync, rename, directory fsync): a reader sees no signature or a complete
 * one, never a torn file. writeSummary removed the old signature first, so
 * no moment pairs a new summary with an old signature.
 */
import { readFileSync } from 'node:fs';
import { encode, type Variant } from '../gvariant/index.js';
import { replaceFileDurableSync } from '../repo/fsutil.js';
import type { Repo } from '../repo/repo.js';
import { SUMMARY_FILE, SUMMARY_SIG_FILE } from '../repo/summary.js';
import { makeSignatures, mergeSignatures, type SignSettings } from './commit-signatures.js';

export async function signSummary(repo: Repo, settings: SignSettings): Promise<Map<string, Variant>> {
  const summary = readFileSync(repo.resolve(SUMMARY_FILE));
  const sig = mergeSignatures(null, await makeSignatures(summary, settings));
  replaceFileDurableSync(repo.resolve(SUMMARY_SIG_FILE), encode('a{sv}', sig, 'le'), 0o644);
  return sig;
}
