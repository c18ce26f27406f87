/**
 * Is a destination pullable by a real client? Serves the repository over
 * http (http-server.ts), makes a fresh archive repository, adds the server
 * as remote `origin` and runs one `ostree pull` of every ref (or the refs
 * given), then `ostree fsck` on the client, and checks the client got for
 * each ref the commit the destination has. A client reads refs from the
 * summary when there is one, else from refs/heads/; ref bindings in the
 * commits are checked by the pull itself.
 *
 * `gpg`: the remote verifies the summary's GPG signature against that
 * keyring (`gpg-verify-summary=true`, and commit signatures too with
 * `commits: true`). Debian's ostree has no ed25519 (`ostree sign`) support
 * (built without libsodium), so a summary signed with ed25519 only is pulled
 * without verification.
 *
 * Callers guard with `needTools(t, 'ostree')` first. Throws an Error naming
 * the failed command, with its stderr, when anything fails.
 */
import { join } from 'node:path';
import { serveDirectory } from './http-server.js';
import { ostree, ostreeFsck, ostreeRefs, ostreeRevParse } from './ostree.js';
import { tmpDir, type HasAfter } from './tmp.js';

export interface PullCheckOptions {
  /** Refs to pull (default every ref of refs/heads, i.e. every ref `ostree refs` lists without a remote). */
  refs?: readonly string[];
  /** Verify the summary's GPG signature with this exported public key (a keyring file). */
  gpg?: { keyring: string; commits?: boolean };
  /** Where the client repository goes (default a fresh scratch directory removed after the test). */
  clientDir?: string;
}

export interface PullCheckResult {
  /** What the client pulled: ref → commit (equal to the destination's). */
  refs: Record<string, string>;
  /** The paths the client asked the server for (e.g. to see the summary was read). */
  requested: string[];
}

/** Pulls `repo` over http into a fresh client with one `ostree pull`, then fscks the client. */
export async function assertPullable(t: HasAfter, repo: string, options: PullCheckOptions = {}): Promise<PullCheckResult> {
  const refs = options.refs ?? (await ostreeRefs(repo)).filter((r) => !r.includes(':'));
  if (refs.length === 0) throw new Error(`${repo} has no ref to pull`);
  const want: Record<string, string> = {};
  for (const r of refs) want[r] = await ostreeRevParse(repo, r);
  const server = await serveDirectory(repo, t);
  try {
    const client = options.clientDir ?? join(tmpDir(t, 'pull'), 'client');
    await ostree(['init', '--mode=archive', `--repo=${client}`]);
    const verify =
      options.gpg === undefined
        ? ['--no-gpg-verify']
        : ['--set=gpg-verify-summary=true', `--set=gpg-verify=${options.gpg.commits === true ? 'true' : 'false'}`, `--gpg-import=${options.gpg.keyring}`];
    await ostree(['remote', 'add', `--repo=${client}`, ...verify, 'origin', server.url]);
    await ostree(['pull', `--repo=${client}`, 'origin', ...refs], { timeout: 120_000 });
    const fsck = await ostreeFsck(client);
    if (!fsck.ok) throw new Error(`ostree fsck of the pulled client failed (exit ${fsck.code}): ${fsck.command}\n${fsck.stderr.trimEnd()}`);
    const got: Record<string, string> = {};
    for (const r of refs) {
      got[r] = await ostreeRevParse(client, `origin:${r}`);
      if (got[r] !== want[r]) throw new Error(`the client pulled ${r} at ${got[r]}, the destination has ${want[r]}`);
    }
    return { refs: got, requested: server.log.filter((e) => e.status === 200).map((e) => e.path) };
  } finally {
    await server.close();
  }
}
