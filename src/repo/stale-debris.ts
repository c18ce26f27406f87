/**
 * What dead processes leave in a repository, and its sweeping. Each name
 * holds the pid of the process that made it; an entry is removed only when
 * that process is dead (for a staging directory: when the owner recorded in
 * its owner.json is, process-identity.ts), never while it lives:
 *
 *   tmp/push-staging-<pid>-<hex>/                    a receive's staging (staging.ts)
 *   tmp/ostree-push.lock.<pid>-<hex>                 the temp file of a lock being taken (lock.ts)
 *   tmp/ostree-push.lock.break.<pid>-<hex>           the same, of the lock's breaker
 *   tmp/.tmp-<pid>-<hex>                             a durable write or a receiver slot's temp file (fsutil.ts, receiver-slots.ts)
 *   refs/…/.tmp-<pid>-<hex>                          a ref write killed before its rename (fsutil.replaceFileDurableSync)
 *   tmp/ostree-push-receiver.<i>                     a dead receiver's slot (receiver-slots.ts)
 *
 * A writer sweeps when it opens the repository (open-for-writing.ts), so a
 * receiver killed by SIGKILL leaves nothing that outlives the next receive.
 */
import { readdirSync, readFileSync, rmSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { ownerAlive, parseOwner, pidAlive } from './process-identity.js';
import { sweepDeadSlots } from './receiver-slots.js';
import type { Repo } from './repo.js';
import { STAGING_PREFIX } from './staging.js';

const STAGING_RE = new RegExp(`^${STAGING_PREFIX}(\\d+)-[0-9a-f]+$`);
/** Temp files of the lock and of durable writes left in tmp/ by a killed process. */
const DEBRIS_RE = /^(?:ostree-push\.lock(?:\.break)?\.|\.tmp-)(\d+)-[0-9a-f]+$/;
/** The temp file of a ref write (fsutil.replaceFileDurableSync) in refs/, left by a process killed before its rename. */
const REF_TEMP_RE = /^\.tmp-(\d+)-[0-9a-f]+$/;

/**
 * Removes staging directories and temp debris in tmp/, ref temp files in
 * refs/ and receiver slots whose owner is dead.
 * Returns the names removed. A live owner's staging is never touched.
 */
export function sweepStaleDebris(repo: Repo): string[] {
  const tmp = repo.resolve('tmp');
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(tmp);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return removed;
    throw e;
  }
  for (const name of names) {
    const s = STAGING_RE.exec(name);
    const d = s === null ? DEBRIS_RE.exec(name) : null;
    if (s === null && d === null) continue;
    const pid = Number((s ?? d)?.[1]);
    let alive: boolean;
    if (s !== null) {
      let owner;
      try {
        owner = parseOwner(readFileSync(join(tmp, name, 'owner.json'), 'utf8'));
      } catch {
        owner = undefined;
      }
      alive = owner !== undefined ? ownerAlive(owner) : pidAlive(pid);
    } else {
      alive = pidAlive(pid);
    }
    if (alive) continue;
    rmSync(join(tmp, name), { recursive: true, force: true });
    removed.push(name);
  }
  removed.push(...sweepRefTemps(repo));
  // A SIGKILLed receiver's slot (receiver-slots.ts) is as dead as its staging.
  removed.push(...sweepDeadSlots(repo));
  return removed;
}

/**
 * Removes ref temp files under refs/ whose writer is dead; returns their
 * paths relative to the repository. No reader takes them for refs (a ref
 * name cannot start with '.'), but they would stay forever.
 */
function sweepRefTemps(repo: Repo): string[] {
  const removed: string[] = [];
  const walk = (rel: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(repo.resolve(rel), { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const e of entries) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      const m = e.isFile() ? REF_TEMP_RE.exec(e.name) : null;
      if (m === null || pidAlive(Number(m[1]))) continue;
      rmSync(repo.resolve(r), { force: true });
      removed.push(r);
    }
  };
  walk('refs');
  return removed;
}
