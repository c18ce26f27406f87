/** The repository a command uses when --repo is not given: ostree's default chain. */
import { statSync } from 'node:fs';
import { join } from 'node:path';

/** True when `dir` looks like a repository the way ostree checks it: a `config` file and an `objects` directory. */
export function looksLikeRepo(dir: string): boolean {
  try {
    return statSync(join(dir, 'config')).isFile() && statSync(join(dir, 'objects')).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The repository when --repo is not given, as `ostree` chooses it
 * (ostree_repo_new_default): the current directory if it looks like a
 * repository, else `$OSTREE_REPO` when set and non-empty, else /ostree/repo.
 */
export function defaultRepoPath(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  if (looksLikeRepo(cwd)) return cwd;
  const fromEnv = env['OSTREE_REPO'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return '/ostree/repo';
}
