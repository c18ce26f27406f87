/**
 * The local directory of a receive into a bucket (bucket-receive.ts): the
 * session's small root (config, refs, lock, staging) in the temp dir, and
 * its sweeping once its owner is dead.
 *
 *   TMPDIR/ostree-push-bucket-<pid>-<hex>/owner.json   who owns it: pid, boot id,
 *                                                      process start time, host name
 *   TMPDIR/ostree-push-bucket-<pid>-<hex>/repo/        the session root
 *
 * A session removes its directory when it ends, and on the way out of a
 * process stopped by SIGINT, SIGTERM or SIGHUP (exit-cleanup.ts). A SIGKILL
 * leaves it: the next receive sweeps the temp dir first and removes each
 * such directory whose owner is dead (process-identity.ts: a pid alone can
 * be reused, so the boot id and the start time are compared too). Never
 * removed: a directory whose owner is alive, or may be: one without a
 * readable owner.json whose pid (in its name) is alive (it may be between
 * making the directory and writing the file), one whose owner.json names
 * another host (a temp dir shared between machines: their pids mean nothing
 * here), one that is not a directory or not this user's (a name another
 * user planted in a shared /tmp), and names of any other form.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { onExitCleanup } from '../repo/exit-cleanup.js';
import { randomSuffix, writeNewFileSync } from '../repo/fsutil.js';
import { currentOwner, ownerAlive, parseOwner, pidAlive } from '../repo/process-identity.js';

export const SESSION_DIR_PREFIX = 'ostree-push-bucket-';
const SESSION_DIR_RE = new RegExp(`^${SESSION_DIR_PREFIX}(\\d+)-[0-9a-f]+$`);
export const SESSION_OWNER_FILE = 'owner.json';

export interface SessionDir {
  /** The directory (absolute). */
  path: string;
  /** Removes it (also run if the process is stopped by a signal). */
  remove(): void;
}

/** Makes this session's directory in `parent` (default the temp dir), owner.json first. */
export function makeSessionDir(parent: string = tmpdir()): SessionDir {
  const path = join(parent, `${SESSION_DIR_PREFIX}${process.pid}-${randomSuffix()}`);
  mkdirSync(path, { mode: 0o700 });
  const remove = (): void => {
    unregister();
    rmSync(path, { recursive: true, force: true });
  };
  const unregister = onExitCleanup(remove);
  try {
    writeNewFileSync(join(path, SESSION_OWNER_FILE), JSON.stringify({ ...currentOwner(), host: hostname() }));
  } catch (e) {
    remove();
    throw e;
  }
  return { path, remove };
}

/** Whether the session directory `name` in `parent` belongs to a dead process of this host and user. */
function deadSession(parent: string, name: string): boolean {
  const m = SESSION_DIR_RE.exec(name);
  if (m === null) return false;
  const path = join(parent, name);
  const st = lstatSync(path);
  if (!st.isDirectory() || (process.getuid !== undefined && st.uid !== process.getuid())) return false;
  let text: string | undefined;
  try {
    text = readFileSync(join(path, SESSION_OWNER_FILE), 'utf8');
  } catch {
    text = undefined;
  }
  const owner = text === undefined ? undefined : parseOwner(text);
  if (owner === undefined) return !pidAlive(Number(m[1]));
  const host = (JSON.parse(text as string) as { host?: unknown }).host;
  if (typeof host === 'string' && host !== hostname()) return false;
  return !ownerAlive(owner);
}

/**
 * Removes the session directories in `parent` (default the temp dir) whose
 * owner is dead (see the module comment); returns their names. Best effort:
 * an entry that cannot be judged or removed is left, and nothing throws.
 */
export function sweepDeadSessionDirs(parent: string = tmpdir()): string[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    try {
      if (!deadSession(parent, name)) continue;
      rmSync(join(parent, name), { recursive: true, force: true });
      removed.push(name);
    } catch {
      /* gone meanwhile, or not ours to remove */
    }
  }
  return removed;
}
