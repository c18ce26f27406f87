import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RemoteRelay, repeats } from './remote-relay.js';

function relay(quiet = false): { r: RemoteRelay; out: string[] } {
  const out: string[] = [];
  return { r: new RemoteRelay((t) => out.push(t), { quiet }), out };
}

test('RemoteRelay: lines in order, whole lines only; the last one waits for the end of the session', () => {
  const { r, out } = relay();
  r.push('hook: one\nhook: t');
  assert.deepEqual(out, []);
  r.push(Buffer.from('wo\nhook: three\n'));
  assert.deepEqual(out, ['hook: one\n', 'hook: two\n']);
  assert.equal(r.lastLine(), 'hook: three');
  r.end(['something else']);
  assert.deepEqual(out, ['hook: one\n', 'hook: two\n', 'hook: three\n']);
  // Later lines pass straight through.
  r.push('late\n');
  assert.deepEqual(out.at(-1), 'late\n');
});

test('RemoteRelay: the receiver\'s last line is dropped when the pusher says the same', () => {
  const reason = 'ref stable: this repository does not allow a push to create it: no ref_permissions pattern matches it';
  const { r, out } = relay();
  r.push(`ostree-receive: ${reason}\n`);
  r.end(['', reason]);
  assert.deepEqual(out, []);
  // A line without a newline at the end is still a line.
  const b = relay();
  b.r.push('ostree-receive: /srv/x is outside root');
  assert.equal(b.r.lastLine(), 'ostree-receive: /srv/x is outside root');
  b.r.end(['the receiver on local /srv/x failed before the session began (exit 2): ostree-receive: /srv/x is outside root']);
  assert.deepEqual(b.out, []);
  // Only the last line is held: an earlier identical line was already shown.
  const c = relay();
  c.r.push(`ostree-receive: ${reason}\nbye\n`);
  c.r.end([reason]);
  assert.deepEqual(c.out, [`ostree-receive: ${reason}\n`, 'bye\n']);
});

test('RemoteRelay: quiet shows only what calls itself a warning or an error', () => {
  const { r, out } = relay(true);
  r.push('hook output\nostree-receive: plan: 3 objects\nostree-receive: warning: update_hook exited with status 7\nerror: something broke\nmore hook output\n');
  r.end([]);
  assert.deepEqual(out, ['ostree-receive: warning: update_hook exited with status 7\n', 'error: something broke\n']);
  assert.equal(r.lastLine(), 'more hook output');
});

test('repeats: the same text, with or without the program prefix, cut short by STATUS, or quoted', () => {
  const reason = 'commit abc is not signed (ed25519): nothing was published';
  assert.equal(repeats(`ostree-receive: ${reason}`, [reason]), true);
  assert.equal(repeats(reason, [`the receiver refused os/main: ${reason}`]), true);
  assert.equal(repeats(`ostree-receive: ${reason}`, [`${reason.slice(0, 20)}...`]), true);
  assert.equal(repeats(`ostree-receive: ${reason}; see the log`, [reason]), true);
  assert.equal(repeats('ostree-receive: something else entirely', [reason]), false);
  assert.equal(repeats('   ', [reason]), false);
  assert.equal(repeats('x', ['']), false);
  assert.equal(repeats('refused', ['x']), false);
});
