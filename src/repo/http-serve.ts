/**
 * Serves a snapshot of an archive repository read-only over plain HTTP on
 * the loopback interface, for a server that pulls what we push (the pull
 * form of a push, cli/push-pull-form.ts). What libostree's pull reads of an
 * archive repository (spec/ostree-format.md §6.3), and nothing else:
 *
 *   PREFIX/config                 [core] repo_version=1, mode=archive-z2 (written
 *                                 here: the source's own config, with its
 *                                 remotes and their credentials, is not served)
 *   PREFIX/summary                the summary of the snapshot's refs (built
 *                                 here, so it is never stale; no summary.sig)
 *   PREFIX/refs/heads/REF         `CHECKSUM\n`, for the refs of the snapshot only
 *   PREFIX/objects/XX/REST.EXT    the object in its archive form, EXT one of commit,
 *                                 commitmeta, dirtree, dirmeta, filez, read
 *                                 through the repository's object store (so a
 *                                 bare-family source is served as an archive
 *                                 one; files opened O_NOFOLLOW); only an object the
 *                                 snapshot's commits reach, or a commit (and
 *                                 its commitmeta) of their parent chains, so
 *                                 that a client can check ancestry: nothing
 *                                 of the refs not pushed
 *
 * PREFIX is a random 128-bit path component: the forwarded port is
 * reachable by every local user of the machine it is forwarded to, and a
 * request that does not know the prefix gets a 404 like any other unknown
 * path. Paths are matched as raw bytes against those patterns (no
 * percent-decoding, no `.` or `..` component can match), so nothing outside
 * the repository, and no directory listing, can be named. GET and HEAD
 * only (405 otherwise). Bound to 127.0.0.1 on an ephemeral port.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { objectRelPath, type ObjectType } from './object-names.js';
import type { ObjectReader } from './object-store.js';
import { isValidRefName } from './ref-names.js';
import type { Repo } from './repo.js';
import { buildSummaryFrom, diskCommitReader } from './summary.js';
import { ObjectSet } from './object-set.js';
import { closure, parentChain } from './traverse.js';

export interface ServedRequest {
  method: string;
  /** The raw request path, without the prefix when it had it. */
  path: string;
  status: number;
}

export interface RepoHttpServer {
  /** The local port (127.0.0.1). */
  port: number;
  /** The random path component every request must start with. */
  prefix: string;
  /** `http://127.0.0.1:PORT/PREFIX` */
  url: string;
  /** The same repository as seen through `port` (a forwarded port on the other side). */
  urlFor(port: number): string;
  /** What was asked, in order (bounded: the last 10,000). */
  log: ServedRequest[];
  close(): Promise<void>;
}

export interface ServeOptions {
  /** A fixed prefix (tests); default 32 random hex digits. */
  prefix?: string;
  /** Each request, for -v. */
  onRequest?: (r: ServedRequest) => void;
}

/**
 * The object paths a pull of `commits` may ask for: each commit's closure
 * (leaves not checked: a missing one is a 404 when asked for), and every
 * commit of their parent chains present here, with commitmeta.
 */
async function reachablePaths(repo: Repo, commits: readonly string[]): Promise<Set<string>> {
  const paths = new Set<string>();
  const seen = new ObjectSet();
  for (const commit of commits) {
    for await (const o of closure(repo.path, commit, { seen, checkLeaves: false })) paths.add(objectRelPath(o.checksum, o.type));
    for (const { checksum } of await parentChain(repo.path, commit)) {
      paths.add(objectRelPath(checksum, 'commit'));
      paths.add(objectRelPath(checksum, 'commitmeta'));
    }
  }
  return paths;
}

const OBJECT_PATH = /^objects\/[0-9a-f]{2}\/[0-9a-f]{62}\.(commit|commitmeta|dirtree|dirmeta|filez)$/;
const LOG_MAX = 10_000;

/**
 * Starts serving `refs` (ref name → commit) of `repo`. The summary is built
 * once, now, from `refs`: a client sees the snapshot whatever moves in the
 * repository meanwhile.
 */
export async function serveRepo(repo: Repo, refs: ReadonlyMap<string, string>, options: ServeOptions = {}): Promise<RepoHttpServer> {
  for (const name of refs.keys()) if (!isValidRefName(name)) throw new Error(`not a ref name: ${name}`);
  const prefix = options.prefix ?? randomBytes(16).toString('hex');
  const summary = Buffer.from(
    await buildSummaryFrom({ mode: 'archive', config: repo.config, heads: [...refs], mirrors: [], readCommit: diskCommitReader(repo) }),
  );
  const config = Buffer.from('[core]\nrepo_version=1\nmode=archive-z2\n');
  const reachable = await reachablePaths(repo, [...new Set(refs.values())]);
  const log: ServedRequest[] = [];
  const record = (r: ServedRequest) => {
    if (log.length >= LOG_MAX) log.shift();
    log.push(r);
    options.onRequest?.(r);
  };

  const answer = (req: IncomingMessage, res: ServerResponse, path: string, status: number, body?: Buffer) => {
    record({ method: req.method ?? '', path, status });
    if (status === 405) res.setHeader('allow', 'GET, HEAD');
    const payload = body ?? Buffer.from(`${status}\n`);
    res.writeHead(status, { 'content-type': status === 200 ? 'application/octet-stream' : 'text/plain', 'content-length': payload.byteLength });
    res.end(req.method === 'HEAD' ? undefined : payload);
  };

  const serveObject = (req: IncomingMessage, res: ServerResponse, path: string) => {
    const m = OBJECT_PATH.exec(path);
    const ext = m?.[1] ?? '';
    const checksum = path.slice('objects/'.length, 'objects/'.length + 2) + path.slice('objects/xx/'.length, 'objects/xx/'.length + 62);
    const type: ObjectType = ext === 'filez' ? 'file' : (ext as ObjectType);
    let reader: ObjectReader;
    try {
      reader = repo.objects.openReader(checksum, type);
    } catch {
      answer(req, res, path, 404);
      return;
    }
    record({ method: req.method ?? '', path, status: 200 });
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': reader.size });
    if (req.method === 'HEAD') {
      reader.close();
      res.end();
      return;
    }
    const stream = Readable.from(reader);
    // A file that changes while read (REPO_CORRUPT_OBJECT): the client sees a cut response, never wrong bytes as whole.
    stream.once('error', () => res.destroy());
    res.once('close', () => {
      stream.destroy();
      reader.close();
    });
    stream.pipe(res);
  };

  const server = createServer((req, res) => {
    const raw = (req.url ?? '').split('?')[0] ?? '';
    const start = `/${prefix}/`;
    const path = raw.startsWith(start) ? raw.slice(start.length) : raw;
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(req, res, path, 405);
    if (!raw.startsWith(start)) return answer(req, res, path, 404);
    if (path === 'config') return answer(req, res, path, 200, config);
    if (path === 'summary') return answer(req, res, path, 200, summary);
    if (path.startsWith('refs/heads/')) {
      const commit = refs.get(path.slice('refs/heads/'.length));
      return commit === undefined ? answer(req, res, path, 404) : answer(req, res, path, 200, Buffer.from(`${commit}\n`));
    }
    if (OBJECT_PATH.test(path) && reachable.has(path)) {
      return serveObject(req, res, path);
    }
    answer(req, res, path, 404);
  });
  // A client's idle keep-alive connection must not hold close() up.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  const urlFor = (p: number) => `http://127.0.0.1:${p}/${prefix}`;
  return {
    port,
    prefix,
    url: urlFor(port),
    urlFor,
    log,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
