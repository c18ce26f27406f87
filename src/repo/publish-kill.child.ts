/**
 * Test helper for publish-kill.test.ts (not a test itself). Stages the
 * closure of commit C of archive repo SRC in DST, child first, then publishes
 * it. KILL_AFTER=k makes it SIGKILL itself once k objects are in place (0:
 * before the first); without it, it prints "staged" before publishing so the
 * parent can kill it at a random moment.
 *
 *   tsx publish-kill.child.ts SRC DST C
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { objectRelPath } from './object-names.js';
import { openRepoForWriting } from './open-for-writing.js';
import { Staging } from './staging.js';
import { closure } from './traverse.js';

const [src, dst, commit] = process.argv.slice(2) as [string, string, string];
const killAfter = process.env.KILL_AFTER === undefined ? -1 : Number(process.env.KILL_AFTER);
const die = (): void => {
  process.kill(process.pid, 'SIGKILL');
};

const repo = openRepoForWriting(dst);
const staging = Staging.create(repo);
try {
  const order = [];
  for await (const o of closure(src, commit)) {
    const sink = await staging.writeObject(o.checksum, o.type);
    for await (const chunk of createReadStream(join(src, objectRelPath(o.checksum, o.type)))) await sink.write(chunk as Buffer);
    await sink.commit();
    order.push(o);
  }
  if (killAfter === 0) die();
  if (killAfter < 0) {
    await new Promise<void>((r) => process.stdout.write('staged\n', () => r()));
  }
  staging.publish(order, { onStep: (k) => (k + 1 === killAfter ? die() : undefined) });
} finally {
  staging.dispose();
}
