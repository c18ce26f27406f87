/**
 * A deliberately weakened receiver, for showing that no hardened case passes
 * vacuously (conformance/weakened.test.ts). It speaks version 0 correctly,
 * so the core cases pass, and has the 2015 weaknesses of
 * /spec/protocol.md §10 on purpose:
 *
 * - every object is renamed into objects/ as it arrives (arrival order, no
 *   child-first publication), and never checksummed;
 * - object and ref names are joined into paths unchecked;
 * - the closure of a new commit is never checked; refs are written at DONE
 *   without a lock and without comparing them again; no fast-forward check;
 * - `size` is trusted; a cut connection leaves the staging directory behind.
 *
 * The one check it keeps is the 2015 one: at UPDATE, `from` must equal the
 * ref's current value. Never use it for anything but this test.
 *
 *   node --import tsx conformance/weakened-receiver.ts --repo=PATH
 */
import { createWriteStream, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { Variant } from '../src/gvariant/index.js';
import { encodeMessage, MessageReader, ZERO_CHECKSUM, type Message } from '../src/wire/index.js';

const repo = process.argv.find((a) => a.startsWith('--repo='))?.slice('--repo='.length);
if (repo === undefined) {
  process.stderr.write('usage: weakened-receiver --repo=PATH\n');
  process.exit(2);
}

function refs(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, prefix: string): void => {
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) walk(p, `${prefix}${n}/`);
      else out.set(`${prefix}${n}`, readFileSync(p, 'utf8').trim());
    }
  };
  walk(join(repo as string, 'refs', 'heads'), '');
  return out;
}

const write = (m: Message, order: 'le' | 'be' = 'le'): boolean => process.stdout.write(encodeMessage(m, order));
const status = (result: boolean, message = '', order: 'le' | 'be' = 'le'): boolean => write({ type: 'STATUS', result, message, extra: new Map<string, Variant>() }, order);

const mode = /mode=(\S+)/.exec(readFileSync(join(repo, 'config'), 'utf8'))?.[1] === 'archive-z2' ? 1 : /mode=archive/.test(readFileSync(join(repo, 'config'), 'utf8')) ? 1 : 0;
write({ type: 'INFO', mode, refs: refs(), extra: new Map() });

const staging = join(repo, 'tmp', `weakened-${process.pid}`);
const updates = new Map<string, { from: string; to: string }>();
const reader = new MessageReader(process.stdin as AsyncIterable<Uint8Array>);
let code = 1;
let refused = false;
try {
  for (;;) {
    const r = await reader.next();
    if (r === null) break;
    const m = r.message;
    if (m.type === 'UPDATE') {
      const current = refs();
      const stale = [...m.refs].find(([name, u]) => (current.get(name) ?? ZERO_CHECKSUM) !== u.from);
      if (stale !== undefined) {
        refused = true;
        status(false, `ref ${stale[0]} is not at ${stale[1].from}`, r.order);
      } else {
        for (const [k, v] of m.refs) updates.set(k, v);
        status(true, '', r.order);
      }
    } else if (m.type === 'PUTOBJECT' && r.payload !== undefined) {
      mkdirSync(staging, { recursive: true });
      const tmp = join(staging, m.object.replace(/\//g, '_'));
      const out = createWriteStream(tmp);
      for await (const chunk of r.payload) if (!out.write(chunk)) await new Promise<void>((res) => out.once("drain", () => res()));
      out.end();
      await finished(out);
      // Arrival order, unverified, name joined as given.
      const dest = join(repo, 'objects', m.object.slice(0, 2), m.object.slice(2));
      mkdirSync(dirname(dest), { recursive: true });
      renameSync(tmp, dest);
      status(true, '', r.order);
    } else if (m.type === 'DONE') {
      for (const [name, u] of refused ? [] : updates) {
        const p = join(repo, 'refs', 'heads', name);
        mkdirSync(dirname(p), { recursive: true });
        writeFileSync(p, `${u.to}\n`);
      }
      rmSync(staging, { recursive: true, force: true });
      code = refused ? 1 : 0;
      break;
    }
  }
} catch (e) {
  process.stderr.write(`weakened-receiver: ${(e as Error).message}\n`);
}
process.stdout.write('', () => process.exit(code));
