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
 * only "unsigned" is a certain refusal.
 */
import { RepoError } from '../errors.js';
import { readCommitForSigning } from '../policy/commit-signatures.js';
import { GPG_KEY } from '../policy/gpg.js';
import type { PushResult } from '../protocol/pusher.js';
import { ZERO_CHECKSUM } from '../repo/refs.js';
import type { Repo } from '../repo/repo.js';

/** The kinds required and the commitmeta key each is looked up under. */
function requiredKinds(result: PushResult): Array<[kind: string, key: string]> {
  const p = result.remotePolicy;
  if (p === undefined) return [];
  return [...p.signVerify.map((t): [string, string] => [t, `ostree.sign.${t}`]), ...(p.gpgVerify ? [['gpg', GPG_KEY] as [string, string]] : [])];
}

export async function signatureLines(repo: Repo, result: PushResult): Promise<string[]> {
  const kinds = requiredKinds(result);
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
    const missing = kinds.filter(([, key]) => {
      const v = meta?.get(key);
      return v === undefined || v.type !== 'aay' || (v.value as unknown[]).length === 0;
    });
    lines.push(
      missing.length === 0
        ? `   ${r.ref}: signed (${kinds.map(([k]) => k).join(', ')})`
        : `   ${r.ref}: unsigned (${missing.map(([k]) => k).join(', ')}): the remote will refuse it`,
    );
  }
  return lines;
}
