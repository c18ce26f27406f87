#!/usr/bin/python3
"""The re-commit of a received commit as libostree writes it, for the tests.

usage: ostree_recommit.py REPO SOURCE REF PARENT COLLECTION
(PARENT and COLLECTION may be empty.) Builds the commit that the
`recommit` setting describes (src/protocol/receive-recommit.ts) through
libostree's own API (GVariantDict for the metadata, write_commit_with_time),
inside a transaction that is then aborted, so the repository is left as it
was; prints the new commit's checksum.
"""
import sys

import gi

gi.require_version('OSTree', '1.0')
from gi.repository import Gio, GLib, OSTree  # noqa: E402


def main():
    path, source, ref, parent, collection = sys.argv[1:6]
    repo = OSTree.Repo.new(Gio.File.new_for_path(path))
    repo.open(None)
    _, commit, _ = repo.load_commit(source)
    meta = GLib.VariantDict.new(commit.get_child_value(0))
    meta.insert_value('ostree.ref-binding', GLib.Variant('as', [ref]))
    if collection:
        meta.insert_value('ostree.collection-binding', GLib.Variant('s', collection))
    else:
        meta.remove('ostree.collection-binding')
    if ref.startswith('app/') or ref.startswith('runtime/'):
        meta.insert_value('xa.ref', GLib.Variant('s', ref))
        meta.insert_value('xa.from_commit', GLib.Variant('s', source))
    repo.prepare_transaction(None)
    try:
        _, root, _ = repo.read_commit(source, None)
        mtree = OSTree.MutableTree.new()
        repo.write_directory_to_mtree(root, mtree, None, None)
        _, new_root = repo.write_mtree(mtree, None)
        _, checksum = repo.write_commit_with_time(
            parent or None,
            commit.get_child_value(3).get_string(),
            commit.get_child_value(4).get_string(),
            meta.end(),
            new_root,
            OSTree.commit_get_timestamp(commit),
            None,
        )
    finally:
        repo.abort_transaction(None)
    print(checksum)


if __name__ == '__main__':
    main()
