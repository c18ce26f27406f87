/**
 * Peak RSS and CPU of each process under a child, told apart by command
 * line, by polling /proc (Linux): every `intervalMs` the tree below the root
 * pid is walked (`/proc/PID/task/TID/children`) and each process's VmHWM
 * (its peak resident set, kept by the kernel) and utime + stime are read.
 *
 * Used where one command starts another that /usr/bin/time cannot wrap on
 * its own (`ostree-push s3://…` starts its receiver itself): /usr/bin/time
 * gives the pair's CPU together and the larger of their two peaks. Polling
 * misses only what a process does after the last poll before it exits (at
 * most `intervalMs`): its peak is a kernel figure, so nothing is missed
 * unless memory grows in that last interval.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Usage } from './timed.js';

const TICK_MS = 10; // USER_HZ is 100 on Linux

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function children(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((tid) => (read(`/proc/${pid}/task/${tid}/children`) ?? '').trim().split(/\s+/).filter((x) => x !== '').map(Number));
}

function sample(pid: number): { cmdline: string; usage: Usage } | null {
  const status = read(`/proc/${pid}/status`);
  const stat = read(`/proc/${pid}/stat`);
  const cmdline = read(`/proc/${pid}/cmdline`);
  if (status === null || stat === null || cmdline === null) return null;
  const hwm = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (hwm === undefined || !Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return { cmdline: cmdline.replace(/\0/g, ' '), usage: { maxRssKiB: Number(hwm), userMs: utime * TICK_MS, sysMs: stime * TICK_MS } };
}

export interface ProcWatch {
  /** Stops polling; the last figures of each process whose command line matched, by label. */
  stop(): Map<string, Usage>;
}

/**
 * Polls the tree under `rootPid`; a process is recorded under the first
 * label whose pattern matches its command line (others are ignored).
 */
export function watchProcesses(rootPid: number, labels: ReadonlyArray<[label: string, pattern: RegExp]>, intervalMs = 50): ProcWatch {
  const last = new Map<number, { label: string; usage: Usage }>();
  const poll = (): void => {
    const todo = [rootPid];
    while (todo.length > 0) {
      const pid = todo.pop() as number;
      const s = sample(pid);
      if (s !== null) {
        const label = labels.find(([, p]) => p.test(s.cmdline))?.[0];
        if (label !== undefined) last.set(pid, { label, usage: s.usage });
      }
      todo.push(...children(pid));
    }
  };
  const timer = setInterval(poll, intervalMs);
  poll();
  return {
    stop() {
      clearInterval(timer);
      const out = new Map<string, Usage>();
      for (const { label, usage } of last.values()) {
        const had = out.get(label);
        out.set(label, had === undefined ? usage : { maxRssKiB: Math.max(had.maxRssKiB, usage.maxRssKiB), userMs: had.userMs + usage.userMs, sysMs: had.sysMs + usage.sysMs });
      }
      return out;
    },
  };
}
