/**
 * The pusher's prediction of refusals (spec/protocol.md section 12.6): which
 * refs the receiver will certainly refuse, decided before UPDATE so that
 * `--dry-run` and a real push say it alike, before any object is sent, and
 * the other refs still go. The receiver stays the authority: it judges every
 * UPDATE whatever it advertised, and a ref predicted fine may still be
 * refused (a moved ref, a bad signature, a hook).
 *
 * Judged per ref that would be asked for, first reason wins:
 *
 *   binding          the new commit's `ostree.ref-binding` does not list the
 *                    ref, or its `ostree.collection-binding` differs from the
 *                    advertised `collection-id` (repo/bindings.ts): known
 *                    from the local commit, whatever the receiver says
 *   force            a non-fast-forward where `force` is advertised false
 *   ref-permissions  the advertised patterns do not allow `create` (new
 *                    ref), `move` (existing ref) or `force` (non-fast-forward)
 *   signatures       `sign-verify` / `gpg-verify` advertised and the commit's
 *                    .commitmeta has no signature of that kind
 *
 * Advice that cannot be read (a wrong type, a bad pattern, an unknown action)
 * is ignored key by key: the pusher then predicts nothing from that key.
 */
import type { Variant } from '../gvariant/index.js';
import { PolicyError } from '../policy/errors.js';
import { RefPermissions } from '../policy/ref-permissions.js';
import { bindingConflict } from '../repo/bindings.js';
import { existsSync } from 'node:fs';
import { decodeCommitmeta, readMetadataFile } from '../repo/metadata.js';
import { objectRelPath } from '../repo/object-names.js';
import { readCommitIfPresent } from '../repo/traverse.js';
import type { Repo } from '../repo/repo.js';
import { ZERO_CHECKSUM } from '../wire/constants.js';
import type { InfoPolicy } from '../policy/info-policy.js';

/** INFO's `policy`, when it says anything; malformed entries are ignored (it is advice, never trusted). */
export function remotePolicyOf(extra: ReadonlyMap<string, Variant>): InfoPolicy | undefined {
  const v = extra.get('policy');
  if (v?.type !== 'a{sv}') return undefined;
  const p = v.value as Map<string, Variant>;
  const sign = p.get('sign-verify');
  const out: InfoPolicy = { signVerify: sign?.type === 'as' ? (sign.value as string[]) : [], gpgVerify: p.get('gpg-verify')?.value === true };
  const force = p.get('force');
  if (force?.type === 'b') out.allowForce = force.value as boolean;
  const perms = p.get('ref-permissions');
  if (perms?.type === 'a{sas}') out.refPermissions = Object.fromEntries(perms.value as Map<string, string[]>);
  const coll = p.get('collection-id');
  if (coll?.type === 's' && coll.value !== '') out.collectionId = coll.value as string;
  if (p.get('recommit')?.value === true) out.recommit = true;
  const says = out.signVerify.length > 0 || out.gpgVerify || out.allowForce !== undefined || out.refPermissions !== undefined || out.collectionId !== undefined || out.recommit === true;
  return says ? out : undefined;
}

/** A ref the plan would ask for. */
export interface RefToJudge {
  ref: string;
  from: string;
  to: string;
  /** Not a fast-forward (asked for with --force, or judged as if it were). */
  forced: boolean;
}

export type Judge = (r: RefToJudge) => Promise<string | null>;

/** The ref permissions advertised, or null when none or unreadable. */
function permissionsOf(policy: InfoPolicy | undefined): RefPermissions | null {
  if (policy?.refPermissions === undefined) return null;
  try {
    return new RefPermissions(policy.refPermissions);
  } catch (e) {
    if (e instanceof PolicyError) return null;
    throw e;
  }
}

/** The commitmeta key each required signature kind is looked up under. */
export function requiredSignatures(policy: InfoPolicy | undefined): Array<[kind: string, key: string]> {
  if (policy === undefined) return [];
  return [...policy.signVerify.map((t): [string, string] => [t, `ostree.sign.${t}`]), ...(policy.gpgVerify ? [['gpg', 'ostree.gpgsigs'] as [string, string]] : [])];
}

/** The kinds of required signature `commitmeta` lacks (an `aay` with at least one element). */
export function missingSignatures(kinds: ReadonlyArray<[string, string]>, commitmeta: ReadonlyMap<string, Variant> | null): string[] {
  return kinds
    .filter(([, key]) => {
      const v = commitmeta?.get(key);
      return v === undefined || v.type !== 'aay' || (v.value as unknown[]).length === 0;
    })
    .map(([kind]) => kind);
}

/** The local commit's metadata and its .commitmeta (null when absent), or null when the commit is not here. */
async function localCommit(repo: Repo, checksum: string): Promise<{ metadata: ReadonlyMap<string, Variant>; commitmeta: ReadonlyMap<string, Variant> | null } | null> {
  const commit = await readCommitIfPresent(repo.path, checksum);
  if (commit === null) return null;
  const path = repo.resolve(objectRelPath(checksum, 'commitmeta'));
  const commitmeta = existsSync(path) ? decodeCommitmeta(await readMetadataFile(path)) : null;
  return { metadata: commit.metadata, commitmeta };
}

/** Why the receiver advertising `policy` will refuse a ref, or null when nothing says it will. */
export function refusalJudge(repo: Repo, policy: InfoPolicy | undefined): Judge {
  const perms = permissionsOf(policy);
  const kinds = requiredSignatures(policy);
  return async (r) => {
    if (r.to === ZERO_CHECKSUM) return perms !== null && !perms.allows(r.ref, 'delete') ? "the remote's ref_permissions do not allow delete" : null;
    const meta = await localCommit(repo, r.to);
    if (meta !== null) {
      const c = bindingConflict(r.to, meta.metadata, r.ref, policy?.collectionId ?? null);
      if (c?.kind === 'ref') return `commit bound to ${c.bound.length === 0 ? 'no ref' : c.bound.map((b) => `'${b}'`).join(', ')} by ostree.ref-binding; ostree pull would refuse it`;
      if (c?.kind === 'collection') return `commit bound to collection '${c.bound[0]}', the remote's is '${c.wanted}'; ostree pull would refuse it`;
    }
    // Force off is said before ref_permissions: no pattern could allow what the whole receiver refuses.
    if (r.forced && r.from !== ZERO_CHECKSUM && policy?.allowForce === false) return 'the remote does not accept non-fast-forward updates (force is off there)';
    if (perms !== null) {
      const actions = r.from === ZERO_CHECKSUM ? (['create'] as const) : r.forced ? (['move', 'force'] as const) : (['move'] as const);
      const denied = actions.find((a) => !perms.allows(r.ref, a));
      if (denied !== undefined) return `the remote's ref_permissions do not allow ${denied}`;
    }
    if (kinds.length > 0) {
      const missing = missingSignatures(kinds, meta?.commitmeta ?? null);
      if (missing.length > 0) return `unsigned (${missing.join(', ')}); the remote requires signed commits`;
    }
    return null;
  };
}
