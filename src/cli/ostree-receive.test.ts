import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { initArchiveRepo } from '../repo/builder.js';
import { tmpDir } from '../../testkit/tmp.js';
import { encodeMessage, decodeInfo } from '../wire/messages.js';

const ENTRY = fileURLToPath(new URL('./ostree-receive.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

function run(args: string[], stdin: Uint8Array): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX, ENTRY, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
  });
}

test('ostree-receive: INFO on stdout, DONE on stdin ends idle with exit 0; errors are one stderr line', async (t) => {
  const repo = initArchiveRepo(`${tmpDir(t, 'receive-cli')}/repo`);
  const idle = await run([`--repo=${repo.path}`], encodeMessage({ type: 'DONE', extra: new Map() }));
  assert.equal(idle.code, 0, idle.stderr);
  assert.equal(idle.stderr, '');
  assert.equal(idle.stdout[0], 0x6c, 'INFO goes out little-endian');
  assert.equal(idle.stdout[2], 0, 'message type INFO');
  const length = idle.stdout.readUInt16LE(3);
  assert.equal(idle.stdout.length, 5 + length, 'nothing but INFO on stdout');
  const info = decodeInfo(idle.stdout.subarray(5), 'le');
  assert.equal(info.mode, 1);
  assert.equal(info.refs.size, 0);

  const usage = await run(['--bogus'], new Uint8Array(0));
  assert.equal(usage.code, 2);
  assert.equal(usage.stdout.length, 0);
  assert.match(usage.stderr, /^ostree-receive: Unknown option '--bogus' \(see --help\)\n$/);

  const missing = await run([`--repo=${repo.path}/nope`], new Uint8Array(0));
  assert.equal(missing.code, 1);
  assert.equal(missing.stdout.length, 0);
  assert.match(missing.stderr, /^ostree-receive: .* is not an OSTree repository \(no config\)\n$/);
});

test('ostree-receive: the options a version-0 pusher sends (--verbose, --debug) are accepted; --debug logs like -v', async (t) => {
  const repo = initArchiveRepo(`${tmpDir(t, 'receive-cli')}/repo`);
  // An UPDATE from a commit the ref is not at: refused, and -v logs the refusal besides the one error line.
  const [a, b] = ['a'.repeat(64), 'b'.repeat(64)];
  const stdin = Buffer.concat([encodeMessage({ type: 'UPDATE', refs: new Map([['main', { from: a, to: b }]]) }), encodeMessage({ type: 'DONE', extra: new Map() })]);
  const quiet = await run([`--repo=${repo.path}`], stdin);
  assert.equal(quiet.code, 1, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /^ostree-receive: refused: /m);
  for (const args of [['--debug'], ['--verbose', '--debug'], ['-v']]) {
    const r = await run([`--repo=${repo.path}`, ...args], stdin);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.deepEqual(r.stdout, quiet.stdout, `${args.join(' ')}: the same protocol bytes`);
    assert.match(r.stderr, /^ostree-receive: refused: /m, `${args.join(' ')}: the log line`);
  }
});
