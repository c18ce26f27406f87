/**
 * Who holds a lock or owns a staging directory, and whether that holder is
 * still alive. Node has no flock/fcntl, so liveness is judged from the
 * holder's identity written next to the lock: a pid alone can be reused after
 * a crash, so the identity also records the boot id and the process start
 * time from /proc (Linux). Elsewhere only the pid is checked.
 */
import { readFileSync } from 'node:fs';

export interface Owner {
  pid: number;
  /** /proc/sys/kernel/random/boot_id, or '' when unavailable. */
  bootId: string;
  /** Field 22 of /proc/PID/stat (clock ticks since boot), or -1 when unavailable. */
  startTicks: number;
}

function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

export function processStartTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[19]); // field 22 overall; rest[0] is field 3
    return Number.isSafeInteger(ticks) ? ticks : -1;
  } catch {
    return -1;
  }
}

const bootId = readBootId();

export function currentOwner(): Owner {
  return { pid: process.pid, bootId, startTicks: processStartTicks(process.pid) };
}

export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** False only when we are sure the holder is gone (dead pid, other boot, reused pid). */
export function ownerAlive(o: Owner): boolean {
  if (o.bootId !== '' && bootId !== '' && o.bootId !== bootId) return false;
  if (!pidAlive(o.pid)) return false;
  if (o.startTicks >= 0) {
    const now = processStartTicks(o.pid);
    if (now >= 0 && now !== o.startTicks) return false;
  }
  return true;
}

export function parseOwner(text: string): Owner | undefined {
  try {
    const v = JSON.parse(text) as Partial<Owner>;
    if (typeof v.pid !== 'number' || typeof v.bootId !== 'string' || typeof v.startTicks !== 'number') return undefined;
    return { pid: v.pid, bootId: v.bootId, startTicks: v.startTicks };
  } catch {
    return undefined;
  }
}
