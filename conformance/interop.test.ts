/**
 * The interop runner tested on our own commands (no other implementation
 * needed): ours on both sides over the ssh stand-in passes every cell of
 * both directions, and a peer that breaks each judged property fails the
 * cell with that property named. The byte-order proxy rewrites messages
 * into the other order, payloads untouched.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { Variant } from '../src/gvariant/index.js';
import { tmpDir } from '../testkit/tmp.js';
import { needTools } from '../testkit/tools.js';
import { encodeMessage, type Message } from '../src/wire/index.js';
import { entryCommands } from './bundle.js';
import { reorderStream } from './interop-order-proxy.js';
import { interopFailed, matrixTable, runInterop, SCENARIOS } from './interop-matrix.js';

const RECEIVE = 'src/cli/ostree-receive.ts';
const PUSH = 'src/cli/ostree-push.ts';

const messages: Message[] = [
  { type: 'INFO', mode: 1, refs: new Map([['main', 'ab'.repeat(32)]]), extra: new Map([['capabilities', new Variant('as', ['query'])]]) },
  { type: 'PUTOBJECT', object: `${'cd'.repeat(32)}.dirmeta`, size: 5n },
  { type: 'STATUS', result: true, message: '' },
  { type: 'DONE' },
] as Message[];
const payload = new Uint8Array([0x6c, 0x42, 1, 2, 3]); // looks like order bytes: must pass through untouched

function stream(order: 'le' | 'be'): Uint8Array[] {
  const parts = [encodeMessage(messages[0] as Message, order), encodeMessage(messages[1] as Message, order), payload, encodeMessage(messages[2] as Message, order), encodeMessage(messages[3] as Message, order)];
  return parts;
}

function joined(parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p)));
}

async function reorder(bytes: Buffer, chunk: number, order: 'le' | 'be' | 'keep'): Promise<Buffer> {
  const out: Uint8Array[] = [];
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < bytes.length; i += chunk) yield new Uint8Array(bytes.subarray(i, i + chunk));
  }
  await reorderStream(chunks(), order, async (b) => {
    out.push(new Uint8Array(b));
  });
  return joined(out);
}

describe('interop byte-order proxy', () => {
  it('rewrites every header and body into the other order, in any chunking, and passes payloads through', async () => {
    const le = joined(stream('le'));
    const be = joined(stream('be'));
    assert.notDeepEqual(le, be);
    for (const chunk of [1, 3, 7, 1000]) {
      assert.deepEqual(await reorder(le, chunk, 'be'), be, `chunks of ${chunk}`);
      assert.deepEqual(await reorder(be, chunk, 'le'), le, `chunks of ${chunk}`);
      assert.deepEqual(await reorder(le, chunk, 'le'), le);
    }
    assert.deepEqual(await reorder(le, 4, 'keep'), le);
  });

  it('fails on bytes that do not frame, and on a stream cut inside a message', async () => {
    await assert.rejects(reorder(Buffer.from('x\0\0\0\0'), 2, 'be'), /byte-order byte/);
    await assert.rejects(reorder(joined(stream('le')).subarray(0, 12), 5, 'be'), /ended inside a message/);
  });
});

describe('npm run interop against our own commands', { timeout: 300_000 }, () => {
  let receive = '';
  let push = '';
  before(async () => {
    const cmd = await entryCommands([RECEIVE, PUSH]);
    receive = cmd[RECEIVE] as string;
    push = cmd[PUSH] as string;
  });

  it('our pusher and receiver given as the other implementation: every cell of both directions passes', async (t) => {
    if (!needTools(t, 'ostree')) return;
    const results = await runInterop({ pusher: `${push} --repo={source} {remote} {ref}`, receiver: `${receive} --repo={repo}`, rows: ['ours-to-theirs', 'theirs-to-ours'] });
    t.diagnostic(`\n${matrixTable(results)}`);
    assert.deepEqual(
      results.map((r) => `${r.row}/${r.scenario}`),
      ['ours-to-theirs', 'theirs-to-ours'].flatMap((row) => SCENARIOS.map((s) => `${row}/${s}`)),
    );
    assert.deepEqual(results.filter((r) => r.status !== 'pass').map((r) => `${r.row}/${r.scenario}: ${r.message}`), []);
    assert.equal(interopFailed(results), false);
  });

  it('be-pusher: what reaches their receiver from their pusher is big-endian; in the full push, little-endian', async (t) => {
    if (!needTools(t, 'ostree')) return;
    const dir = tmpDir(t, 'interop-bytes');
    const results = await runInterop({
      pusher: `${push} --repo={source} {remote} {ref}`,
      receiver: `tee ${dir}/"$(basename "$(dirname {repo})")".in | ${receive} --repo={repo}`,
      rows: ['theirs-to-theirs'],
      scenarios: ['full', 'be-pusher'],
    });
    assert.deepEqual(results.map((r) => `${r.scenario}: ${r.status} ${r.message ?? ''}`), ['full: pass ', 'be-pusher: pass ']);
    assert.equal(String.fromCharCode(readFileSync(join(dir, 'theirs-to-theirs-full.in'))[0] ?? 0), 'l');
    assert.equal(String.fromCharCode(readFileSync(join(dir, 'theirs-to-theirs-be-pusher.in'))[0] ?? 0), 'B');
  });

  it('a peer that breaks a judged property fails the cell naming it; a listed failure is xfail', async (t) => {
    if (!needTools(t, 'ostree')) return;
    const results = await runInterop({
      // A pusher that never connects and says it succeeded.
      pusher: 'true {source} {remote} {ref}',
      // A receiver that publishes, then loses the dirtrees: fsck (and a pull) fail.
      receiver: `${receive} --repo={repo} && rm -f {repo}/objects/*/*.dirtree`,
      scenarios: ['full'],
      expect: { 'theirs-to-theirs/full': 'known' },
    });
    const by = Object.fromEntries(results.map((r) => [r.row, r]));
    assert.equal(by['ours-to-theirs']?.status, 'fail');
    assert.match(by['ours-to-theirs']?.message ?? '', /ostree fsck of the destination failed/);
    assert.equal(by['theirs-to-ours']?.status, 'fail');
    assert.match(by['theirs-to-ours']?.message ?? '', /pusher exit 0, receiver exit unknown \(never ran/);
    assert.equal(by['theirs-to-theirs']?.status, 'xfail');
    assert.equal(interopFailed(results), true);
    assert.match(matrixTable(results), /our push -> their receive +\| FAIL/);

    // A receiver that publishes, then drops the ref: the refs check names it.
    const [lost] = await runInterop({ receiver: `${receive} --repo={repo} && rm {repo}/refs/heads/main`, scenarios: ['full'] });
    assert.equal(lost?.status, 'fail');
    assert.match(lost?.message ?? '', /destination refs none, expected main=/);
    // One whose summary no client can read: fsck passes, the pull fails.
    const [unreadable] = await runInterop({ receiver: `${receive} --repo={repo} && printf junk > {repo}/summary`, scenarios: ['full'] });
    assert.equal(unreadable?.status, 'fail');
    assert.match(unreadable?.message ?? '', /ostree pull over http from the destination failed/);
  });

  it('a peer that hangs is killed at the deadline, with what it started, and the cell fails saying so', async (t) => {
    if (!needTools(t, 'ostree')) return;
    const pidFile = join(tmpDir(t, 'interop-hang'), 'pid');
    const [hung] = await runInterop({ receiver: `sleep 600 & echo $! > ${pidFile}; wait; : {repo}`, scenarios: ['full'], timeoutMs: 2000 });
    assert.equal(hung?.status, 'fail');
    assert.match(hung?.message ?? '', /did not finish within 2000 ms/);
    // SIGKILL was sent to the whole group; the sleeper is dead once it is gone or a zombie (waiting for init to reap it).
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const state = (): string => (existsSync(`/proc/${pid}/stat`) ? (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '?').charAt(0) : 'gone');
    for (let i = 0; i < 100 && !['gone', 'Z', 'X'].includes(state()); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(['gone', 'Z', 'X'].includes(state()), `the hung receiver's child ${pid} is still ${state()}`);
  });
});

describe('npm run interop: usage', () => {
  const entry = fileURLToPath(new URL('./interop.ts', import.meta.url));
  const cli = (...args: string[]): Promise<{ code: number | null; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, ['--import', import.meta.resolve('tsx'), entry, ...args], { timeout: 30_000 }, (err, _out, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr });
      });
    });

  it('bad arguments: exit 2, the reason on the first line, no stack trace', async () => {
    for (const [args, reason] of [
      [[], 'give --pusher and/or --receiver'],
      [['--receiver', 'other-receive'], '--receiver must contain {repo}'],
      [['--pusher', 'other-push {source}'], '--pusher must contain {remote}'],
      [['--receiver', 'r {repo}', '--only', 'full,sideways'], "unknown scenario 'sideways'"],
      [['--receiver', 'r {repo}', '--jobs', '0'], '--jobs must be a positive integer'],
    ] as const) {
      const r = await cli(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.startsWith(`interop: ${reason}`), r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});
