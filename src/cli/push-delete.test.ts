/**
 * End to end over the local transport: deleting remote refs with `:DST` and
 * `--delete DST`, judged by the receiver's ref_permissions, all or nothing
 * with the other refs of the same push, the summary rewritten after, and a
 * deletion through --dry-run and --json, and a receiver that does not offer
 * deleting refs (extensions off, as a version-0 one): refused by the pusher.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { commitTree } from '../repo/builder.js';
import { listRefs } from '../repo/refs.js';
import { Repo } from '../repo/repo.js';
import { ostreeSummaryUpdate, runOstree } from '../../testkit/ostree.js';
import { needTools } from '../../testkit/tools.js';
import { assertClean, setup, tree, type Setup } from '../../testkit/receive-policy-fixture.js';
import { isOstreePushError } from '../errors.js';
import type { Transport } from '../transport/transport.js';
import { pushMain } from './push-command.js';

const PLAIN_V0 = fileURLToPath(new URL('../../testkit/plain-v0-receiver.ts', import.meta.url));

/** The plain version-0 receiver (no capabilities) over pipes, recording every byte it was sent. */
function plainV0(path: string, sent: Buffer[]): Transport {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), PLAIN_V0, `--repo=${path}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stdin = child.stdin;
  const write = stdin.write.bind(stdin);
  stdin.write = ((chunk: Buffer, ...rest: never[]) => {
    sent.push(Buffer.from(chunk));
    return write(chunk, ...rest);
  }) as typeof stdin.write;
  return {
    stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    exit: new Promise((resolve) => child.on('close', (code) => resolve(code))),
    kill: () => child.kill(),
    describe: `local ${path}`,
  };
}

async function unbound(s: Setup, branch: string, name: string, parent?: string): Promise<string> {
  return (await commitTree(s.src, { tree: tree(name), subject: name, timestamp: 1, branch, bindings: false, ...(parent === undefined ? {} : { parent }) })).commit;
}

const remoteRefs = (s: Setup): Map<string, string> => listRefs(Repo.open(s.dest), 'heads');

/** Pushes `a` and `b` to the remote (everything allowed), then writes its summary. */
async function seeded(s: Setup): Promise<{ a: string; b: string }> {
  const a = await unbound(s, 'a', 'a');
  const b = await unbound(s, 'b', 'b');
  const r = await s.push(s.configure('{}\n'), 'a', 'b');
  assert.equal(r.code, 0, r.stderr);
  await ostreeSummaryUpdate(s.dest);
  return { a, b };
}

async function summaryRefs(dest: string): Promise<string> {
  const r = await runOstree(['summary', '--view', `--repo=${dest}`]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

test(':DST deletes the remote ref; the summary no longer lists it; ostree fsck is clean', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  const { b } = await seeded(s);
  assert.match(await summaryRefs(s.dest), /\* a\b/);
  const r = await s.push(s.configure('update: true\n'), ':a');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, / - \[deleted\] +a/);
  assert.deepEqual([...remoteRefs(s)], [['b', b]]);
  const summary = await summaryRefs(s.dest);
  assert.doesNotMatch(summary, /\* a\b/);
  assert.match(summary, /\* b\b/);
  await assertClean(s);
});

test('--delete DST (repeatable) deletes; --dry-run says [deleted] and deletes nothing; a ref the remote lacks is an error', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  const { a, b } = await seeded(s);
  const env = s.configure('{}\n');
  const dry = await s.push(env, '-n', '--delete', 'a', '--delete=b');
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, / - \[deleted\] +a/);
  assert.match(dry.stderr, / - \[deleted\] +b/);
  assert.deepEqual([...remoteRefs(s)], [['a', a], ['b', b]]);

  const missing = await s.push(env, '--delete', 'nope');
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, / ! \[rejected\] +nope \(remote ref does not exist\)/);
  assert.doesNotMatch(missing.stderr, /\n\s+at /);

  const r = await s.push(env, '--delete', 'a', '--delete', 'b');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(remoteRefs(s).size, 0);
  await assertClean(s);
});

test('a deletion ref_permissions does not allow is refused; with an update in the same push, all or nothing', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  const { a, b } = await seeded(s);
  const b2 = await unbound(s, 'b', 'b2', b);
  // a may not be deleted; b may move.
  const denied = s.configure("ref_permissions:\n  a: [create, move]\n  b: [move]\n");
  const refused = await s.push(denied, ':a');
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /delete/);
  assert.deepEqual([...remoteRefs(s)], [['a', a], ['b', b]]);

  // Deleting b is allowed, but the receiver refuses the update of a (too many objects): neither happens.
  const a2 = await unbound(s, 'a', 'a2', a);
  const mixed = s.configure("max_push_objects: 1\n");
  const none = await s.push(mixed, 'a', ':b');
  assert.equal(none.code, 1, none.stderr);
  assert.deepEqual([...remoteRefs(s)], [['a', a], ['b', b]]);

  // Both allowed: both happen.
  const both = await s.push(s.configure("ref_permissions:\n  a: [move]\n  b: [delete]\n"), 'a', ':b');
  assert.equal(both.code, 0, both.stderr);
  assert.deepEqual([...remoteRefs(s)], [['a', a2]]);
  void b2;
  await assertClean(s);
});

test('--help names :DST and --delete', async () => {
  let out = '';
  const code = await pushMain(['--help'], { err: () => undefined, out: (x) => (out += x), env: process.env, cwd: process.cwd() });
  assert.equal(code, 0);
  assert.match(out, /--delete=DST/);
  assert.match(out, /:DST/);
  assert.doesNotMatch(out, /not supported yet/);
});

test('--json shows a deletion', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  const { a } = await seeded(s);
  let out = '';
  const err: string[] = [];
  const code = await pushMain([`--repo=${s.src.path}`, '--json', '-n', s.dest, ':a'], { err: (l) => err.push(l), out: (x) => (out += x), env: process.env, cwd: process.cwd() });
  assert.equal(code, 0, err.join('\n'));
  const refs = (JSON.parse(out) as { refs: Array<Record<string, unknown>> }).refs;
  assert.deepEqual(refs.map((r) => [r['ref'], r['old'], r['new'], r['deleted']]), [['a', a, '0'.repeat(64), true]]);
});

test('a receiver that does not offer deletion: the pusher refuses (one line, exit 1), nothing but DONE sent, nothing changed', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  const { a, b } = await seeded(s);
  const sent: Buffer[] = [];
  const err: string[] = [];
  // pushMain throws what ends the run; the command prints its message as its one line (run-main.ts).
  await assert.rejects(
    pushMain([`--repo=${s.src.path}`, s.dest, ':a'], { err: (l) => err.push(l), out: () => undefined, stderr: () => undefined, env: process.env, cwd: process.cwd(), spawn: (p) => plainV0(p, sent) }),
    (e: unknown) => isOstreePushError(e) && e.code === 'PUSH_DELETE_UNSUPPORTED' && e.exitCode === 1 && !e.message.includes('\n'),
  );
  assert.deepEqual(err, []);
  // Message type 1 is UPDATE, 2 PUTOBJECT: neither went out.
  const bytes = Buffer.concat(sent);
  assert.ok(bytes.length === 0 || (bytes[2] !== 1 && bytes[2] !== 2), bytes.toString('hex'));
  assert.deepEqual([...remoteRefs(s)], [['a', a], ['b', b]]);
  await assertClean(s);
});
