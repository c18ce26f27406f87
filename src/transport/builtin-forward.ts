/**
 * The pull form's connection over the built-in client (--ssh=builtin), on
 * ssh2: the same host-key and authentication rules as builtin-ssh.ts, then
 *
 * - forward(): `forwardIn('127.0.0.1', 0)` asks the server to listen on a
 *   port of its own choosing on its loopback (a `tcpip-forward` request);
 *   each connection the server makes there arrives as a 'tcp connection'
 *   event, whose channel is joined to a new connection to our local port;
 * - run(): `exec` of the command line, its stdout and stderr passed to
 *   onStderr, its exit status from the channel's `exit` event once the
 *   channel closed (a signal is TRANSPORT_RECEIVER_KILLED, naming it).
 *
 * The server must allow TCP forwarding for the key (OpenSSH's
 * AllowTcpForwarding, and no `restrict`/`no-port-forwarding` on the key);
 * otherwise forward() fails with TRANSPORT_FORWARD_FAILED.
 */
import { connect, type Socket } from 'node:net';
import { TransportError } from '../errors.js';
import { connectBuiltinClient, type BuiltinSshOptions } from './builtin-ssh.js';
import type { ForwardingLink } from './forward.js';
import type { Remote } from './remote.js';
import { receiverKilled } from './transport.js';

type SshRemote = Extract<Remote, { kind: 'ssh' }>;

export async function openBuiltinForwarding(remote: SshRemote, options: BuiltinSshOptions = {}): Promise<ForwardingLink> {
  const onStderr = options.onStderr ?? ((c: Buffer) => process.stderr.write(c));
  const { client, where, username, port } = await connectBuiltinClient(remote, options);
  let target: number | undefined;
  const sockets = new Set<Socket>();
  let lost: Error | undefined;
  client.on('error', (e: Error) => {
    lost = e;
  });
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  client.on('tcp connection', (_info, accept, reject) => {
    if (target === undefined) {
      reject();
      return;
    }
    const channel = accept();
    const socket = connect(target, '127.0.0.1');
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      channel.close();
    });
    socket.on('error', () => socket.destroy());
    channel.on('error', () => socket.destroy());
    channel.on('close', () => socket.destroy());
    channel.pipe(socket).pipe(channel);
  });
  let closing: Promise<void> | undefined;
  return {
    describe: `ssh (built-in) ${username}@${remote.host}${port === 22 ? '' : `:${port}`}`,
    forward: (localPort) =>
      new Promise((resolve, reject) => {
        client.forwardIn('127.0.0.1', 0, (err, bound) => {
          if (err !== undefined && err !== null) {
            reject(new TransportError('TRANSPORT_FORWARD_FAILED', `${where} did not forward a port back to this machine: ${err.message} (is TCP forwarding allowed for this key there?)`, { host: where }));
            return;
          }
          target = localPort;
          resolve(bound);
        });
      }),
    run: (commandLine) =>
      new Promise((resolve, reject) => {
        client.exec(commandLine, (err, channel) => {
          if (err !== undefined && err !== null) {
            reject(new TransportError('TRANSPORT_SSH_FAILED', `${where} refused to run '${commandLine.split(' ')[0] ?? ''}': ${err.message}`, { host: where }));
            return;
          }
          let status: number | null = null;
          let signal: string | undefined;
          channel.on('data', (c: Buffer) => onStderr(c));
          channel.stderr.on('data', (c: Buffer) => onStderr(c));
          channel.on('exit', (code: number | null, signalName?: string) => {
            status = typeof code === 'number' ? code : null;
            if (typeof signalName === 'string' && signalName !== '') signal = signalName;
          });
          channel.once('close', () => {
            if (signal !== undefined) reject(receiverKilled(`'${commandLine.split(' ')[0] ?? ''}' on ${where}`, signal, { host: where }));
            else if (status === null && lost !== undefined) reject(new TransportError('TRANSPORT_CLOSED', `the ssh connection to ${where} failed: ${lost.message}`, { host: where }));
            else resolve(status);
          });
          channel.end();
        });
      }),
    close: () => {
      closing ??= (async () => {
        for (const s of sockets) s.destroy();
        client.end();
        await closed;
      })();
      return closing;
    },
  };
}
