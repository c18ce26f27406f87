/**
 * Real ssh between the pusher and the receiver, with the fault link of
 * link.ts in front of the pusher:
 *
 *   pusher ⇄ link.ts (faults) ⇄ transport streams ⇄ ssh ⇄ receiver
 *
 * The transport's stdin/stdout are in this process, so the same framing,
 * chunking and fault machinery wraps them: a cut or stall there is the
 * pusher's connection dying or hanging, a corrupt byte reaches the receiver
 * through a real ssh channel.
 *
 *   ssh2     the in-process ssh2 server of testkit/ssh2-server.ts
 *            (receive() in this process) and the built-in transport. The
 *            receiver is not a process: no SIGKILL; fs faults act in process.
 *   openssh  a real sshd on loopback (testkit/sshd.ts) and the system ssh
 *            client (src/transport/openssh.ts); the remote command is
 *            sim/receiver.child.ts under a wrapper, its fault plan passed in
 *            the command line's environment, so kill points SIGKILL the
 *            real remote process. It reports what happened to it (killed,
 *            fs fault hit) in a small file, as it cannot tell us otherwise.
 */
import { existsSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { generateSshKeyPair } from '../src/transport/ssh-keygen.js';
import { startSsh2Server } from '../testkit/ssh2-server.js';
import { startSshd } from '../testkit/sshd.js';
import type { HasAfter } from '../testkit/tmp.js';
import { connectBuiltinSsh } from '../src/transport/builtin-ssh.js';
import { spawnOpenSsh } from '../src/transport/openssh.js';
import { shellQuote, type Transport } from '../src/transport/transport.js';
import type { Fault, FaultKind } from './faults.js';
import type { Link } from './link.js';

export type LinkKind = 'memory' | 'ssh2' | 'openssh';
export const LINK_KINDS: readonly LinkKind[] = ['memory', 'ssh2', 'openssh'];

/** The fault kinds that mean something on each link (no chunk or message reordering on TCP). */
export const LINK_FAULTS: Record<Exclude<LinkKind, 'memory'>, readonly FaultKind[]> = {
  ssh2: ['cut-byte', 'cut-message', 'corrupt', 'stall', 'fs', 'race'],
  openssh: ['cut-byte', 'cut-message', 'corrupt', 'stall', 'kill', 'fs', 'race'],
};

/** What the remote receiver of one session should suffer. */
export interface RemotePlan {
  kill?: Extract<Fault, { kind: 'kill' }>;
  fs?: Extract<Fault, { kind: 'fs' }>;
}

export interface Session {
  transport: Transport;
  /** After the session: which planned faults hit the receiver. */
  fired(): FaultKind[];
}

export interface RemoteReceiver {
  kind: Exclude<LinkKind, 'memory'>;
  /** Opens an ssh session running the receiver on `repoPath`. */
  connect(repoPath: string, plan: RemotePlan): Promise<Session>;
  close(): Promise<void>;
}

const CHILD = join(import.meta.dirname, 'receiver.child.ts');

export async function startSsh2Remote(dir: string, idleMs: number): Promise<RemoteReceiver> {
  const user = generateSshKeyPair();
  const keyFile = join(dir, 'id_ed25519');
  writeFileSync(keyFile, user.private, { mode: 0o600 });
  const server = await startSsh2Server({ authorizedKey: user.public, baseDir: dir, policy: { idleTimeoutMs: idleMs } });
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `${server.knownHostsLine}\n`);
  return {
    kind: 'ssh2',
    connect: async (repoPath) => {
      const transport = await connectBuiltinSsh(
        { kind: 'ssh', host: server.host, port: server.port, user: 'sim', path: repoPath },
        { knownHosts: [knownHosts], identityFiles: [keyFile], agent: false, onStderr: () => undefined },
      );
      return { transport, fired: () => [] };
    },
    close: () => server.close(),
  };
}

/** A HasAfter for use outside node:test (the CLI): runs the clean-ups on close. */
export function afterList(): HasAfter & { run(): Promise<void> } {
  const fns: (() => void | Promise<void>)[] = [];
  return {
    after: (fn) => void fns.push(fn),
    run: async () => {
      for (const fn of fns.reverse()) await fn();
    },
  };
}

export async function startOpensshRemote(t: HasAfter, dir: string, idleMs: number): Promise<RemoteReceiver> {
  // startSshd uses only t.after (and tmpDir's) of the test context.
  const sshd = await startSshd(t as unknown as TestContext);
  const wrapper = join(dir, 'sim-receiver');
  const tsx = import.meta.resolve('tsx');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${shellQuote(process.execPath)} --import ${shellQuote(tsx)} ${shellQuote(CHILD)} "$@"\n`);
  chmodSync(wrapper, 0o755);
  let n = 0;
  return {
    kind: 'openssh',
    connect: async (repoPath, plan) => {
      const report = join(dir, `session-${process.pid}-${n++}.report`);
      rmSync(report, { force: true });
      const faults = JSON.stringify({ ...(plan.kill ? { kill: { at: plan.kill.at, step: plan.kill.step } } : {}), ...(plan.fs ? { fail: plan.fs } : {}) });
      const env = [`SIM_FS_FAULTS=${faults}`, `SIM_IDLE_MS=${idleMs}`, `SIM_REPORT=${report}`].map(shellQuote).join(' ');
      const transport = spawnOpenSsh(
        { kind: 'ssh', host: sshd.host, port: sshd.port, user: sshd.user, path: repoPath },
        { sshCommand: sshd.sshCommand, receiveCommand: `env ${env} ${shellQuote(wrapper)}`, onStderr: () => undefined },
      );
      return {
        transport,
        fired: () => {
          if (!existsSync(report)) return [];
          const what = readFileSync(report, 'utf8');
          return what === 'killed' ? ['kill'] : what === 'fs' ? ['fs'] : [];
        },
      };
    },
    close: async () => undefined,
  };
}

/**
 * Joins the receiver's end of `link` to a transport. Resolves once the
 * remote end is over (its output ended and the session closed); by then the
 * link has been told the receiver exited.
 */
export function bindTransport(link: Link, tr: Transport): Promise<number | null> {
  tr.stdin.on('error', () => undefined);
  link.receiver.input.pipe(tr.stdin);
  tr.stdout.on('data', (d: Buffer) => link.receiver.output.write(d));
  const outEnded = new Promise<void>((res) => {
    tr.stdout.once('end', res);
    tr.stdout.once('close', res);
    tr.stdout.once('error', () => res());
  });
  return Promise.all([outEnded, tr.exit.catch(() => 1)]).then(([, code]) => {
    link.receiverExited();
    return code;
  });
}
