/**
 * What `ostree-push --dry-run` says about signatures when the remote's INFO
 * names a policy (spec/protocol.md section 12.6): for each ref it would move,
 * whether the commit it would send carries a signature of each kind the
 * remote requires, i.e. an entry in its .commitmeta:
 *
 *   sign-verify: [t]   `ostree.sign.<t>` (aay, at least one element)
 *   gpg-verify: true   `ostree.gpgsigs` (aay, at least one element)
 *
 * The keys are not checked: the pusher does not have the remote's trusted
 * keys, so "signed" means "carries a signature the remote will check", and
 * only "unsigned" is a certain refusal: such a ref is already rejected by
 * the plan (protocol/push-policy.ts), with the reason on its line, and is
 * not listed here again.
 */
import { RepoError } from '../errors.js';
import { readCommitForSigning } from '../policy/commit-signatures.js';
import { missingSignatures, requiredSignatures } from '../protocol/push-policy.js';
import type { PushResult } from '../protocol/pusher.js';
import { ZERO_CHECKSUM } from '../repo/refs.js';
import type { Repo } from '../repo/repo.js';

export async function signatureLines(repo: Repo, result: PushResult): Promise<string[]> {
  const kinds = requiredSignatures(result.remotePolicy);
  if (kinds.length === 0) return [];
  const lines = [`the remote requires signed commits (${kinds.map(([k]) => k).join(', ')}); the ones this push would send:`];
  for (const r of result.refs) {
    if (r.status === 'up-to-date' || r.status === 'rejected' || r.to === ZERO_CHECKSUM) continue;
    let meta: ReadonlyMap<string, { type: string; value: unknown }> | null;
    try {
      meta = (await readCommitForSigning(repo, null, r.to)).commitmeta;
    } catch (e) {
      if (!(e instanceof RepoError)) throw e;
      meta = null;
    }
    const missing = missingSignatures(kinds, meta as Parameters<typeof missingSignatures>[1]);
    lines.push(
      missing.length === 0
        ? `   ${r.ref}: signed (${kinds.map(([k]) => k).join(', ')})`
        : `   ${r.ref}: unsigned (${missing.join(', ')}): the remote will refuse it`,
    );
  }
  return lines;
}
