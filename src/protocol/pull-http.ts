/**
 * The HTTP client of a pull (pull.ts): GET of files under a repository
 * served as static files over plain HTTP (spec/protocol.md section 13), as
 * the 1.x pusher serves its source repository through an ssh tunnel.
 *
 * The server is as untrusted as a pusher; this module promises:
 *   - one keep-alive Agent, at most `concurrency` requests at once (and as
 *     many sockets); further requests wait their turn here;
 *   - no redirect is followed: a 3xx is PULL_HTTP_REDIRECT (a redirect could
 *     only point the receiver at another host or path, which the 1.x
 *     pusher's server never does);
 *   - a body must have a Content-Length and no Content-Encoding (none is
 *     asked for), and is refused before any byte is read when that length
 *     is over the caller's bound for the file; a body that ends before its
 *     length is PULL_HTTP_BAD_RESPONSE (Node's parser never hands on more);
 *   - a server that sends nothing for `idleTimeoutMs` while a request waits
 *     for it fails that request (PROTOCOL_IDLE_TIMEOUT); at `deadline` every
 *     request still open fails (PROTOCOL_SESSION_TIMEOUT) and no other
 *     starts;
 *   - 404 is `null` where the caller says a file may be absent, else
 *     PULL_OBJECT_MISSING (objects) or PULL_HTTP_STATUS; any other status,
 *     a refused or reset connection, is PULL_HTTP_STATUS.
 * What the bytes mean is checked by the caller (object checksums, GVariant
 * decoding); this module only bounds what they can cost.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import { OstreePushError, ProtocolError, UsageError } from '../errors.js';
import { Payload } from '../wire/reader.js';

/** Errors of a pull (area "pull" in spec/errors.json). */
export class PullError extends OstreePushError {}

export const DEFAULT_PULL_CONCURRENCY = 8;

export interface HttpSourceOptions {
  /** Requests at once (default 8). */
  concurrency?: number;
  /** A request whose server sends nothing for this long fails. */
  idleTimeoutMs: number;
  /** After this time (Date.now() scale) every request fails with `error()`. */
  deadline?: { at: number; error: () => OstreePushError };
}

/** One response body, its size known before a byte of it is read. */
export interface HttpBody {
  size: bigint;
  /** The body as the wire reader's Payload (what receive-object.ts verifies). */
  payload: Payload;
  /** Drops the rest of the body (closes the connection if unread bytes remain). */
  discard(): void;
}

export interface GetOptions {
  /** Largest Content-Length accepted; a larger one is PULL_HTTP_BAD_RESPONSE before a byte is read. */
  maxBytes: bigint;
  /** 404 resolves to null instead of failing. */
  mayBeAbsent?: boolean;
  /** The error for a 404 that may not be absent (default PULL_HTTP_STATUS). */
  missing?: () => OstreePushError;
}

/** Parses and checks the URL a pull reads from: http only, no query or fragment; the path ends in '/'. */
export function parseRemoteUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError('USAGE', `'${text}' is not a URL (expected http://HOST[:PORT][/PATH])`, { url: text });
  }
  if (url.protocol !== 'http:') throw new UsageError('USAGE', `'${text}': only http:// URLs are pulled from (the 1.x pusher serves its repository over plain HTTP)`, { url: text });
  if (url.search !== '' || url.hash !== '') throw new UsageError('USAGE', `'${text}': a repository URL has no query or fragment`, { url: text });
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

export class HttpSource {
  readonly base: URL;
  private readonly agent: Agent;
  private readonly concurrency: number;
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly open = new Set<{ fail: (e: OstreePushError) => void }>();
  private closed: OstreePushError | null = null;
  private readonly deadlineTimer: NodeJS.Timeout | undefined;
  /** Body bytes received, all requests together. */
  bytes = 0n;
  requests = 0;
  /** The most requests that were open at once. */
  peak = 0;

  constructor(
    base: URL | string,
    private readonly options: HttpSourceOptions,
  ) {
    this.base = typeof base === 'string' ? parseRemoteUrl(base) : base;
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_PULL_CONCURRENCY);
    this.agent = new Agent({ keepAlive: true, maxSockets: this.concurrency, maxFreeSockets: this.concurrency });
    const deadline = options.deadline;
    if (deadline !== undefined) {
      this.deadlineTimer = setTimeout(() => this.close(deadline.error()), Math.max(0, deadline.at - Date.now()));
      this.deadlineTimer.unref();
    }
  }

  /** Fails every open request with `why` (default: closed) and frees the sockets; idempotent. */
  close(why?: OstreePushError): void {
    if (this.closed === null) this.closed = why ?? new PullError('PULL_HTTP_STATUS', 'the pull was ended', {});
    clearTimeout(this.deadlineTimer);
    for (const r of [...this.open]) r.fail(this.closed);
    for (const w of this.waiting.splice(0)) w();
    this.agent.destroy();
  }

  private async slot(): Promise<() => void> {
    while (this.active >= this.concurrency && this.closed === null) await new Promise<void>((ok) => this.waiting.push(ok));
    if (this.closed !== null) throw this.closed;
    this.active++;
    this.peak = Math.max(this.peak, this.active);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiting.shift()?.();
    };
  }

  /** The URL of a path relative to the repository (built by the caller from validated names only). */
  urlOf(rel: string): URL {
    return new URL(rel, this.base);
  }

  /**
   * GET `rel`. Resolves when the headers are in: null for an allowed 404,
   * else the body (to be read or discarded by the caller: its slot is held
   * until then).
   */
  async get(rel: string, opts: GetOptions): Promise<HttpBody | null> {
    const release = await this.slot();
    const url = this.urlOf(rel);
    const where = `GET ${url.href}`;
    const idleMs = this.options.idleTimeoutMs;
    let res: IncomingMessage | undefined;
    let failure: OstreePushError | null = null;
    const entry = {
      fail: (e: OstreePushError): void => {
        failure ??= e;
        req.destroy(e);
      },
    };
    this.open.add(entry);
    this.requests++;
    const req = request(url, { agent: this.agent, method: 'GET', headers: { accept: '*/*', 'accept-encoding': 'identity' } });
    const done = (): void => {
      this.open.delete(entry);
      release();
    };
    req.setTimeout(idleMs, () => entry.fail(new ProtocolError('PROTOCOL_IDLE_TIMEOUT', `the HTTP server sent nothing for ${idleMs} ms (${where}); giving up, nothing was published`, { ms: idleMs, url: url.href })));
    try {
      res = await new Promise<IncomingMessage>((ok, fail) => {
        req.once('response', ok);
        req.once('error', (e) => fail(failure ?? new PullError('PULL_HTTP_STATUS', `${where} failed: ${e.message}`, { url: url.href }, { cause: e })));
        req.end();
      });
    } catch (e) {
      done();
      throw e;
    }
    const status = res.statusCode ?? 0;
    const refuse = (e: OstreePushError): never => {
      res?.destroy();
      done();
      throw e;
    };
    if (status >= 300 && status < 400) {
      const to = res.headers.location ?? '(no Location)';
      refuse(new PullError('PULL_HTTP_REDIRECT', `${where}: the server redirects to ${to}; redirects are not followed, nothing was published`, { url: url.href, status, location: to }));
    }
    if (status === 404) {
      if (opts.mayBeAbsent === true) {
        res.resume();
        res.once('end', done);
        res.once('error', done);
        res.once('close', done);
        return null;
      }
      refuse(opts.missing?.() ?? new PullError('PULL_HTTP_STATUS', `${where}: 404 Not Found`, { url: url.href, status }));
    }
    if (status !== 200) refuse(new PullError('PULL_HTTP_STATUS', `${where}: HTTP status ${status}${res.statusMessage === undefined ? '' : ` ${res.statusMessage}`}`, { url: url.href, status }));
    const encoding = res.headers['content-encoding'];
    if (encoding !== undefined && encoding !== 'identity') refuse(new PullError('PULL_HTTP_BAD_RESPONSE', `${where}: the body comes with Content-Encoding ${encoding}, which was not asked for`, { url: url.href }));
    const lengthText = res.headers['content-length'];
    if (lengthText === undefined || !/^\d{1,20}$/.test(lengthText)) {
      refuse(new PullError('PULL_HTTP_BAD_RESPONSE', `${where}: the response has no valid Content-Length; a static file server sends one`, { url: url.href }));
    }
    const size = BigInt(lengthText as string);
    if (size > opts.maxBytes) {
      refuse(new PullError('PULL_HTTP_BAD_RESPONSE', `${where}: ${size} bytes, more than the ${opts.maxBytes} allowed for this file`, { url: url.href, size: String(size), max: String(opts.maxBytes) }));
    }
    const body = res;
    // Read by events, not by the stream's async iterator: that destroys the
    // response when it ends, and the socket with it, defeating keep-alive.
    const chunks: Buffer[] = [];
    let ended = false;
    let broken = false;
    let wake: (() => void) | null = null;
    const poke = (): void => {
      const w = wake;
      wake = null;
      w?.();
    };
    body.on('data', (c: Buffer) => {
      chunks.push(c);
      body.pause();
      poke();
    });
    body.once('end', () => {
      ended = true;
      finish();
      poke();
    });
    body.once('error', () => {
      broken = true;
      poke();
    });
    body.once('close', () => {
      if (!ended) broken = true;
      finish();
      poke();
    });
    let received = 0n;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      done();
    };
    const truncated = (): PullError =>
      new PullError('PULL_HTTP_BAD_RESPONSE', `${where}: the body ended after ${received} of its ${size} bytes; nothing was published`, { url: url.href, received: String(received), size: String(size) });
    const pull = async (max: bigint): Promise<Uint8Array> => {
      for (;;) {
        if (failure !== null) throw failure;
        const head = chunks[0];
        if (head !== undefined) {
          let chunk: Buffer = head;
          if (BigInt(chunk.byteLength) > max) {
            chunks[0] = chunk.subarray(Number(max));
            chunk = chunk.subarray(0, Number(max));
          } else chunks.shift();
          received += BigInt(chunk.byteLength);
          this.bytes += BigInt(chunk.byteLength);
          return chunk;
        }
        if (ended || broken) throw truncated();
        await new Promise<void>((ok) => {
          wake = ok;
          body.resume();
        });
      }
    };
    // Nothing to read (or only an empty body): let it end, so the socket goes back to the pool.
    if (size === 0n) body.resume();
    return {
      size,
      payload: new Payload(size, pull),
      discard: () => {
        if (finished) return;
        if (received < size) {
          body.destroy();
          finish();
        } else body.resume();
      },
    };
  }

  /** GET a whole small file into memory (config, summary, a ref), at most `maxBytes`. */
  async getBytes(rel: string, opts: GetOptions): Promise<Uint8Array | null> {
    const b = await this.get(rel, opts);
    if (b === null) return null;
    const parts: Uint8Array[] = [];
    try {
      for await (const c of b.payload) parts.push(Uint8Array.prototype.slice.call(c));
    } finally {
      b.discard();
    }
    return Buffer.concat(parts);
  }
}
