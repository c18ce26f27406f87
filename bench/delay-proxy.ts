/**
 * A TCP proxy that adds a fixed one-way delay in each direction (RTT/2 each
 * way), for simulating round-trip time in front of sshd: the kernel here has
 * no netem, so latency is added in user space. Every chunk is forwarded
 * `delayMs` after it arrived, in order (equal timeouts fire in creation
 * order); bandwidth is not limited. A side with more than `highWater` bytes
 * delayed pauses its source, so a fast sender cannot fill our memory.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface DelayProxy {
  port: number;
  close(): Promise<void>;
}

function pipeDelayed(from: Socket, to: Socket, delayMs: number, highWater: number): void {
  let pending = 0;
  from.on('data', (chunk: Buffer) => {
    pending += chunk.length;
    if (pending > highWater) from.pause();
    setTimeout(() => {
      pending -= chunk.length;
      if (!to.destroyed) to.write(chunk);
      if (pending <= highWater && from.isPaused()) from.resume();
    }, delayMs);
  });
  from.on('end', () => setTimeout(() => to.end(), delayMs));
  from.on('error', () => to.destroy());
}

/** Listens on 127.0.0.1 (random port) and forwards to `targetPort` with `rttMs/2` each way. */
export async function startDelayProxy(targetPort: number, rttMs: number, highWater = 8 << 20): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    pipeDelayed(client, upstream, rttMs / 2, highWater);
    pipeDelayed(upstream, client, rttMs / 2, highWater);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const a = server.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
