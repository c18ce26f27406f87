/**
 * The policy a receiver advertises in INFO: a type of the policy folder, which
 * the protocol engines (receive-info.ts writes it, push-policy.ts reads it)
 * and the policy engine (engine.ts derives it from the configuration) share.
 */

/**
 * What the receiver will refuse, as far as it can say before any object
 * (INFO `policy`, section 12.6): advertised so a pusher can predict, never
 * relied on by the receiver.
 *
 *   sign-verify      as       signature types of which each new ref commit needs one
 *   gpg-verify       b        a GPG signature is needed too
 *   force            b        non-fast-forward updates are accepted at all
 *   ref-permissions  a{sas}   ref pattern → actions (ref-permissions.ts); absent: any
 *   collection-id    s        the repository's collection id (bindings are checked against it)
 *   recommit         b        each pushed commit is re-committed on the ref's current commit
 *                             (1.x's way): a ref may move when the new commit is newer by
 *                             timestamp, whatever its ancestry, and then names a new commit
 */
export interface InfoPolicy {
  /** Signature types of which one valid signature is required ('ed25519'). */
  signVerify: readonly string[];
  gpgVerify: boolean;
  /** The receiver's `force` setting; absent: not said. */
  allowForce?: boolean;
  /** `ref_permissions` as configured; absent: every ref may be created, moved, forced, deleted. */
  refPermissions?: Readonly<Record<string, readonly string[]>>;
  /** `[core] collection-id` of the repository; absent: none. */
  collectionId?: string;
  /** The receiver re-commits (receive-recommit.ts); absent: it publishes pushed commits as they are. */
  recommit?: boolean;
}
