/**
 * A behaviour model of the 2015 receiver, for the simulator only: it shows
 * that the invariant checks bite on the weaknesses protocol-v0.md lists.
 *
 *   - objects are written to a staging directory under tmp/ and renamed into
 *     objects/ in arrival order (`publish: 'arrival'`: as each arrives;
 *     `'done'`: all on DONE), never checksummed;
 *   - no closure check before the refs move;
 *   - refs written one by one, no lock, no journal;
 *   - the staging directory stays behind when the process is killed.
 *
 * It speaks version 0 with this project's wire reader and writer (not the
 * Endpoint, which would refuse what the old receiver accepted). A kill is
 * modelled by stopping dead at the chosen point: nothing is cleaned up.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { listRefs } from '../src/repo/refs.js';
import type { Repo } from '../src/repo/repo.js';
import { STAGING_PREFIX } from '../src/repo/staging.js';
import { MessageReader } from '../src/wire/reader.js';
import { MessageWriter } from '../src/wire/writer.js';
import type { KillPoint } from './faults.js';

export interface LegacyOptions {
  repo: Repo;
  input: AsyncIterable<Uint8Array> | Readable;
  output: Writable;
  publish?: 'arrival' | 'done';
  /** Stop dead (as SIGKILL would) at this point. */
  kill?: { at: KillPoint; step: number };
}

export type LegacyOutcome = 'idle' | 'published' | 'killed' | 'aborted';

class Killed extends Error {}

export async function legacyReceive(o: LegacyOptions): Promise<LegacyOutcome> {
  const reader = new MessageReader(o.input as AsyncIterable<Uint8Array>);
  const writer = new MessageWriter(o.output);
  const staging = o.repo.resolve('tmp', `${STAGING_PREFIX}${process.pid}-${Math.floor(Math.random() * 2 ** 32).toString(16)}`);
  const arrival = (o.publish ?? 'arrival') === 'arrival';
  const die = (at: KillPoint, step: number): void => {
    if (o.kill?.at === at && o.kill.step === step) throw new Killed();
  };
  const staged: string[] = [];
  let refs = new Map<string, string>();
  const place = (name: string): void => {
    const dst = o.repo.resolve('objects', name.slice(0, 2), name.slice(2));
    mkdirSync(dirname(dst), { recursive: true });
    renameSync(join(staging, name), dst);
  };
  try {
    await writer.send({ type: 'INFO', mode: o.repo.modeNumber, refs: listRefs(o.repo), extra: new Map() });
    mkdirSync(staging);
    let received = 0;
    let published = 0;
    for (;;) {
      const r = await reader.next();
      if (r === null) return 'aborted';
      const m = r.message;
      if (m.type === 'UPDATE') {
        refs = new Map([...m.refs].map(([name, u]) => [name, u.to]));
        await writer.send({ type: 'STATUS', result: true, message: '', extra: new Map() });
      } else if (m.type === 'PUTOBJECT' && r.payload !== undefined) {
        // The name is joined into a path unchecked, as in 2015.
        const file = createWriteStream(join(staging, m.object));
        for await (const c of r.payload) if (!file.write(c)) await once(file, 'drain');
        file.end();
        await once(file, 'close');
        staged.push(m.object);
        die('receiving', ++received);
        if (arrival) {
          place(m.object);
          die('publish', ++published);
        }
        await writer.send({ type: 'STATUS', result: true, message: '', extra: new Map() });
      } else if (m.type === 'DONE') {
        if (refs.size === 0) {
          rmSync(staging, { recursive: true, force: true });
          return 'idle';
        }
        die('closure', 0);
        if (!arrival) {
          for (const name of staged) {
            place(name);
            die('publish', ++published);
          }
        }
        let k = 0;
        for (const [name, to] of refs) {
          const path = o.repo.resolve('refs', 'heads', name);
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, `${to}\n`);
          die('ref', ++k);
        }
        rmSync(staging, { recursive: true, force: true });
        return 'published';
      }
    }
  } catch (e) {
    if (e instanceof Killed) return 'killed';
    rmSync(staging, { recursive: true, force: true });
    return 'aborted';
  }
}
