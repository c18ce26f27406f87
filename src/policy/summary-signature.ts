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
 *
 * `summarySignature` makes the same bytes for a summary held elsewhere (a
 * bucket's, src/bucket/bucket-publish.ts, which writes them itself).
 */
import { readFileSync } from 'node:fs';
import { encode } from '../gvariant/index.js';
import { replaceFileDurableSync } from '../repo/fsutil.js';
import type { Repo } from '../repo/repo.js';
import { SUMMARY_FILE, SUMMARY_SIG_FILE } from '../repo/summary.js';
import { makeSignatures, mergeSignatures, type SignSettings } from './commit-signatures.js';

/** The contents of `summary.sig` for these summary bytes. */
export async function summarySignature(summary: Uint8Array, settings: SignSettings): Promise<Uint8Array> {
  return encode('a{sv}', mergeSignatures(null, await makeSignatures(summary, settings)), 'le');
}

export async function signSummary(repo: Repo, settings: SignSettings): Promise<void> {
  const summary = readFileSync(repo.resolve(SUMMARY_FILE));
  replaceFileDurableSync(repo.resolve(SUMMARY_SIG_FILE), await summarySignature(summary, settings), 0o644);
}
