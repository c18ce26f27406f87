/**
 * A receiver stopped by SIGTERM or SIGINT in the middle of a payload removes
 * its staging directory on the way out (exit clean-up) and dies of the signal.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { listRefs, ZERO_CHECKSUM } from '../repo/refs.js';
import { encodeMessage } from '../wire/messages.js';
import { MessageReader } from '../wire/reader.js';
import { MessageWriter } from '../wire/writer.js';
import { makeFixture, stagingLeft } from '../../testkit/receive-fixtures.js';

const CHILD = join(import.meta.dirname, 'receiver-signal.child.ts');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`receiver: ${signal} mid-payload removes the staging directory`, async (t) => {
    const f = await makeFixture(t);
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, f.dest.path], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, sig) => res({ code, signal: sig })));
    const reader = new MessageReader(child.stdout);
    const writer = new MessageWriter(child.stdin);
    assert.equal((await reader.next())?.message.type, 'INFO');
    await writer.send({ type: 'UPDATE', refs: new Map([['os/main', { from: ZERO_CHECKSUM, to: f.c1 }]]) });
    const st = await reader.next();
    assert.equal(st?.message.type === 'STATUS' && st.message.result, true);
    // Half of a file object: the receiver is now streaming it into staging.
    child.stdin.write(encodeMessage({ type: 'PUTOBJECT', object: `${'cd'.repeat(32)}.filez`, size: 100_000n, extra: new Map() }));
    child.stdin.write(new Uint8Array(1000));
    const staged = (): string[] => readdirSync(f.dest.resolve('tmp')).filter((n) => n.startsWith('push-staging-'));
    for (let i = 0; i < 200 && !staged().some((d) => existsSync(f.dest.resolve('tmp', d, 'cd', `${'cd'.repeat(31)}.filez`))); i++) await sleep(10);
    assert.equal(staged().length, 1, 'a staging directory with a partial object exists');
    child.kill(signal);
    const end = await exited;
    assert.equal(end.signal, signal, `died of the signal (stderr: ${stderr})`);
    assert.deepEqual(stagingLeft(f.dest), []);
    assert.deepEqual(listRefs(f.dest), new Map());
    assert.equal(stderr, '', 'no stack trace, nothing on stderr');
  });
}
