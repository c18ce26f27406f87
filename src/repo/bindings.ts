/**
 * A commit's bindings (spec/ostree-format.md §6.4): metadata keys of the commit
 * itself (covered by its checksum) that say where it may be published.
 *
 *   ostree.ref-binding         as  the refs the commit may be pulled as
 *                                  (`ostree commit --branch=B` adds [B],
 *                                  `--bind-ref` more, `--no-bindings` none)
 *   ostree.collection-binding  s   the collection id of the repository it
 *                                  was made for (added with a collection id)
 *
 * `ostree pull` refuses a ref whose commit has a ref binding that does not
 * list that ref ("Commit has no requested ref 'R' in ref binding metadata"),
 * and, when the client knows the remote's collection id, a collection
 * binding naming another one. So publishing such a ref makes a ref no client
 * can pull. `bindingConflict` is that judgement, shared by the receiver
 * (which refuses) and the pusher (which does not ask):
 *
 * - a ref binding is present and does not list the ref: conflict;
 * - the repository has a collection id (`[core] collection-id`), the commit
 *   has a collection binding, and they differ: conflict;
 * - no binding at all is never a conflict (`--no-bindings`), although a
 *   client that pulls with a collection id requires bindings;
 * - a key of another type is no binding, as libostree's typed lookup reads it.
 */
import type { Variant } from '../gvariant/index.js';

export const REF_BINDING_KEY = 'ostree.ref-binding';
export const COLLECTION_BINDING_KEY = 'ostree.collection-binding';

export interface BindingConflict {
  kind: 'ref' | 'collection';
  /** What the commit is bound to: its ref binding, or its one collection id. */
  bound: string[];
  /** What it would be published as: the ref, or the repository's collection id. */
  wanted: string;
  /** One line for the person pushing. */
  message: string;
}

/** The repository's collection id (`[core] collection-id`), or null. */
export function collectionIdOf(config: { getString(group: string, key: string): string | undefined }): string | null {
  const id = config.getString('core', 'collection-id');
  return id === undefined || id === '' ? null : id;
}

const quoted = (xs: readonly string[]): string => xs.map((x) => `'${x}'`).join(', ');

/** Why publishing commit `commit` (metadata `metadata`) as `ref` makes a ref clients refuse, or null. */
export function bindingConflict(commit: string, metadata: ReadonlyMap<string, Variant>, ref: string, collectionId: string | null): BindingConflict | null {
  const refs = metadata.get(REF_BINDING_KEY);
  if (refs?.type === 'as') {
    const bound = refs.value as string[];
    if (!bound.includes(ref)) {
      return {
        kind: 'ref',
        bound,
        wanted: ref,
        message: `commit ${commit} is bound to ${bound.length === 0 ? 'no ref' : quoted(bound)} (${REF_BINDING_KEY}), not '${ref}': ostree pull would refuse ${ref}; push it to a ref it is bound to, or commit it again with --bind-ref=${ref}`,
      };
    }
  }
  const coll = metadata.get(COLLECTION_BINDING_KEY);
  if (collectionId !== null && coll?.type === 's' && coll.value !== collectionId) {
    return {
      kind: 'collection',
      bound: [coll.value as string],
      wanted: collectionId,
      message: `commit ${commit} is bound to collection '${String(coll.value)}' (${COLLECTION_BINDING_KEY}), but this repository's collection id is '${collectionId}': ostree pull would refuse it`,
    };
  }
  return null;
}
