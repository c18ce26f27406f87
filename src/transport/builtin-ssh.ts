/**
 * The built-in transport, on the ssh2 package, for machines without an
 * OpenSSH client (`ostree-push --ssh=builtin`). It does less than OpenSSH
 * and never more loosely:
 *
 * - host keys: checked strictly against known_hosts (~/.ssh/known_hosts and
 *   /etc/ssh/ssh_known_hosts, or the files given) by known-hosts.ts; an
 *   unknown, changed or revoked key ends the connection with the key's
 *   SHA256 fingerprint in the message. There is no "accept new key" mode:
 *   add the key with ssh-keyscan, or by hand, after checking it.
 * - authentication: the agent at $SSH_AUTH_SOCK, then the key files given
 *   (-i) or the default ones (~/.ssh/id_ed25519, id_ecdsa, id_rsa) that
 *   exist and are not passphrase-protected. No passwords, no prompts.
 * - no ~/.ssh/config (ssh2 does not read it): user, port and keys come from
 *   REMOTE and the options.
 *
 * The socket has TCP_NODELAY: small messages go out at once (see 'ready').
 *
 * The session: exec `ostree-receive --repo=PATH`; stdin/stdout are the
 * channel, its stderr is always read (an unread stderr stalls the channel)
 * and passed on; stdout is drained into our own stream (see below). The exit status comes from the channel's `exit` event,
 * which is optional and may come before the last data: the session ends on
 * the channel's close, and a server that sent no status yields null (the
 * pusher then cannot claim success, as version 0 learns it only from there).
 * A receiver ended by a signal (the channel's exit-signal) rejects `exit`
 * with TRANSPORT_RECEIVER_KILLED naming it, unless kill() ended it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, ClientChannel, ParsedKey } from 'ssh2';
import { TransportError } from '../errors.js';
import { checkHostKey, fingerprint, blobKeyType, parseKnownHosts, preferredHostKeyAlgorithms, type HostKeyVerdict, type KnownHostEntry } from './known-hosts.js';
import { classifySshExit } from './openssh.js';
import type { Remote } from './remote.js';
import { receiveCommandLine, receiverKilled, type Transport } from './transport.js';

type SshRemote = Extract<Remote, { kind: 'ssh' }>;

export interface BuiltinSshOptions {
  /** known_hosts files (default ~/.ssh/known_hosts, ~/.ssh/known_hosts2, /etc/ssh/ssh_known_hosts). */
  knownHosts?: readonly string[];
  /** Private key files to try, like ssh -i; given files must be readable and unencrypted. */
  identityFiles?: readonly string[];
  /** The agent socket; default $SSH_AUTH_SOCK; false: no agent. */
  agent?: string | false;
  receiveCommand?: string;
  /** Default: the local user name. */
  username?: string;
  env?: NodeJS.ProcessEnv;
  home?: string;
  /** How long the connection and handshake may take (default 20 s). */
  readyTimeoutMs?: number;
  /** ssh keep-alives: a probe every `intervalMs`, the connection ends after `countMax` unanswered (default none). */
  keepAlive?: { intervalMs: number; countMax: number };
  onStderr?: (chunk: Buffer) => void;
}

function loadKnownHosts(files: readonly string[]): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    entries.push(...parseKnownHosts(text, file));
  }
  return entries;
}

function parseKeyFile(file: string, given: boolean): ParsedKey | undefined {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    if (!given) return undefined;
    throw new TransportError('TRANSPORT_BAD_KEY', `cannot read the key ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
  const parsed = ssh2.utils.parseKey(data);
  const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey | undefined) : parsed;
  if (key === undefined || key instanceof Error) {
    if (!given) return undefined; // e.g. passphrase-protected: the agent is the way for those
    const why = key instanceof Error ? key.message : 'no key in the file';
    throw new TransportError('TRANSPORT_BAD_KEY', `cannot use the key ${file}: ${why}`, { file });
  }
  return key;
}

/** What authentication can offer: the methods, what they are called in messages, and why there is none. */
interface Auth {
  methods: AnyAuthMethod[];
  tried: string[];
  /** Said when `tried` is empty: no agent (and why), no key (and where we looked). */
  nothing: string;
}

function authMethods(username: string, options: BuiltinSshOptions, env: NodeJS.ProcessEnv, home: string): Auth {
  const methods: AnyAuthMethod[] = [];
  const tried: string[] = [];
  const agent = options.agent === undefined ? env['SSH_AUTH_SOCK'] : options.agent;
  const agentUsable = typeof agent === 'string' && agent !== '' && existsSync(agent);
  if (agentUsable) {
    methods.push({ type: 'agent', username, agent });
    tried.push('the agent');
  }
  const given = options.identityFiles !== undefined;
  const defaults = ['id_ed25519', 'id_ecdsa', 'id_rsa'];
  const files = options.identityFiles ?? defaults.map((n) => join(home, '.ssh', n));
  for (const file of files) {
    const key = parseKeyFile(file, given);
    if (key === undefined) continue;
    methods.push({ type: 'publickey', username, key });
    tried.push(file);
  }
  const noAgent =
    options.agent === false
      ? 'no agent is used'
      : typeof agent !== 'string' || agent === ''
        ? 'no ssh agent is running (SSH_AUTH_SOCK is not set)'
        : `no ssh agent answers at ${agent}`;
  const noKey = given ? 'no key file was given' : `no key was found (${join(home, '.ssh')}/${defaults.join(', ')}: missing or passphrase-protected)`;
  return { methods, tried, nothing: `${noAgent} and ${noKey}; give a key with -i FILE, or start ssh-agent and ssh-add it` };
}

function hostKeyError(verdict: Exclude<HostKeyVerdict, { status: 'ok' }>, where: string, key: Buffer, files: readonly string[]): TransportError {
  const fp = fingerprint(key);
  const type = blobKeyType(key);
  const data = { host: where, fingerprint: fp, keyType: type };
  switch (verdict.status) {
    case 'revoked':
      return new TransportError('TRANSPORT_HOST_KEY_REVOKED', `the ${type} host key of ${where} (${fp}) is marked @revoked in ${verdict.entry.file}:${verdict.entry.line}; refusing to connect`, data);
    case 'changed':
      return new TransportError('TRANSPORT_HOST_KEY_CHANGED', `the ${type} host key of ${where} has CHANGED: the server shows ${fp}, not the key in ${verdict.entry.file}:${verdict.entry.line}; refusing to connect (possible man-in-the-middle)`, data);
    case 'unknown': {
      const also = verdict.knownTypes.length === 0 ? '' : ` (known_hosts has only ${verdict.knownTypes.join(', ')} for it)`;
      return new TransportError('TRANSPORT_HOST_KEY_UNKNOWN', `the ${type} host key of ${where} is not in ${files.join(' or ') || 'known_hosts'}${also}; its fingerprint is ${fp}: check it, then add the key (ssh-keyscan) to connect`, data);
    }
  }
}

function connectError(e: Error & { level?: string; code?: string }, where: string, auth: Auth): TransportError {
  if (e.level === 'client-authentication') {
    if (auth.tried.length === 0) return new TransportError('TRANSPORT_AUTH_FAILED', `cannot authenticate to ${where}: ${auth.nothing}`, { host: where, offered: [] });
    return new TransportError('TRANSPORT_AUTH_FAILED', `authentication to ${where} failed: the server refused ${auth.tried.join(', ')}`, { host: where, offered: auth.tried });
  }
  if (e.level === 'client-timeout' || ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET'].includes(e.code ?? '')) {
    return new TransportError('TRANSPORT_UNREACHABLE', `cannot reach ${where}: ${e.code ?? e.message}`, { host: where, cause: e.code ?? e.message });
  }
  return new TransportError('TRANSPORT_SSH_FAILED', `ssh to ${where} failed: ${e.message}`, { host: where });
}

/** A connected, authenticated ssh2 client (host key checked), for a receiver or for forwarding (builtin-forward.ts). */
export interface BuiltinConnection {
  client: ssh2.Client;
  /** "host" or "host port N", for messages. */
  where: string;
  username: string;
  port: number;
}

/** Connects, checks the host key and authenticates. Failures reject with a TransportError. */
export async function connectBuiltinClient(remote: SshRemote, options: BuiltinSshOptions = {}): Promise<BuiltinConnection> {
  const env = options.env ?? process.env;
  const home = options.home ?? homedir();
  const port = remote.port ?? 22;
  const where = port === 22 ? remote.host : `${remote.host} port ${port}`;
  const khFiles = options.knownHosts ?? [join(home, '.ssh', 'known_hosts'), join(home, '.ssh', 'known_hosts2'), '/etc/ssh/ssh_known_hosts'];
  const entries = loadKnownHosts(khFiles);
  const username = remote.user ?? options.username ?? userInfo().username;
  const auth = authMethods(username, options, env, home);

  const client = new ssh2.Client();
  let hostKeyFailure: TransportError | undefined;
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (e: TransportError) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(e);
    };
    client.once('error', (e: Error & { level?: string; code?: string }) => fail(hostKeyFailure ?? connectError(e, where, auth)));
    client.once('close', () => fail(hostKeyFailure ?? new TransportError('TRANSPORT_SSH_FAILED', `ssh to ${where} failed: the connection closed during the handshake`, { host: where })));
    client.once('ready', () => {
      // Nagle's algorithm holds a small packet back until the previous one is
      // acknowledged, and the peer delays that acknowledgement (~40 ms): with
      // one PUTOBJECT and one STATUS at a time that was 40 ms per object,
      // which looked like a stall. OpenSSH sets TCP_NODELAY as well.
      client.setNoDelay(true);
      settled = true;
      resolve();
    });
    client.connect({
      host: remote.host,
      port,
      username,
      authHandler: auth.methods,
      readyTimeout: options.readyTimeoutMs ?? 20_000,
      ...(options.keepAlive === undefined ? {} : { keepaliveInterval: options.keepAlive.intervalMs, keepaliveCountMax: options.keepAlive.countMax }),
      algorithms: { serverHostKey: preferredHostKeyAlgorithms(entries, remote.host, port) as ssh2.ServerHostKeyAlgorithm[] },
      hostVerifier: (key: Buffer) => {
        const verdict = checkHostKey(entries, remote.host, port, key);
        if (verdict.status === 'ok') return true;
        hostKeyFailure = hostKeyError(verdict, where, key, khFiles.filter((f) => existsSync(f)));
        return false;
      },
    });
  });
  return { client, where, username, port };
}

/** Connects, checks the host key, authenticates and starts the receiver. Failures reject with a TransportError. */
export async function connectBuiltinSsh(remote: SshRemote, options: BuiltinSshOptions = {}): Promise<Transport> {
  const onStderr = options.onStderr ?? ((c: Buffer) => process.stderr.write(c));
  const { client, where, username, port } = await connectBuiltinClient(remote, options);
  const channel = await new Promise<ClientChannel>((resolve, reject) => {
    client.exec(receiveCommandLine(remote.path, options.receiveCommand), (err, ch) => {
      if (err !== undefined && err !== null) {
        client.end();
        reject(new TransportError('TRANSPORT_SSH_FAILED', `${where} refused to run the receiver: ${err.message}`, { host: where }));
        return;
      }
      resolve(ch);
    });
  });

  let tail = '';
  channel.stderr.on('data', (c: Buffer) => {
    tail = (tail + c.toString('utf8')).slice(-8192);
    onStderr(c);
  });
  let status: number | null = null;
  let signal: string | undefined;
  let killed = false;
  channel.on('exit', (code: number | null, signalName?: string) => {
    status = typeof code === 'number' ? code : null;
    if (typeof signalName === 'string' && signalName !== '') signal = signalName;
  });
  const exit = new Promise<number | null>((resolve, reject) => {
    channel.once('close', () => {
      client.end();
      if (signal !== undefined && !killed) {
        reject(receiverKilled(`the receiver on ${where}`, signal, { host: where }));
        return;
      }
      const failure = classifySshExit(status, tail, remote, options.receiveCommand);
      if (failure !== undefined) reject(failure);
      else resolve(status);
    });
    client.once('error', (e: Error) => {
      reject(new TransportError('TRANSPORT_CLOSED', `the ssh connection to ${where} failed: ${e.message}`, { host: where }, { cause: e }));
    });
  });
  exit.catch(() => undefined);
  // ssh2 emits the channel's 'close', and with it the status, only once the
  // channel's data was read to its end; a pusher stops reading (and
  // destroys its stream) when it has nothing more to receive, at DONE with
  // nothing to send, a dry run, or a rejection. So the channel is always
  // read here, into a stream of our own: paused only while that stream holds
  // more than its (ample) buffer, and read and dropped once the caller has
  // closed it. The exit status never waits on the caller.
  const stdout = new PassThrough({ highWaterMark: 1024 * 1024 });
  let dropping = false;
  stdout.once('close', () => {
    dropping = true;
    channel.resume();
  });
  stdout.on('drain', () => channel.resume());
  channel.on('data', (chunk: Buffer) => {
    if (!dropping && !stdout.write(chunk)) channel.pause();
  });
  channel.once('end', () => {
    if (!dropping) stdout.end();
  });
  channel.on('error', (e: Error) => stdout.destroy(e));
  return {
    stdin: channel,
    stdout,
    stderr: null,
    exit,
    describe: `ssh (built-in) ${username}@${remote.host}${port === 22 ? '' : `:${port}`}`,
    kill: () => {
      // A receiver whose end was already reported was not killed by us.
      if (signal === undefined && status === null) killed = true;
      channel.close();
      client.end();
    },
  };
}
