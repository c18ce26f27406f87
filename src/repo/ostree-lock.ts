/**
 * libostree's own repository lock: the file `.lock` at the repository's top,
 * taken the way the ostree command line takes it, so that `ostree prune`
 * (exclusive) cannot delete objects between our closure check and our ref
 * write, and our publication cannot run inside a prune.
 *
 * What ostree does (observed with strace on ostree 2022.7, see README.md):
 * it opens `.lock` (O_RDWR|O_CREAT, mode 0660) and locks the whole file with
 * an open-file-description lock, fcntl(F_OFD_SETLK), non-blocking, retried
 * once a second up to `core.lock-timeout-secs`; shared (F_RDLCK) around a
 * transaction (commit, pull, pull-local, reset) and `summary -u`, exclusive
 * (F_WRLCK) for prune. flock(2) locks do not conflict with OFD locks on a
 * local file system, so util-linux's flock(1) would exclude nothing.
 *
 * Node has no fcntl. The lock is held by a child process, `perl` (perl-base
 * is Essential in Debian, so present on every Debian machine), which opens
 * `.lock`, takes the OFD lock with F_OFD_SETLKW (falling back to flock(2)
 * when the kernel has no OFD locks, as libostree does), says `locked`, and
 * holds it until its stdin reaches end of file. Our end of that pipe closes
 * when we release, and also when this process dies in any way, SIGKILL
 * included: the child then exits and the kernel drops the lock with its last
 * descriptor. The child is started with its own stdin/stdout pipes only,
 * and with PATH alone in its environment.
 *
 * Where perl cannot be started or the lock cannot be taken for a reason other
 * than a holder (no perl, a file system refusing locks), `acquireOstreeLock`
 * returns a handle with `held: false` and the reason: the caller warns and
 * goes on with its own lock only (the behaviour before this lock existed).
 * A holder that keeps the lock longer than the timeout is REPO_LOCK_TIMEOUT.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { RepoError } from '../errors.js';
import type { Repo } from './repo.js';

export type OstreeLockMode = 'shared' | 'exclusive';

/** F_OFD_SETLKW is 38 on Linux (asm-generic); l_type is the first member of struct flock on every Linux ABI. */
const HOLDER = String.raw`
use strict; use Fcntl qw(:DEFAULT :flock);
my ($path, $mode) = @ARGV;
$| = 1;
sysopen(my $fh, $path, O_RDWR | O_CREAT, 0660) or do { print "unavailable open: $!\n"; exit 3 };
my $how = 'ofd';
my $buf = pack('s', $mode eq 'exclusive' ? F_WRLCK : F_RDLCK) . ("\0" x 62);
my $ok;
while (1) { $ok = fcntl($fh, 38, $buf); last if $ok || !$!{EINTR}; }
if (!$ok) {
  if (!$!{EINVAL}) { print "unavailable fcntl: $!\n"; exit 3 }
  $how = 'flock';
  flock($fh, $mode eq 'exclusive' ? LOCK_EX : LOCK_SH) or do { print "unavailable flock: $!\n"; exit 3 };
}
print "locked $how\n";
my $b;
1 while sysread(STDIN, $b, 4096);
exit 0;
`;

export interface OstreeLockOptions {
  /** How long to wait for a holder (an `ostree prune`); default 30 s. */
  timeoutMs?: number;
  /** The program to run instead of `perl` (tests: a missing one). */
  perl?: string;
}

export interface OstreeLock {
  readonly mode: OstreeLockMode;
  /** false: the lock could not be taken at all (`unavailable` says why); nothing is excluded. */
  readonly held: boolean;
  readonly unavailable?: string;
  /** 'ofd' as ostree takes it, or 'flock' on a kernel without OFD locks. */
  readonly how?: 'ofd' | 'flock';
  /** The holder's pid (tests kill it, or check it is gone). */
  readonly pid?: number;
  /** Releases the lock; resolves once the holder has exited, so the lock is free. */
  release(): Promise<void>;
}

type Holder = ChildProcessByStdio<Writable, Readable, null>;

function unavailableLock(mode: OstreeLockMode, why: string): OstreeLock {
  return { mode, held: false, unavailable: why, release: () => Promise.resolve() };
}

/** Takes ostree's `.lock` on `repo` in `mode`. */
export async function acquireOstreeLock(repo: Repo, mode: OstreeLockMode, options: OstreeLockOptions = {}): Promise<OstreeLock> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const path = repo.resolve('.lock');
  let child: Holder;
  try {
    // Only PATH: PERL5OPT, PERL5LIB and the like must not change what the holder runs.
    child = spawn(options.perl ?? 'perl', ['-e', HOLDER, path, mode], { stdio: ['pipe', 'pipe', 'ignore'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  } catch (e) {
    return unavailableLock(mode, `cannot start perl: ${(e as Error).message}`);
  }
  child.stdin.on('error', () => undefined);
  const exited = new Promise<void>((res) => {
    child.once('exit', () => res());
    child.once('error', () => res());
  });
  let out = '';
  const answer = await new Promise<{ line: string } | { error: string } | { timeout: true }>((res) => {
    const timer = setTimeout(() => res({ timeout: true }), timeoutMs);
    const done = (v: { line: string } | { error: string }): void => {
      clearTimeout(timer);
      res(v);
    };
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const nl = out.indexOf('\n');
      if (nl >= 0) done({ line: out.slice(0, nl) });
    });
    child.once('error', (e) => done({ error: `cannot start perl: ${e.message}` }));
    child.once('exit', (code, signal) => done({ error: `the lock holder exited (${signal ?? `status ${code}`}) before locking` }));
  });
  const stop = async (): Promise<void> => {
    child.stdin.end();
    child.stdout.destroy();
    await exited;
  };
  if ('timeout' in answer) {
    child.kill('SIGKILL');
    await stop();
    throw new RepoError('REPO_LOCK_TIMEOUT', `${repo.path}: ostree's repository lock (.lock) is held by another process (an ostree prune?) for more than ${timeoutMs} ms`, {
      path: repo.path,
      holderPid: null,
      timeoutMs,
    });
  }
  if ('error' in answer || !answer.line.startsWith('locked ')) {
    await stop();
    const why = 'error' in answer ? answer.error : answer.line.replace(/^unavailable /, '');
    return unavailableLock(mode, why);
  }
  const how = answer.line === 'locked flock' ? 'flock' : 'ofd';
  let released: Promise<void> | undefined;
  return {
    mode,
    held: true,
    how,
    ...(child.pid === undefined ? {} : { pid: child.pid }),
    release: () => (released ??= stop()),
  };
}
