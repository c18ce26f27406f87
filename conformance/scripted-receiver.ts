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
import { objectRelPath, parseObjectBasename } from '../src/repo/object-names.js';
import { verifyObjectFile } from '../src/repo/verify.js';
import { encodeMessage, MessageReader, type Message } from '../src/wire/index.js';
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
}
export interface ReceiverLog {
  repo: string;
  messages: LoggedMessage[];
  /** How the session ended from this side: 'done', 'eof', 'closed' (scripted), or an error text. */
  end: string;
}

const script = JSON.parse(readFileSync(process.env.CONFORMANCE_SCRIPT ?? '', 'utf8')) as { receiver: ScriptedReceiver; log: string };
const cfg = script.receiver;
const argv = process.argv.slice(2);
const repoArg = argv.find((a) => a.startsWith('--repo='))?.slice(7) ?? argv[argv.indexOf('--repo') + 1];
const log: ReceiverLog = { repo: repoArg ?? '', messages: [], end: 'eof' };
const save = (): void => writeFileSync(script.log, JSON.stringify(log, null, 1));

function send(m: Message, order: 'le' | 'be' = cfg.answerOrder ?? 'le'): void {
  process.stdout.write(encodeMessage(m, order));
}
function status(result: boolean, message = ''): void {
  send({ type: 'STATUS', result, message, extra: new Map() });
}
function exit(code: number): never {
  save();
  process.stdout.write('', () => process.exit(code));
  // Keeps the type checker content; the callback above ends the process.
  return undefined as never;
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
  if (cfg.infoHex !== undefined) process.stdout.write(Buffer.from(cfg.infoHex, 'hex'));
  else send({ type: 'INFO', mode: cfg.mode ?? 1, refs: new Map(Object.entries(destRefs(repo))), extra: new Map() }, cfg.infoOrder ?? 'le');
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
  try {
    for (;;) {
      const r = await reader.next();
      if (r === null) break;
      const m = r.message;
      const entry: LoggedMessage = { type: m.type, order: r.order };
      log.messages.push(entry);
      if (m.type === 'UPDATE') {
        entry.refs = Object.fromEntries([...m.refs].map(([k, v]) => [k, [v.from, v.to]]));
        if (cfg.closeAfter === 'UPDATE') {
          log.end = 'closed';
          break;
        }
        if (cfg.updateAnswerHex !== undefined) process.stdout.write(Buffer.from(cfg.updateAnswerHex, 'hex'));
        else if (cfg.refuseUpdate !== undefined) {
          refused = true;
          status(false, cfg.refuseUpdate);
        } else {
          update = m.refs;
          status(true);
        }
      } else if (m.type === 'PUTOBJECT' && r.payload !== undefined) {
        puts++;
        entry.object = m.object;
        entry.size = m.size.toString();
        mkdirSync(staging, { recursive: true });
        const tmp = join(staging, `object-${puts}`);
        const out = createWriteStream(tmp);
        for await (const chunk of r.payload) if (!out.write(chunk)) await new Promise<void>((res) => out.once("drain", () => res()));
        out.end();
        await finished(out);
        try {
          const name = parseObjectBasename(m.object);
          await verifyObjectFile(tmp, name);
          entry.valid = true;
          const final = join(repo, objectRelPath(name.checksum, name.type));
          mkdirSync(dirname(final), { recursive: true });
          if (!existsSync(final)) renameSync(tmp, final);
        } catch {
          entry.valid = false;
        }
        if (cfg.closeAfter === 'PUTOBJECT') {
          log.end = 'closed';
          break;
        }
        if (cfg.refuseObject === puts || entry.valid === false) {
          refused = true;
          status(false, entry.valid === false ? `object ${m.object} does not verify` : 'refused by the conformance script');
        } else status(true);
      } else if (m.type === 'DONE') {
        log.end = 'done';
        if (!refused && update !== undefined) {
          for (const [name, u] of update) {
            const p = join(repo, 'refs', 'heads', name);
            mkdirSync(dirname(p), { recursive: true });
            writeFileSync(p, `${u.to}\n`);
          }
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
    rmSync(staging, { recursive: true, force: true });
  }
  exit(log.end === 'done' && !refused ? 0 : 1);
}

await main();
