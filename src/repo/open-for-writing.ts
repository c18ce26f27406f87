/** How a receiver opens the repository it will write into. */
import { Repo } from './repo.js';
import { sweepStaleDebris } from './stale-debris.js';

/** Opens a repository for writing: as Repo.open, then sweeps what dead receivers left (stale-debris.ts). */
export function openRepoForWriting(path: string): Repo {
  const repo = Repo.open(path);
  sweepStaleDebris(repo);
  return repo;
}
