/**
 * The suite's receiver for pusher cases, run as `ostree-receive --repo=PATH`
 * through the ssh stand-in (see pusher-cases.ts). It behaves as the case's
 * `receiver` script says (spec/conformance-case.schema.json
 * `scriptedReceiver`), verifies every object it is sent, stores the good ones
 * and, after a clean DONE, the refs; and it logs every message it read to
 * the JSON file named by the script, for the case's checks.
 *
 * Environment: CONFORMANCE_SCRIPT = path of { receiver, log }.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, createWriteStream, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { objectRelPath, parseObjectBasename, verifyObjectFile } from '../src/repo/index.js';
import { encode, Variant } from '../src/gvariant/index.js';
import { encodeHeader, encodeMessage, MessageReader, PROTOCOL_VERSION, type Message } from '../src/wire/index.js';
import type { ScriptedReceiver } from './case.js';
import { destRefs } from './fixture.js';

export interface LoggedMessage {
  type: string;
  order: 'le' | 'be';
  refs?: Record<string, [string, string]>;
  object?: string;
  size?: string;
  /** PUTOBJECT: whether the payload verified as the named object. */
  valid?: boolean;
  /** DONE: whether it asked for a REPORT. */
  report?: boolean;
  /** QUERY: how many objects and refs it asked about. */
  asked?: [number, number];
}
export interface ReceiverLog {
  repo: string;
  messages: LoggedMessage[];
  /** How the session ended from this side: 'done', 'eof', 'closed' (scripted), or an error text. */
  end: string;
  /** The most PUTOBJECT replies owed at once (withheld with holdReplies, else 1). */
  maxInFlight: number;
}

const script = JSON.parse(readFileSync(process.env.CONFORMANCE_SCRIPT ?? '', 'utf8')) as { receiver: ScriptedReceiver; log: string };
const cfg = script.receiver;
const argv = process.argv.slice(2);
const repoArg = argv.find((a) => a.startsWith('--repo='))?.slice(7) ?? argv[argv.indexOf('--repo') + 1];
const log: ReceiverLog = { repo: repoArg ?? '', messages: [], end: 'eof', maxInFlight: 0 };
// A pusher that lost its session after DONE opens a second one to read the refs: that session logs to
// LOG.2 (LOG.3, …), so LOG stays the push's own.
let logPath = script.log;
for (let n = 2; existsSync(logPath); n++) logPath = `${script.log}.${n}`;
const save = (): void => writeFileSync(logPath, JSON.stringify(log, null, 1));
// The pusher may hang up first (after a malformed reply, say): a failed write must not cost the log.
process.stdout.on('error', () => undefined);
/** How long the pusher must be quiet before withheld replies are sent anyway. */
const QUIET_MS = 400;

function send(m: Message, order: 'le' | 'be' = cfg.answerOrder ?? 'le'): void {
  process.stdout.write(encodeMessage(m, order));
}
function exit(code: number): never {
  save();
  process.stdout.write('', () => process.exit(code));
  // Keeps the type checker content; the callback above ends the process.
  return undefined as never;
}

/** A STATUS whose `result` is an i, not a b (the must-reject vector STATUS-result-as-i). */
function badStatus(): Uint8Array {
  const order = cfg.answerOrder ?? 'le';
  const body = encode('a{sv}', new Map([['result', new Variant('i', 1)], ['message', new Variant('s', '')]]), order);
  return Buffer.concat([encodeHeader({ order, version: PROTOCOL_VERSION, type: 'STATUS', length: body.length }), body]);
}

function holds(repo: string, name: string): boolean {
  try {
    const o = parseObjectBasename(name);
    return existsSync(join(repo, objectRelPath(o.checksum, o.type)));
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const repo = repoArg;
  if (repo === undefined || !existsSync(join(repo, 'config'))) {
    log.end = `no repository at ${String(repo)}`;
    exit(1);
    return;
  }
  if (cfg.noInfo === true) {
    log.end = 'closed';
    exit(0);
    return;
  }
  const caps = new Set(cfg.capabilities ?? []);
  if (cfg.infoHex !== undefined) process.stdout.write(Buffer.from(cfg.infoHex, 'hex'));
  else {
    const extra = new Map<string, Variant>();
    if (caps.size > 0) extra.set('capabilities', new Variant('as', [...caps]));
    const omit = new Set(cfg.infoOmits ?? []);
    if (omit.size > 0) extra.set('refs-truncated', new Variant('b', true));
    const refs = [...Object.entries(destRefs(repo)).filter(([k]) => !omit.has(k)), ...Object.entries(cfg.infoAlsoLists ?? {})];
    send({ type: 'INFO', mode: cfg.mode ?? 1, refs: new Map(refs), extra }, cfg.infoOrder ?? 'le');
  }
  if (cfg.closeAfter === 'INFO') {
    log.end = 'closed';
    exit(0);
    return;
  }
  const staging = join(repo, 'tmp', `scripted-${process.pid}`);
  const reader = new MessageReader(process.stdin as AsyncIterable<Uint8Array>);
  let update: Map<string, { from: string; to: string }> | undefined;
  let refused = false;
  let puts = 0;
  /** PUTOBJECT replies owed, in order (withheld while holdReplies says so). */
  const owed: Uint8Array[] = [];
  const flush = (): void => {
    for (const b of owed.splice(0)) process.stdout.write(b);
  };
  const status = (result: boolean, message = ''): Uint8Array => encodeMessage({ type: 'STATUS', result, message, extra: new Map() }, cfg.answerOrder ?? 'le');
  try {
    for (;;) {
      let pending = reader.next();
      if (owed.length > 0) {
        // Withheld replies go out once the pusher stops sending (its window is full, or it waits).
        let timer: NodeJS.Timeout | undefined;
        const quiet = new Promise<'quiet'>((res) => (timer = setTimeout(() => res('quiet'), QUIET_MS)));
        const first = await Promise.race([pending, quiet]);
        clearTimeout(timer);
        if (first === 'quiet') flush();
        else pending = Promise.resolve(first);
      }
      const r = await pending;
      if (r === null) break;
      const m = r.message;
      const entry: LoggedMessage = { type: m.type, order: r.order };
      log.messages.push(entry);
      if (m.type !== 'PUTOBJECT') flush();
      if (m.type === 'QUERY' && caps.has('query')) {
        entry.asked = [m.objects.length, m.refs.length];
        if (cfg.closeAfter === 'QUERY') {
          log.end = 'closed';
          break;
        }
        const have = m.objects.map((n) => holds(repo, n));
        if (cfg.badAnswer === true) have.pop();
        const all = destRefs(repo);
        const refs = new Map(m.refs.filter((n) => all[n] !== undefined).map((n) => [n, all[n] as string]));
        send({ type: 'ANSWER', have, refs, extra: new Map() });
      } else if (m.type === 'UPDATE') {
        entry.refs = Object.fromEntries([...m.refs].map(([k, v]) => [k, [v.from, v.to]]));
        if (cfg.closeAfter === 'UPDATE') {
          log.end = 'closed';
          break;
        }
        if (cfg.updateAnswerHex !== undefined) process.stdout.write(Buffer.from(cfg.updateAnswerHex, 'hex'));
        else if (cfg.refuseUpdate !== undefined) {
          refused = true;
          send({ type: 'STATUS', result: false, message: cfg.refuseUpdate, extra: new Map() });
        } else {
          update = m.refs;
          send({ type: 'STATUS', result: true, message: '', extra: new Map() });
        }
      } else if (m.type === 'PUTOBJECT' && r.payload !== undefined) {
        puts++;
        entry.object = m.object;
        entry.size = m.size.toString();
        mkdirSync(staging, { recursive: true });
        const tmp = join(staging, `object-${puts}`);
        const out = createWriteStream(tmp);
        for await (const chunk of r.payload) if (!out.write(chunk)) await new Promise<void>((res) => out.once('drain', () => res()));
        out.end();
        await finished(out);
        try {
          const name = parseObjectBasename(m.object);
          await verifyObjectFile(tmp, name);
          entry.valid = true;
          // Objects in flight after a refusal are checked (for the log) but never stored.
          const final = join(repo, objectRelPath(name.checksum, name.type));
          if (!refused) {
            mkdirSync(dirname(final), { recursive: true });
            if (!existsSync(final)) renameSync(tmp, final);
          }
        } catch {
          entry.valid = false;
        }
        if (cfg.closeAfter === 'PUTOBJECT' || (refused && cfg.closeAfterRefusal === true)) {
          log.end = 'closed';
          break;
        }
        if (cfg.badStatusAt === puts) owed.push(badStatus());
        else if (refused) owed.push(status(false, `${m.object} not taken: an earlier refusal ended this push`));
        else if (cfg.refuseObject === puts || entry.valid === false) {
          refused = true;
          owed.push(status(false, entry.valid === false ? `object ${m.object} does not verify` : 'refused by the conformance script'));
        } else owed.push(status(true));
        log.maxInFlight = Math.max(log.maxInFlight, owed.length);
        if (owed.length >= (cfg.holdReplies ?? 1)) flush();
      } else if (m.type === 'DONE') {
        const want = m.extra.get('report');
        entry.report = want?.type === 'b' && want.value === true;
        log.end = 'done';
        if (cfg.closeAfter === 'DONE') {
          log.end = 'closed';
          break;
        }
        const reporting = entry.report && caps.has('report') && !refused && update !== undefined;
        if (reporting && cfg.reportRefuse !== undefined) {
          refused = true;
          send({ type: 'REPORT', moved: [], refused: new Map([...(update ?? new Map()).keys()].map((k) => [k, cfg.reportRefuse as string])), extra: new Map() });
          break;
        }
        if (!refused && update !== undefined) {
          for (const [name, u] of update) {
            const p = join(repo, 'refs', 'heads', name);
            mkdirSync(dirname(p), { recursive: true });
            writeFileSync(p, `${u.to}\n`);
          }
        }
        if (reporting) {
          const moved = cfg.badReport === true ? [] : [...(update ?? new Map()).keys()];
          send({ type: 'REPORT', moved, refused: new Map(), extra: new Map() });
        }
        break;
      } else {
        log.end = `unexpected ${m.type}`;
        break;
      }
    }
  } catch (e) {
    log.end = `error: ${(e as Error).message}`;
  } finally {
    flush();
    rmSync(staging, { recursive: true, force: true });
  }
  exit(log.end === 'done' && !refused ? 0 : 1);
}

await main();
