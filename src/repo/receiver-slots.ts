/**
 * A bound on the receivers running at once on one repository: `max` slot
 * files, `tmp/ostree-push-receiver.<i>` for i below `max`; a receiver holds
 * one for its whole session or does not run.
 *
 * Why slot files, not a counter: a counter in a file is decremented by the
 * holder on exit, and a SIGKILLed holder never does, so the count drifts up
 * until the repository refuses everyone. A slot is instead a file naming its
 * holder (pid, boot id, process start time: process-identity.ts, as for the repository
 * lock), created atomically with link() (EEXIST when taken), so at most
 * `max` exist, and a slot whose holder is dead is free: the next receiver
 * that finds every slot taken checks their holders and takes over a dead
 * one. Taking over is serialised per slot by `<slot>.break`, taken the same
 * way, under which the slot is removed only if it still names the dead
 * holder (two breakers cannot both take it, nor remove a fresh one).
 *
 * A slot is released when the session ends and, like staging, on the way
 * out of a process stopped by a signal; one a SIGKILLed holder left is
 * removed by the next receiver that takes a slot (dead holders' slots are
 * swept first), so none stays behind for long.
 *
 * Nothing waits: with every slot held by a live process the receiver is
 * refused at once (REPO_BUSY). The temp file a slot is linked from is named
 * `.tmp-<pid>-<hex>` like other temp debris of tmp/, removed by the next
 * writer (stale-debris.ts sweepStaleDebris) if its creator died in between.
 */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { RepoError } from '../errors.js';
import { onExitCleanup } from './exit-cleanup.js';
import { randomSuffix } from './fsutil.js';
import { breakDead, holderDead, ownerContent, readOrNull, tryCreate, unlinkIfThere, type TempNamer } from './owner-file.js';
import type { Repo } from './repo.js';

export const SLOT_PREFIX = 'tmp/ostree-push-receiver.';

/** A slot's temp file is tmp/.tmp-<pid>-<hex>, debris stale-debris.ts knows. */
const inTmp: TempNamer = (path) => `${dirname(path)}/.tmp-${process.pid}-${randomSuffix()}`;

export interface ReceiverSlot {
  /** Which slot (0-based). */
  readonly index: number;
  release(): void;
}

/**
 * Removes the slots of dead holders (a SIGKILLed receiver, also beyond a
 * since lowered `max`); returns their names under tmp/. Run by every taker
 * first, and by whoever opens the repository for writing (stale-debris.ts
 * sweepStaleDebris), so a killed receiver's slot does not outlive it.
 */
export function sweepDeadSlots(repo: Repo, mine: string = ownerContent()): string[] {
  const dir = repo.resolve('tmp');
  const base = SLOT_PREFIX.slice('tmp/'.length);
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return removed;
    throw e;
  }
  for (const name of names) {
    if (!name.startsWith(base) || !/^\d+$/.test(name.slice(base.length))) continue;
    const seen = readOrNull(`${dir}/${name}`);
    if (seen !== null && holderDead(seen) && breakDead(`${dir}/${name}`, seen, mine, inTmp)) removed.push(name);
  }
  return removed;
}

/**
 * Takes one of `max` receiver slots of the repository, or throws REPO_BUSY
 * when every one is held by a live process.
 */
export function takeReceiverSlot(repo: Repo, max: number): ReceiverSlot {
  const content = ownerContent();
  const pathOf = (i: number): string => repo.resolve(`${SLOT_PREFIX}${i}`);
  const slot = (index: number): ReceiverSlot => {
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      unregister();
      // Only if it is still ours (it would not be if we had been judged dead).
      if (readOrNull(pathOf(index)) === content) unlinkIfThere(pathOf(index));
    };
    const unregister = onExitCleanup(release);
    return { index, release };
  };
  sweepDeadSlots(repo, content);
  for (let i = 0; i < max; i++) if (tryCreate(pathOf(i), content, inTmp)) return slot(i);
  throw new RepoError('REPO_BUSY', `${repo.path}: ${max} receiver${max === 1 ? ' is' : 's are'} running on this repository already (max_receivers); try again later`, {
    path: repo.path,
    max,
  });
}
