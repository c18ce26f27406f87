/**
 * The receiver's binding check (repo/bindings.ts; spec/protocol.md section
 * "Receiver checks"): a ref's new commit must be bound to that ref when it
 * has a ref binding, and to the repository's collection id when both have
 * one, or `ostree pull` refuses the ref. Judged as early as the commit is
 * here (at UPDATE when the store holds it, at its PUTOBJECT otherwise) and
 * once more at DONE under the lock, before anything is published.
 */
import { ProtocolError } from '../errors.js';
import { bindingConflict } from '../repo/bindings.js';
import { ZERO_CHECKSUM } from '../repo/refs.js';
import { readCommitIfPresent, type RepoLike } from '../repo/traverse.js';

export interface RefChange {
  ref: string;
  to: string;
}

/**
 * Throws PROTOCOL_REF_BINDING for the first update whose new commit is bound
 * elsewhere; commits not (yet) present in `view` are skipped (`only`: just
 * the updates to this commit).
 */
export async function checkBindings(view: RepoLike, updates: readonly RefChange[], collectionId: string | null, only?: string): Promise<void> {
  for (const u of updates) {
    if (u.to === ZERO_CHECKSUM || (only !== undefined && u.to !== only)) continue;
    const commit = await readCommitIfPresent(view, u.to);
    if (commit === null) continue;
    const c = bindingConflict(u.to, commit.metadata, u.ref, collectionId);
    if (c !== null) {
      throw new ProtocolError('PROTOCOL_REF_BINDING', `ref ${u.ref}: ${c.message}; nothing was published`, { ref: u.ref, commit: u.to, kind: c.kind, bound: c.bound, wanted: c.wanted });
    }
  }
}
