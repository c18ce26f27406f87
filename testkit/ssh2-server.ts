/**
 * An in-process ssh server (ssh2) on 127.0.0.1 for the demo and tests: a
 * fresh ed25519 host key, exactly one accepted user key, and exec requests
 * served by calling receive() in this process. Only the commands
 * ostree-receive-shell accepts are run (same parser); anything else gets a
 * one-line refusal on the channel's stderr and exit status 127, as a shell
 * without that program would answer. Shells, subsystems, port forwarding:
 * refused.
 *
 * Relative repository paths resolve against `baseDir` (a login directory).
 */
import { isAbsolute, resolve } from 'node:path';
import ssh2 from 'ssh2';
import { generateSshKeyPair } from '../src/transport/ssh-keygen.js';
import type { AuthContext, Connection, ParsedKey, ServerChannel } from 'ssh2';
import { isOstreePushError } from '../src/errors.js';
import { receive, type ReceiverPolicy, type ReceiveResult } from '../src/protocol/index.js';
import { openRepoForWriting } from '../src/repo/index.js';
import { versionLine } from '../src/cli/version-line.js';
import { parseReceiveCommand } from '../src/cli/receive-shell.js';
import { ShellError } from '../src/cli/shell-words.js';
import { knownHostsLine } from '../src/transport/known-hosts.js';

export interface Ssh2ServerOptions {
  /** The one public key accepted (an OpenSSH `type base64 [comment]` line). */
  authorizedKey: string;
  baseDir: string;
  policy?: ReceiverPolicy;
  /** Receiver log lines (they also go to the client's stderr with -v). */
  log?: (line: string) => void;
  /** Each finished session, for assertions and the demo's story. */
  onSession?: (command: string, result: ReceiveResult | Error) => void;
  /** Answers an exec instead of the receiver when it returns true (tests: a receiver killed by a signal). */
  intercept?: (command: string, channel: ServerChannel) => boolean;
}

export interface Ssh2Server {
  host: '127.0.0.1';
  port: number;
  /** The host public key blob, its known_hosts line for this port, and its fingerprint source. */
  hostKey: Buffer;
  knownHostsLine: string;
  /** Commands received, in order. */
  commands: string[];
  close(): Promise<void>;
}

function parsePublic(line: string): ParsedKey {
  const k = ssh2.utils.parseKey(line);
  const key = Array.isArray(k) ? k[0] : k;
  if (key === undefined || key instanceof Error) throw new Error(`authorizedKey is not a public key: ${key instanceof Error ? key.message : 'empty'}`);
  return key as ParsedKey;
}

function checkAuth(ctx: AuthContext, allowed: ParsedKey): void {
  if (ctx.method !== 'publickey') {
    ctx.reject(['publickey']);
    return;
  }
  const same = ctx.key.algo === allowed.type && ctx.key.data.equals(allowed.getPublicSSH());
  if (!same) {
    ctx.reject(['publickey']);
    return;
  }
  // Without a signature the client is only asking whether the key would do.
  if (ctx.signature !== undefined && allowed.verify(ctx.blob as Buffer, ctx.signature, ctx.hashAlgo) !== true) {
    ctx.reject(['publickey']);
    return;
  }
  ctx.accept();
}

async function serveExec(stream: ServerChannel, command: string, options: Ssh2ServerOptions): Promise<void> {
  let code = 1;
  try {
    const inv = parseReceiveCommand(command);
    if ('version' in inv) {
      stream.write(`${versionLine('ostree-receive')}\n`);
      code = 0;
    } else if ('pull' in inv) {
      // The in-process server runs version-0 sessions only: the 1.x form is refused as an unknown command.
      throw new ShellError('SHELL_REFUSED', 'the 1.x form (a pull from a URL) is not served in process', { command });
    } else {
      const path = isAbsolute(inv.repo) ? inv.repo : resolve(options.baseDir, inv.repo);
      const repo = openRepoForWriting(path);
      const result = await receive({
        repo,
        input: stream,
        output: stream,
        ...(options.policy === undefined ? {} : { policy: options.policy }),
        log: (line) => {
          options.log?.(line);
          if (inv.verbose) stream.stderr.write(`ostree-receive: ${line}\n`);
        },
      });
      if (result.error !== undefined) stream.stderr.write(`ostree-receive: ${result.error.message}\n`);
      code = result.outcome === 'idle' || result.outcome === 'published' ? 0 : 1;
      options.onSession?.(command, result);
    }
  } catch (e) {
    const refused = isOstreePushError(e) && e.code === 'SHELL_REFUSED';
    stream.stderr.write(`${refused ? 'sh' : 'ostree-receive'}: ${e instanceof Error ? e.message : String(e)}\n`);
    code = refused ? 127 : isOstreePushError(e) ? e.exitCode : 1;
    options.onSession?.(command, e instanceof Error ? e : new Error(String(e)));
  }
  if (stream.writable) stream.exit(code);
  stream.end();
}

export async function startSsh2Server(options: Ssh2ServerOptions): Promise<Ssh2Server> {
  const allowed = parsePublic(options.authorizedKey);
  const pair = generateSshKeyPair();
  const hostKey = Buffer.from(pair.public.split(' ')[1] ?? '', 'base64');
  const commands: string[] = [];
  const connections = new Set<Connection>();
  const server = new ssh2.Server({ hostKeys: [pair.private] }, (client) => {
    connections.add(client);
    client.on('close', () => connections.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => checkAuth(ctx, allowed));
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('exec', (acceptExec, _reject, info) => {
          commands.push(info.command);
          const channel = acceptExec();
          if (options.intercept?.(info.command, channel) === true) return;
          void serveExec(channel, info.command, options);
        });
        session.on('shell', (_a, reject) => reject());
        session.on('subsystem', (_a, reject) => reject());
        session.on('pty', (_a, reject) => reject?.());
      });
      client.on('tcpip', (_a, reject) => reject());
    });
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => res());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    host: '127.0.0.1',
    port,
    hostKey,
    knownHostsLine: knownHostsLine('127.0.0.1', port, hostKey),
    commands,
    close: async () => {
      for (const c of connections) c.end();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}
