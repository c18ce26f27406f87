/**
 * The receive policy as the receiver calls it: one object with a callback per
 * point of the session (src/protocol/receiver.ts, receive-publish.ts).
 *
 *   UPDATE           onUpdate: ref permissions (create/move/delete); a new
 *                    commit the store already holds is verified now
 *   PUTOBJECT        onObjectStaged: a new ref commit is verified as soon as
 *                    it and its commitmeta are both here (staged or stored,
 *                    in either order), so a bad signature is a STATUS false
 *                    naming the commit; a commit with no commitmeta at all is
 *                    refused at DONE (a commitmeta could still follow it), where
 *                    version 0 has no STATUS: the session ends with the error
 *   DONE, locked     checkForce: a non-fast-forward needs `force` on the ref;
 *                    beforePublish: every new ref commit verified once more
 *                    (authoritative: what publication will leave), and the
 *                    signed commitmetas computed — gpg runs here, before
 *                    anything is published; returns writeCommitmetas, called
 *                    after the objects are in place and before refs move
 *   after refs move  with `update` on and no `update_hook`: summary written
 *                    (receive-publish), then signSummary; with a hook, outside
 *                    the lock, afterPublish runs it instead (1.x: the hook
 *                    replaces the summary update); `update` off: neither
 *
 * Only each ref's new commit is verified and signed (as `ostree pull
 * --depth=0` would check it); intermediate history commits sent to prove a
 * fast-forward are published as they are. With `recommit`, the pushed commit
 * is verified and its re-commit, which the ref will name, is signed.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { RepoError } from '../errors.js';
import { replaceFileDurableSync } from '../repo/fsutil.js';
import { objectRelPath } from '../repo/object-names.js';
import { ZERO_CHECKSUM } from '../repo/refs.js';
import type { InfoPolicy } from './info-policy.js';
import type { Repo } from '../repo/repo.js';
import type { Staging } from '../repo/staging.js';
import { needsSigning, needsVerification, readCommitForSigning, signedCommitmeta, verifyCommitSignatures } from './commit-signatures.js';
import type { ReceivePolicy } from './policy.js';
import { updateAction } from './ref-permissions.js';
import { signSummary, summarySignature } from './summary-signature.js';
import { runUpdateHook, type HookOutcome } from './update-hook.js';

export interface PolicyUpdate {
  ref: string;
  from: string;
  to: string;
}

export interface ReceiveChecks {
  onUpdate(repo: Repo, updates: readonly PolicyUpdate[]): Promise<void>;
  onObjectStaged(repo: Repo, staging: Staging, object: { checksum: string; type: string }, updates: readonly PolicyUpdate[]): Promise<void>;
  checkForce(update: PolicyUpdate): void;
  /** `signTargets`: the commits to sign when they are not the updates' own (re-commits, receive-recommit.ts). */
  beforePublish(repo: Repo, staging: Staging, updates: readonly PolicyUpdate[], signTargets?: readonly string[]): Promise<{ writeCommitmetas: () => void }>;
  afterPublish(repo: Repo, updates: readonly PolicyUpdate[], output?: (chunk: Uint8Array) => void): Promise<HookOutcome | null>;
}

/** What the receiver's policy object gets from a ReceivePolicy. */
export interface ReceiverPolicyParts {
  canSignSummary: boolean;
  signSummary?: (repo: Repo) => Promise<void>;
  /** The same signature for summary bytes held elsewhere: what `summary.sig` must contain (a bucket's summary). */
  summarySignature?: (summary: Uint8Array) => Promise<Uint8Array>;
  alwaysWriteSummary: boolean;
  /** Never touch the summary: `update` is off, or an update hook owns it. */
  leaveSummary: boolean;
  /** Re-commit each pushed commit (the `recommit` setting). */
  recommit: boolean;
  checks: ReceiveChecks;
  /** What INFO advertises (spec/protocol.md 12.6). */
  infoPolicy: InfoPolicy;
}

export function receiveChecks(policy: ReceivePolicy): ReceiveChecks {
  const verifying = needsVerification(policy.verify);
  const signing = needsSigning(policy.sign);
  const newCommits = (updates: readonly PolicyUpdate[]): Set<string> => new Set(updates.map((u) => u.to).filter((c) => c !== ZERO_CHECKSUM));

  return {
    async onUpdate(repo, updates) {
      for (const u of updates) policy.refPermissions.check(u.ref, updateAction(u.from, u.to));
      if (!verifying) return;
      for (const c of newCommits(updates)) {
        const stored = await readCommitForSigning(repo, null, c).catch((e: unknown) => {
          if (e instanceof RepoError && e.code === 'REPO_OBJECT_MISSING') return null;
          throw e;
        });
        if (stored !== null) await verifyCommitSignatures(stored, policy.verify);
      }
    },

    async onObjectStaged(repo, staging, object, updates) {
      if (!verifying || (object.type !== 'commit' && object.type !== 'commitmeta') || !newCommits(updates).has(object.checksum)) return;
      // Judge once both halves are here, in either order; a commit with no
      // commitmeta yet might still get one, so that case waits for DONE.
      if (!staging.has(object.checksum, 'commit') && !repo.held.has(object.checksum, 'commit')) return;
      const commit = await readCommitForSigning(repo, staging, object.checksum);
      if (commit.commitmeta === null) return;
      await verifyCommitSignatures(commit, policy.verify);
    },

    checkForce(update) {
      policy.refPermissions.check(update.ref, 'force');
    },

    async beforePublish(repo, staging, updates, signTargets) {
      const signed: Array<[string, Uint8Array]> = [];
      for (const c of newCommits(updates)) {
        if (!verifying && !signing) break;
        const commit = await readCommitForSigning(repo, staging, c);
        if (verifying) await verifyCommitSignatures(commit, policy.verify);
        if (signing && signTargets === undefined) signed.push([c, await signedCommitmeta(commit, policy.sign)]);
      }
      for (const c of signing ? (signTargets ?? []) : []) signed.push([c, await signedCommitmeta(await readCommitForSigning(repo, staging, c), policy.sign)]);
      return {
        writeCommitmetas: () => {
          // Each replace is atomic; the commit is already stored (published child first). A store held
          // elsewhere (repo/held-objects.ts) may have no objects/XX/ under the root: it is made.
          for (const [c, bytes] of signed) {
            const path = repo.resolve(objectRelPath(c, 'commitmeta'));
            mkdirSync(dirname(path), { recursive: true });
            replaceFileDurableSync(path, bytes, 0o644);
          }
        },
      };
    },

    async afterPublish(repo, updates, output) {
      if (policy.updateHook === null || !policy.update) return null;
      return runUpdateHook(policy.updateHook, { repoPath: repo.path, updates, ...(output === undefined ? {} : { output }) });
    },
  };
}

/** The receiver-policy fields for a ReceivePolicy (spread into ReceiverPolicy). */
export function receiverPolicyParts(policy: ReceivePolicy): ReceiverPolicyParts {
  const signing = needsSigning(policy.sign);
  return {
    canSignSummary: signing,
    ...(signing
      ? { signSummary: (repo: Repo) => signSummary(repo, policy.sign), summarySignature: (summary: Uint8Array) => summarySignature(summary, policy.sign) }
      : {}),
    alwaysWriteSummary: policy.update && policy.updateHook === null,
    leaveSummary: !policy.update || policy.updateHook !== null,
    recommit: policy.recommit,
    checks: receiveChecks(policy),
    infoPolicy: {
      signVerify: policy.verify.ed25519 === undefined ? [] : ['ed25519'],
      gpgVerify: policy.verify.gpg !== undefined,
      ...(policy.refPermissions.configured === null ? {} : { refPermissions: policy.refPermissions.configured }),
    },
  };
}
