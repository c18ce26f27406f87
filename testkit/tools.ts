/**
 * System tools the oracle and integration tests need. Outside CI a missing
 * tool skips the test with a line saying what to install; under CI=true it
 * fails, because CI must install everything (.ci/run does).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';

export interface Tool {
  /** How to find it: an absolute path, or a command name looked up on PATH. */
  command: string;
  /** The Debian package that provides it. */
  debian: string;
  /** An optional probe beyond existence (e.g. a python module import). */
  probe?: string[];
}

export const TOOLS = {
  ostree: { command: 'ostree', debian: 'ostree' },
  python3: { command: 'python3', debian: 'python3' },
  glib: { command: '/usr/bin/python3', debian: 'python3-gi gir1.2-ostree-1.0', probe: ['-c', 'import gi; gi.require_version("OSTree", "1.0"); from gi.repository import GLib, OSTree'] },
  sshd: { command: '/usr/sbin/sshd', debian: 'openssh-server' },
  ssh: { command: 'ssh', debian: 'openssh-client' },
  rsync: { command: 'rsync', debian: 'rsync' },
  setfattr: { command: 'setfattr', debian: 'attr' },
  gpg: { command: 'gpg', debian: 'gpg' },
  gpgv: { command: 'gpgv', debian: 'gpgv' },
  perl: { command: 'perl', debian: 'perl-base' },
  strace: { command: 'strace', debian: 'strace' },
  radosgw: { command: 'radosgw', debian: 'radosgw' },
  cephMon: { command: 'ceph-mon', debian: 'ceph-mon' },
  cephOsd: { command: 'ceph-osd', debian: 'ceph-osd' },
} satisfies Record<string, Tool>;

export type ToolName = keyof typeof TOOLS;

const cache = new Map<ToolName, boolean>();

export function hasTool(name: ToolName): boolean {
  const known = cache.get(name);
  if (known !== undefined) return known;
  const tool: Tool = TOOLS[name];
  let ok: boolean;
  try {
    if (tool.command.startsWith('/')) {
      ok = existsSync(tool.command);
    } else {
      execFileSync('sh', ['-c', `command -v ${tool.command}`], { stdio: 'ignore' });
      ok = true;
    }
    if (ok && tool.probe) execFileSync(tool.command, tool.probe, { stdio: 'ignore' });
  } catch {
    ok = false;
  }
  cache.set(name, ok);
  return ok;
}

/**
 * Call at the top of a test that needs the tools. Returns false when the test
 * was skipped (the caller returns at once); throws under CI=true.
 */
export function needTools(t: TestContext, ...names: ToolName[]): boolean {
  const missing = names.filter((n) => !hasTool(n));
  if (missing.length === 0) return true;
  const what = missing.map((n) => `${n} (apt-get install ${TOOLS[n].debian})`).join(', ');
  if (process.env.CI === 'true') throw new Error(`CI=true and a required tool is missing: ${what}`);
  t.skip(`needs ${what}`);
  return false;
}
