/**
 * A model of the 2015 receiver (protocol version 0, `ostree-receive
 * --repo=PATH`), faithful in what can be seen from outside: the messages it
 * answers, what it leaves in the repository, its exit status. It is this
 * project's code, written from the observed behaviour; the simulator runs it
 * in process (`legacyReceive`) and the conformance self-check and
 * `npm run sim -- --receiver-command` run it as a child process
 * (legacy-receiver.child.ts). `npm run conformance` against the model and
 * against the real receiver gives the same verdicts (conformance/README.md).
 *
 * What it does, in order:
 *   - a staging directory `tmp/ostree-push-XXXXXXXX` is made before anything
 *     is said; it is removed only when the session ends on a protocol error
 *     the 2015 code anticipated (end of input where a message was due, a bad
 *     order byte, a short body, a message of the wrong type); after a
 *     success, a refusal or a crash it stays behind;
 *   - INFO at once: the mode, every ref (heads by name, a remote's refs as
 *     `REMOTE:NAME`); a body over 65535 bytes is a crash before any output;
 *   - UPDATE or DONE. A DONE there ends the session, exit 0. UPDATE: each
 *     ref is looked up (an invalid ref name crashes it, without STATUS; a
 *     head it lacks is looked for among the remotes' refs, as resolve_rev
 *     does); `from` must equal the ref's current commit (zeros: absent), else
 *     STATUS false, then DONE is read, exit 1. No fast-forward check;
 *   - PUTOBJECT until DONE: the name is joined to the staging path as given,
 *     `size` bytes are copied (fewer at end of input, without complaint),
 *     STATUS true. Nothing is verified;
 *   - at DONE, when objects came: each is renamed into objects/ in arrival
 *     order (a second copy of one name fails the rename: crash; any failed
 *     rename is a crash that leaves the objects renamed so far published),
 *     then each ref is written in UPDATE's order (a `to` that is not a
 *     checksum crashes it there). No closure check, no lock, no compare.
 *     When no object came, the refs are not written at all;
 *   - bodies are read as GLib reads them untrusted: a body that is not in
 *     normal form reads as an empty dictionary, and values are used whatever
 *     their type (an `as` where `(ss)` belongs, an `x` for `size`);
 *   - no idle timeout: a silent pusher holds it for ever.
 *
 * A crash is exit 1 with one line on stderr. A kill point (the simulator's
 * SIGKILL) stops it dead, as the real process would be.
 */
import { closeSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { decode, encode, Variant, type GVValue } from '../src/gvariant/index.js';
import type { KillPoint } from './faults.js';

export interface LegacyOptions {
  /** The repository path (`--repo=PATH`). */
  repo: string;
  input: AsyncIterable<Uint8Array> | Readable;
  output: Writable;
  /** Stop dead (as SIGKILL would) at this point: after the `step`-th object received, before publication, after the `step`-th rename or ref. */
  kill?: { at: KillPoint; step: number };
  /** Where a crash's one line goes (default: nowhere). */
  log?: (line: string) => void;
  /** Weaknesses added on purpose, for the conformance self-check only (LEGACY_MUTANTS). */
  mutants?: readonly Mutant[];
}

/**
 * Single weaknesses the 2015 receiver does not have, each added alone so a
 * hardened case the faithful model passes can still be shown to fail
 * (conformance/expectations/legacy-mutants.json):
 *   publish-on-arrival  each object is renamed into objects/ as it arrives, not at DONE
 *   keep-staging        the staging directory stays even after an anticipated error
 *   any-order           any message is taken at any point: PUTOBJECT before UPDATE, a
 *                       second UPDATE, objects and UPDATEs after a refusal
 */
export type Mutant = 'publish-on-arrival' | 'keep-staging' | 'any-order';
export const MUTANTS: readonly Mutant[] = ['publish-on-arrival', 'keep-staging', 'any-order'];

/** How the session ended: idle (DONE first), published, refused (STATUS false), aborted (a protocol error it anticipated), crashed, killed. */
export type LegacyOutcome = 'idle' | 'published' | 'refused' | 'aborted' | 'crashed' | 'killed';

export interface LegacyResult {
  outcome: LegacyOutcome;
  /** The process's exit status (null: killed). */
  code: number | null;
}

/** The staging directory's prefix under tmp/ (the 2015 name). */
export const LEGACY_STAGING_PREFIX = 'ostree-push-';

class Killed extends Error {}
/** An error the 2015 code raised on purpose and cleaned up after (PushException). */
class Anticipated extends Error {}
/** Anything else: the 2015 process died with a traceback, leaving its staging. */
class Crash extends Error {}

const TYPES = ['INFO', 'UPDATE', 'PUTOBJECT', 'STATUS', 'DONE'] as const;
type TypeName = (typeof TYPES)[number];
const ZERO = '0'.repeat(64);
const CHUNK = 1 << 20;

/** Reads exactly n bytes, or fewer at end of input (as a file object's read(n) does). */
class ByteReader {
  #it: AsyncIterator<Uint8Array>;
  #buf: Uint8Array = new Uint8Array(0);
  #eof = false;
  constructor(input: AsyncIterable<Uint8Array>) {
    this.#it = input[Symbol.asyncIterator]();
  }
  async read(n: number): Promise<Uint8Array> {
    while (this.#buf.length < n && !this.#eof) {
      const r = await this.#it.next();
      if (r.done === true) this.#eof = true;
      else this.#buf = this.#buf.length === 0 ? new Uint8Array(r.value) : Buffer.concat([this.#buf, r.value]);
    }
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(out.length);
    return out;
  }
}

/** The body as a dictionary, read as GLib reads untrusted data: not in normal form, it is empty. */
function lenientDict(body: Uint8Array, order: 'le' | 'be'): Map<string, GVValue> {
  try {
    const m = decode('a{sv}', body, order) as Map<GVValue, GVValue>;
    return new Map([...m].map(([k, v]) => [k as string, (v as Variant).value]));
  } catch {
    return new Map();
  }
}

function send(out: Writable, type: TypeName, dict: Map<string, Variant>): void {
  const body = encode('a{sv}', dict, 'le');
  // The 2015 code wrote the length with to_bytes(2): a bigger body is an OverflowError.
  if (body.length > 0xffff) throw new Crash(`OverflowError: a ${type} body of ${body.length} bytes does not fit the header`);
  const header = Buffer.from([0x6c, 0, TYPES.indexOf(type), body.length & 0xff, body.length >> 8]);
  out.write(Buffer.concat([header, body]));
}

const status = (out: Writable, result: boolean, message = ''): void => send(out, 'STATUS', new Map([['result', new Variant('b', result)], ['message', new Variant('s', message)]]));

/** ostree's rule for a ref (refspec) name: components of [A-Za-z0-9_][-._A-Za-z0-9_]*, optionally after `REMOTE:`. */
const COMPONENT = '[A-Za-z0-9_][-._A-Za-z0-9_]*';
const REFSPEC = new RegExp(`^(?:${COMPONENT}:)?${COMPONENT}(?:/${COMPONENT})*$`);

function refPath(repo: string, name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? join(repo, 'refs', 'heads', name) : join(repo, 'refs', 'remotes', name.slice(0, colon), name.slice(colon + 1));
}

/**
 * The ref's commit as libostree's resolve_rev finds it: the head, or for a
 * name absent from refs/heads the first `refs/remotes/REMOTE/name` (so a
 * new head `stable` is compared with `origin:stable`'s commit).
 */
function resolveRev(repo: string, name: string): string | undefined {
  const candidates = [refPath(repo, name)];
  if (!name.includes(':')) {
    let remotes: string[] = [];
    try {
      remotes = readdirSync(join(repo, 'refs', 'remotes')).sort();
    } catch {
      /* none */
    }
    for (const r of remotes) candidates.push(join(repo, 'refs', 'remotes', r, name));
  }
  const hit = candidates.find((p) => existsSync(p) && statSync(p).isFile());
  return hit === undefined ? undefined : readFileSync(hit, 'utf8').trim();
}

/** Every ref, as ostree lists them: heads by name, remotes' refs as REMOTE:NAME. */
function listAllRefs(repo: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, prefix: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) walk(p, `${prefix}${n}/`);
      else out.set(`${prefix}${n}`, readFileSync(p, 'utf8').trim());
    }
  };
  walk(join(repo, 'refs', 'heads'), '');
  let remotes: string[] = [];
  try {
    remotes = readdirSync(join(repo, 'refs', 'remotes')).sort();
  } catch {
    /* none */
  }
  for (const r of remotes) walk(join(repo, 'refs', 'remotes', r), `${r}:`);
  return out;
}

function repoMode(repo: string): number {
  let config: string;
  try {
    config = readFileSync(join(repo, 'config'), 'utf8');
  } catch {
    throw new Crash(`opening repo: ${repo} is not a repository`);
  }
  const mode = /^mode=(\S+)/m.exec(config)?.[1] ?? 'bare';
  const modes: Record<string, number> = { bare: 0, archive: 1, 'archive-z2': 1, 'bare-user': 2, 'bare-user-only': 3, 'bare-split-xattrs': 4 };
  const n = modes[mode];
  if (n === undefined) throw new Crash(`opening repo: unknown mode ${mode}`);
  return n;
}

/** Writes a ref as ostree's set_ref_immediate does: the value must be a checksum; temp file and rename. */
function setRef(repo: string, name: string, to: string): void {
  if (!/^[0-9a-f]{64}$/.test(to)) throw new Crash(`set_ref_immediate: invalid rev ${JSON.stringify(to.slice(0, 80))}`);
  const path = refPath(repo, name);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-legacy-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, `${to}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

const asString = (v: GVValue | undefined): string => (typeof v === 'string' ? v : v === undefined ? '' : String(v));
const pair = (v: GVValue | undefined): [string, string] => (Array.isArray(v) ? [asString(v[0]), asString(v[1])] : ['', '']);

export async function legacyReceive(o: LegacyOptions): Promise<LegacyResult> {
  const repo = o.repo;
  const out = o.output;
  const reader = new ByteReader(o.input as AsyncIterable<Uint8Array>);
  const die = (at: KillPoint, step: number): void => {
    if (o.kill?.at === at && o.kill.step === step) throw new Killed();
  };
  let staging: string | undefined;

  /** The next message; null at end of input before a header. */
  const read = async (): Promise<{ type: TypeName; dict: Map<string, GVValue> } | null> => {
    const header = await reader.read(5);
    if (header.length === 0) return null;
    if (header.length !== 5) throw new Crash(`Header is ${header.length} bytes, not 5`);
    const orderByte = header[0] as number;
    if (orderByte !== 0x6c && orderByte !== 0x42) throw new Anticipated(`Unrecognized message byteorder ${String.fromCharCode(orderByte)}`);
    const order = orderByte === 0x6c ? 'le' : 'be';
    if (header[1] !== 0) throw new Crash(`Unsupported protocol version ${header[1]}`);
    const type = TYPES[header[2] as number];
    if (type === undefined) throw new Crash(`ValueError: ${header[2]} is not a valid PushCommandType`);
    const size = order === 'le' ? (header[3] as number) | ((header[4] as number) << 8) : ((header[3] as number) << 8) | (header[4] as number);
    const body = await reader.read(size);
    if (body.length !== size) throw new Anticipated('Did not receive full message');
    return { type, dict: lenientDict(body, order) };
  };
  const receive = async (allowed: readonly TypeName[]): Promise<{ type: TypeName; dict: Map<string, GVValue> }> => {
    const m = await read();
    if (m === null) throw new Anticipated('Expected reply, got none');
    if (!allowed.includes(m.type)) throw new Anticipated(`Unexpected reply type ${m.type}`);
    return m;
  };

  try {
    const mode = repoMode(repo);
    staging = mkdtempSync(join(repo, 'tmp', LEGACY_STAGING_PREFIX));
    send(out, 'INFO', new Map([['mode', new Variant('i', mode)], ['refs', new Variant('a{ss}', listAllRefs(repo))]]));

    const mutant = (m: Mutant): boolean => o.mutants?.includes(m) === true;
    const anyOrder = mutant('any-order');
    const all: TypeName[] = ['UPDATE', 'PUTOBJECT', 'DONE'];
    const received: string[] = [];
    const update: (readonly [string, string, string])[] = [];
    let refused = false;
    let updated = false;
    const publish = (object: string, step: number): void => {
      const dst = join(repo, 'objects', object.slice(0, 2), object.slice(2));
      mkdirSync(dirname(dst), { recursive: true });
      try {
        renameSync(join(staging as string, object), dst);
      } catch (e) {
        throw new Crash(`rename of ${object} into objects/: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      die('publish', step);
    };
    const takeUpdate = async (dict: Map<string, GVValue>): Promise<boolean> => {
      const refs = [...dict].map(([name, v]) => [name, ...pair(v)] as const);
      for (const [name, from] of refs) {
        if (!REFSPEC.test(name)) throw new Crash(`Invalid refspec ${name}`);
        const current = resolveRev(repo, name);
        if (current === undefined ? from !== ZERO : from !== current) {
          status(out, false, current === undefined ? `Invalid from commit ${from} for new branch ${name}` : `Branch ${name} is at ${current}, not ${from}`);
          return false;
        }
      }
      update.push(...refs);
      status(out, true);
      return true;
    };

    const first = await receive(anyOrder ? all : ['UPDATE', 'DONE']);
    if (first.type === 'DONE') return { outcome: 'idle', code: 0 };
    let pending: { type: TypeName; dict: Map<string, GVValue> } | undefined = first;
    if (first.type === 'UPDATE') {
      pending = undefined;
      updated = true;
      if (!(await takeUpdate(first.dict))) {
        refused = true;
        if (!anyOrder) {
          await receive(['DONE']);
          return { outcome: 'refused', code: 1 };
        }
      }
    }
    for (;;) {
      const m = pending ?? (await receive(anyOrder ? all : ['PUTOBJECT', 'DONE']));
      pending = undefined;
      if (m.type === 'DONE') break;
      if (m.type === 'UPDATE') {
        if (!(await takeUpdate(m.dict))) refused = true;
        updated = true;
        continue;
      }
      const name = m.dict.get('object');
      const size = m.dict.get('size');
      if (name === undefined || size === undefined) throw new Crash(`KeyError: ${name === undefined ? 'object' : 'size'}`);
      const object = asString(name);
      const file = createWriteStream(join(staging, object));
      const failed = await once(file, 'open').then(
        () => null,
        (e: unknown) => e,
      );
      if (failed !== null) throw new Crash(`cannot write ${object}: ${(failed as Error).message}`);
      let remaining = Number(size);
      while (remaining > 0) {
        const n = Math.min(CHUNK, remaining);
        const buf = await reader.read(n);
        if (buf.length > 0 && !file.write(buf)) await once(file, 'drain');
        remaining -= n;
      }
      file.end();
      await once(file, 'close');
      received.push(object);
      die('receiving', received.length);
      if (mutant('publish-on-arrival')) publish(object, received.length);
      status(out, true);
    }
    if (refused || !updated) return { outcome: refused ? 'refused' : 'idle', code: refused ? 1 : 0 };
    if (received.length === 0) return { outcome: 'idle', code: 0 };
    die('closure', 0);
    if (!mutant('publish-on-arrival')) received.forEach((object, i) => {
      publish(object, i + 1);
    });
    let k = 0;
    for (const [name, , to] of update) {
      setRef(repo, name, to);
      die('ref', ++k);
    }
    return { outcome: 'published', code: 0 };
  } catch (e) {
    if (e instanceof Killed) return { outcome: 'killed', code: null };
    if (e instanceof Anticipated) {
      if (staging !== undefined && o.mutants?.includes('keep-staging') !== true) rmSync(staging, { recursive: true, force: true });
      o.log?.(`legacy-receiver: ${e.message}`);
      return { outcome: 'aborted', code: 1 };
    }
    o.log?.(`legacy-receiver: crashed: ${e instanceof Error ? e.message : String(e)}`);
    return { outcome: 'crashed', code: 1 };
  }
}
