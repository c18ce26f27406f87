/**
 * The pull form of a push (push-pull-form.ts) through a real sshd: our HTTP
 * server, the port forwarded through the ssh connection (OpenSSH's control
 * master, and ssh2's forwardIn), and on the server a command that pulls.
 * Until the project's own receiver takes the 1.x form, the server side is a
 * stand-in `ostree-receive-1`: a shell script that runs the real `ostree pull`
 * from the URL it is given (so libostree judges what we serve), logging its
 * arguments. The destination is then checked with `ostree fsck`.
 *
 * Also: how --protocol=auto chooses (ours, a plain version-0 receiver with
 * and without ostree-receive-1 beside it), and the ssh options users bring
 * from 1.x (-p, -o, -i with OpenSSH, --command).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { commitTree } from '../repo/builder.js';
import { shellQuote } from '../transport/transport.js';
import { ostreeFsck, ostreeRevParse } from '../../testkit/ostree.js';
import { execFileSync } from 'node:child_process';
import { fixture, ostreePush, remoteOf, tree } from '../../testkit/ssh-push.js';
import { startSshd, type Sshd } from '../../testkit/sshd.js';
import { needTools } from '../../testkit/tools.js';

/** Replaces the server's ostree-receive-1 by a script pulling with `ostree pull --mirror`; returns its argument log. */
function pullingStandIn(sshd: Sshd, opts: { fail?: string } = {}): string {
  const log = join(sshd.dir, 'receive-1.log');
  const script = join(sshd.binDir, 'ostree-receive-1');
  writeFileSync(
    script,
    `#!/bin/sh
echo "$*" >> ${shellQuote(log)}
${opts.fail === undefined ? '' : `echo ${shellQuote(opts.fail)} >&2; exit 1\n`}dry=
while [ $# -gt 0 ]; do case "$1" in -n) dry=1; shift;; -f|-q|-v) shift;; *) break;; esac; done
repo=$1; url=$2; shift 2
[ -n "$dry" ] && { echo "dry run: nothing pulled" >&2; exit 0; }
name=pusher$$
ostree --repo="$repo" remote add --no-gpg-verify "$name" "$url" || exit 1
ostree --repo="$repo" pull --mirror "$name" "$@"; rc=$?
ostree --repo="$repo" remote delete "$name"
exit $rc
`,
  );
  chmodSync(script, 0o755);
  return log;
}

const PLAIN_V0 = fileURLToPath(new URL('../../testkit/plain-v0-receiver.ts', import.meta.url));

/** Makes the server's `ostree-receive` a plain version-0 receiver (no extensions, no configuration). */
function plainV0Receiver(sshd: Sshd): void {
  const script = join(sshd.binDir, 'ostree-receive');
  writeFileSync(script, `#!/bin/sh\nexec ${shellQuote(process.execPath)} --import ${shellQuote(import.meta.resolve('tsx'))} ${shellQuote(PLAIN_V0)} "$@"\n`);
  chmodSync(script, 0o755);
}

const ostreeRevParseSync = (repo: string, ref: string) => execFileSync('ostree', ['rev-parse', `--repo=${repo}`, ref], { stdio: 'pipe' });
const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : []);
const URL_RE = 'http://127\\.0\\.0\\.1:\\d+/[0-9a-f]{32}';

async function setup(t: TestContext) {
  const f = await fixture(t);
  const sshd = await startSshd(t);
  return { f, sshd, remote: remoteOf(sshd, f.dest) };
}

test('--protocol=pull over OpenSSH: the server pulls through the forwarded port, full then incremental, fsck clean', async (t) => {
  if (!needTools(t, 'sshd', 'ssh', 'ostree')) return;
  const { f, sshd, remote } = await setup(t);
  const log = pullingStandIn(sshd);
  const first = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, '--protocol=pull', '--json', remote]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(await ostreeRevParse(f.dest, 'main'), f.c1);
  const json = JSON.parse(first.stdout) as { ok: boolean; protocol: string; command: string; refs: unknown[] };
  assert.deepEqual([json.ok, json.protocol, json.command, json.refs], [true, 'pull', 'ostree-receive-1', [{ ref: 'main', new: f.c1, status: 'offered' }]]);
  // No ref named: none is passed, the server takes what the summary lists.
  assert.match(lines(log)[0] ?? '', new RegExp(`^${f.dest} ${URL_RE}$`));

  const c2 = (await commitTree(f.src, { tree: tree(7), timestamp: 2, branch: 'main', parent: f.c1 })).commit;
  const second = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, '--protocol=pull', '-f', '-q', remote, 'main']);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stderr, '');
  assert.match(lines(log)[1] ?? '', new RegExp(`^-f -q ${f.dest} ${URL_RE} main$`));
  assert.equal(await ostreeRevParse(f.dest, 'main'), c2);
  const fsck = await ostreeFsck(f.dest);
  assert.equal(fsck.code, 0, fsck.stderr);

  const dry = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, '--protocol=pull', '-n', '-v', remote, 'main']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(lines(log)[2] ?? '', new RegExp(`^-n -v ${f.dest} ${URL_RE} main$`));
  assert.match(dry.stderr, /dry run: nothing pulled/);
  // Nothing of the control master is left in the temp directory (the test runner checks it too).
});

test('--protocol=pull over the built-in client: ssh2 forwardIn carries the pull', async (t) => {
  if (!needTools(t, 'sshd', 'ostree')) return;
  const { f, sshd, remote } = await setup(t);
  const log = pullingStandIn(sshd);
  const r = await ostreePush([`--repo=${f.src.path}`, '--ssh=builtin', `-i`, sshd.userKey, `--known-hosts=${sshd.knownHosts}`, '--protocol=pull', remote, 'main'], { env: { ...process.env, SSH_AUTH_SOCK: '' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(lines(log).length, 1);
  assert.equal(await ostreeRevParse(f.dest, 'main'), f.c1);
  assert.equal((await ostreeFsck(f.dest)).code, 0);
});

test('--command: tried in order past a missing one (exit 127); all missing is exit 3; a refusal there is exit 1 with its line', async (t) => {
  if (!needTools(t, 'sshd', 'ssh', 'ostree')) return;
  const { f, sshd, remote } = await setup(t);
  const log = pullingStandIn(sshd);
  const ok = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, '--command=ostree-receive-9', '--command=ostree-receive-1', remote, 'main']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /'ostree-receive-1' pulled main/);
  assert.equal(lines(log).length, 1);

  const missing = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, '--command=ostree-receive-8', '--command=ostree-receive-9', '--json', remote]);
  assert.equal(missing.code, 3, missing.stderr);
  assert.equal((JSON.parse(missing.stdout) as { error: { code: string } }).error.code, 'TRANSPORT_RECEIVER_MISSING');

  pullingStandIn(sshd, { fail: 'error: commit is not signed' });
  const refused = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, '--protocol=pull', '--json', remote]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.equal((JSON.parse(refused.stdout) as { error: { code: string } }).error.code, 'PUSH_PULL_FAILED');
  assert.match(refused.stderr, /^ostree-push: 'ostree-receive-1' on 127\.0\.0\.1 port \d+ failed \(exit 1\): error: commit is not signed$/m);
});

test('--protocol=auto: ours speaks version 0; a plain version-0 receiver with ostree-receive-1 beside it gets the pull form; without it, a warning and version 0', async (t) => {
  if (!needTools(t, 'sshd', 'ssh', 'ostree')) return;
  const { f, sshd, remote } = await setup(t);
  const log = pullingStandIn(sshd);
  const ours = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, remote]);
  assert.equal(ours.code, 0, ours.stderr);
  assert.match(ours.stderr, /\[new branch\]/);
  assert.deepEqual(lines(log), []);

  plainV0Receiver(sshd);
  const c2 = (await commitTree(f.src, { tree: tree(7), timestamp: 2, branch: 'main', parent: f.c1 })).commit;
  const pulled = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, remote, 'main']);
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.equal(lines(log).length, 1);
  assert.doesNotMatch(pulled.stderr, /warning/);
  assert.equal(await ostreeRevParse(f.dest, 'main'), c2);

  rmSync(join(sshd.binDir, 'ostree-receive-1'));
  const c3 = (await commitTree(f.src, { tree: tree(8), timestamp: 3, branch: 'main', parent: c2 })).commit;
  const legacy = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, remote, 'main']);
  assert.equal(legacy.code, 0, legacy.stderr);
  const warnings = legacy.stderr.split('\n').filter((l) => l.includes('warning'));
  assert.equal(warnings.length, 1, legacy.stderr);
  assert.match(warnings[0] ?? '', /^ostree-push: warning: the receiver on .* is a plain version-0 receiver, which reads no server configuration/);
  assert.equal(await ostreeRevParse(f.dest, 'main'), c3);
  assert.equal((await ostreeFsck(f.dest)).code, 0);

  // --protocol=v0 takes the plain receiver as it is, without trying the pull form or warning.
  const c4 = (await commitTree(f.src, { tree: tree(9), timestamp: 4, branch: 'main', parent: c3 })).commit;
  const forced = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, '--protocol=v0', remote, 'main']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.doesNotMatch(forced.stderr, /warning/);
  assert.equal(await ostreeRevParse(f.dest, 'main'), c4);
});

test('--protocol=auto: a 1.0/1.1 server (its ostree-receive is the pull form and refuses --repo) gets the pull form; our receiver failing before INFO is reported as it is', async (t) => {
  if (!needTools(t, 'sshd', 'ssh', 'ostree')) return;
  const { f, sshd, remote } = await setup(t);
  const log = pullingStandIn(sshd);
  // ostree-receive answers --repo as Python's argparse does, else pulls; no ostree-receive-1.
  renameSync(join(sshd.binDir, 'ostree-receive-1'), join(sshd.binDir, 'pull-stand-in'));
  const script = join(sshd.binDir, 'ostree-receive');
  writeFileSync(
    script,
    `#!/bin/sh\ncase "$1" in --repo=*) echo "usage: ostree-receive [-h] REPO URL [REF ...]" >&2; echo "ostree-receive: error: the following arguments are required: URL" >&2; exit 2;; esac\nexec ${shellQuote(join(sshd.binDir, 'pull-stand-in'))} "$@"\n`,
  );
  chmodSync(script, 0o755);
  const old = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, remote, 'main']);
  assert.equal(old.code, 0, old.stderr);
  assert.match(old.stderr, /'ostree-receive' pulled main/);
  assert.equal(lines(log).length, 1);
  assert.equal(await ostreeRevParse(f.dest, 'main'), f.c1);

  // Our own receiver with a configuration it refuses: exit 2 before INFO, its own line, no pull form tried.
  const conf = join(sshd.dir, 'bad.conf');
  writeFileSync(conf, 'root: [\n');
  const ours = await startSshd(t, { env: { OSTREE_RECEIVE_CONF: conf } });
  const oursLog = pullingStandIn(ours);
  const refused = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${ours.sshCommand}`, remoteOf(ours, f.dest), 'main']);
  assert.notEqual(refused.code, 0, refused.stderr);
  assert.match(refused.stderr, /failed before the session began \(exit 2\): ostree-receive: .*bad\.conf/);
  assert.deepEqual(lines(oursLog), []);
});

test('-p, -o and -i with OpenSSH: the system ssh, configured by the options alone', async (t) => {
  if (!needTools(t, 'sshd', 'ssh', 'ostree')) return;
  const { f, sshd } = await setup(t);
  const hostOnly = `${sshd.user}@127.0.0.1:${f.dest}`;
  const o = ['-o', `UserKnownHostsFile=${sshd.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes'];
  const env = { ...process.env, OSTREE_PUSH_SSH_COMMAND: '' };
  const ok = await ostreePush([`--repo=${f.src.path}`, '-p', String(sshd.port), ...o, '-i', sshd.userKey, hostOnly], { env });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(await ostreeRevParse(f.dest, 'main'), f.c1);

  // -i: the key given is the one offered.
  const stranger = await ostreePush([`--repo=${f.src.path}`, '-p', String(sshd.port), ...o, '-i', sshd.strangerKey, '--json', hostOnly], { env });
  assert.equal(stranger.code, 3, stranger.stderr);
  assert.equal((JSON.parse(stranger.stdout) as { error: { code: string } }).error.code, 'TRANSPORT_AUTH_FAILED');
  // -o: without the known_hosts option the host key is unknown.
  const noKnown = await ostreePush([`--repo=${f.src.path}`, '-p', String(sshd.port), '-o', 'UserKnownHostsFile=/dev/null', ...o.slice(2), '-i', sshd.userKey, '--json', hostOnly], { env });
  assert.equal(noKnown.code, 3, noKnown.stderr);
  assert.equal((JSON.parse(noKnown.stdout) as { error: { code: string } }).error.code, 'TRANSPORT_HOST_KEY_UNKNOWN');
  // -p overrides the port in REMOTE.
  const wrongPort = await ostreePush([`--repo=${f.src.path}`, '-p', '1', ...o, '-i', sshd.userKey, '--json', remoteOf(sshd, f.dest)], { env });
  assert.equal(wrongPort.code, 3, wrongPort.stderr);
  assert.equal((JSON.parse(wrongPort.stdout) as { error: { code: string } }).error.code, 'TRANSPORT_UNREACHABLE');
});

test('Ctrl-C during the pull form: exit 3 (TRANSPORT_INTERRUPTED), the connection and the HTTP server closed, nothing left here', { timeout: 120_000 }, async (t) => {
  if (!needTools(t, 'sshd', 'ssh', 'ostree')) return;
  const { f, sshd, remote } = await setup(t);
  // A server command that says it started, then waits as a long pull would (until the test's files are removed).
  // (The pusher holds the remote's last line back until the end: the first is shown when the second comes.)
  const script = join(sshd.binDir, 'ostree-receive-1');
  writeFileSync(script, `#!/bin/sh\necho pulling >&2\necho waiting >&2\nwhile [ -e ${shellQuote(script)} ]; do sleep 0.2; done\n`);
  chmodSync(script, 0o755);
  let interrupt: (() => void) | undefined;
  const r = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, '--protocol=pull', '--json', remote], {
    onInterrupt: (h) => {
      interrupt = h;
      return () => undefined;
    },
    // The pause point: the server's first line.
    stderr: (text) => {
      if (text.toString().includes('pulling')) interrupt?.();
    },
  });
  assert.equal(r.code, 3, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'TRANSPORT_INTERRUPTED');
  assert.match(r.stderr, /^ostree-push: interrupted; the server publishes nothing unless its pull had completed/m);
  assert.throws(() => ostreeRevParseSync(f.dest, 'main'));
});

test('option misuse is a usage error (exit 2), one line', async (t) => {
  const f = await fixture(t);
  for (const args of [
    ['--protocol=v1', 'h:/r'],
    ['-p', '0', 'h:/r'],
    ['-p', 'ssh', 'h:/r'],
    ['--ssh=builtin', '-o', 'BatchMode=yes', 'h:/r'],
    ['--known-hosts=/dev/null', 'h:/r'],
    ['--command=x', f.dest],
    ['--protocol=pull', f.dest],
    ['-p', '22', f.dest],
    ['--protocol=v0', '--command=x', 'h:/r'],
    ['--protocol=pull', '--receive-command=x', 'h:/r'],
    ['--command=x', '--receive-command=y', 'h:/r'],
  ]) {
    const r = await ostreePush([`--repo=${f.src.path}`, ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('--protocol=pull to our own ostree-receive-1 behind the restricted shell: full then incremental, fsck clean', async (t) => {
  if (!needTools(t, 'sshd', 'ssh', 'ostree')) return;
  const f = await fixture(t);
  // No stand-in: the server's ostree-receive-1 is this project's receiver, reached through ostree-receive-shell.
  const sshd = await startSshd(t, { forceShell: true });
  const remote = remoteOf(sshd, f.dest);
  const first = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, '--protocol=pull', '--json', remote, 'main']);
  assert.equal(first.code, 0, first.stderr);
  assert.equal((JSON.parse(first.stdout) as { protocol: string }).protocol, 'pull');
  assert.equal(await ostreeRevParse(f.dest, 'main'), f.c1);
  const c2 = (await commitTree(f.src, { tree: tree(7), timestamp: 2, branch: 'main', parent: f.c1 })).commit;
  const second = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, '--protocol=pull', remote, 'main']);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(await ostreeRevParse(f.dest, 'main'), c2);
  const fsck = await ostreeFsck(f.dest);
  assert.equal(fsck.code, 0, fsck.stderr);
});
