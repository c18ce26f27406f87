/**
 * A pass-through HTTP proxy in front of an S3 endpoint that makes racing
 * writers meet: while armed for N parties, each PUT of the ref journal
 * (`…/tmp/ostree-push-refs.journal`) is held until N of them are held (or
 * 10 s passed), then all go on together. Every other request passes at
 * once. Processes that cannot be given a fault layer (the real
 * `ostree-receive`, started by a real `ostree-push`) are pointed at it with
 * AWS_ENDPOINT_URL, so their races overlap for certain.
 *
 * The request is forwarded byte for byte with its Host header, so SigV4
 * signatures (which cover the host the client addressed) still verify.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface S3Gate {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  /** Holds the next `parties` journal PUTs until they are all there. */
  arm(parties: number): void;
  /** Journal PUTs held and released so far. */
  released(): number;
  close(): Promise<void>;
}

export async function startS3Gate(target: string): Promise<S3Gate> {
  const to = new URL(target);
  let parties = 0;
  let held: (() => void)[] = [];
  let released = 0;
  let timer: NodeJS.Timeout | undefined;
  const releaseAll = (): void => {
    clearTimeout(timer);
    const go = held;
    held = [];
    parties = 0;
    released += go.length;
    for (const g of go) g();
  };
  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const out = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    out.end(body);
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const journal = req.method === 'PUT' && (req.url ?? '').split('?')[0]?.endsWith('/tmp/ostree-push-refs.journal') === true;
      if (!journal || parties === 0) {
        forward(req, res, body);
        return;
      }
      held.push(() => forward(req, res, body));
      if (held.length === 1) timer = setTimeout(releaseAll, 10_000);
      if (held.length >= parties) releaseAll();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    arm: (n) => {
      parties = n;
    },
    released: () => released,
    close: async () => {
      releaseAll();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
