/**
 * A tiny read-only static file server for tests, bound to 127.0.0.1 on an
 * ephemeral port: enough to serve an archive repository to `ostree pull`
 * (spec/ostree-format.md §6.3). GET and HEAD only; a missing file, a directory or
 * a path escaping the root is a 404; every request is logged so a test can
 * assert what a client asked for (e.g. that `summary` was read). `intercept`
 * lets a test answer chosen paths itself (logged with status -1).
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve, sep } from 'node:path';
import type { HasAfter } from './tmp.js';

export interface RequestLogEntry {
  method: string;
  /** The decoded path, without the query string. */
  path: string;
  status: number;
}

export interface StaticServer {
  /** `http://127.0.0.1:PORT/`, with the trailing slash. */
  url: string;
  port: number;
  log: RequestLogEntry[];
  close(): Promise<void>;
}

/**
 * Takes over a request before the file is served (hostile-server tests):
 * true when it answered (or will answer) the request itself.
 */
export type Intercept = (path: string, req: IncomingMessage, res: ServerResponse) => boolean;

export async function serveDirectory(root: string, t?: HasAfter, options: { intercept?: Intercept; keepAliveMs?: number } = {}): Promise<StaticServer> {
  const base = resolve(root);
  const log: RequestLogEntry[] = [];
  const server: Server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    let path = '/';
    let status = 404;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
      if (options.intercept?.(path, req, res) === true) {
        log.push({ method, path, status: -1 });
        return;
      }
      if (method !== 'GET' && method !== 'HEAD') {
        status = 405;
      } else {
        const file = resolve(base, `.${path}`);
        if ((file === base || file.startsWith(base + sep)) && !path.includes('\0')) {
          const st = statSync(file, { throwIfNoEntry: false });
          if (st?.isFile() === true) {
            status = 200;
            res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': st.size });
            log.push({ method, path, status });
            if (method === 'HEAD') res.end();
            else createReadStream(file).on('error', () => res.destroy()).pipe(res);
            return;
          }
        }
      }
    } catch {
      status = 400;
    }
    log.push({ method, path, status });
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(`${status}\n`);
  });
  // libsoup keeps connections alive; without this close() would wait for them. (Node's own
  // client gives up a kept-alive socket 1 s before the server's timeout: 1 s means no reuse.)
  server.keepAliveTimeout = options.keepAliveMs ?? 1000;
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((ok) => {
      server.close(() => ok());
      server.closeAllConnections();
    });
    return closed;
  };
  t?.after(close);
  return { url: `http://127.0.0.1:${port}/`, port, log, close };
}
