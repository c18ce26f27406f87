import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tmpDir } from '../../testkit/tmp.js';
import { shellQuote } from '../transport/transport.js';
import { commandToServe, parseReceiveCommand, receiverArgs, RECEIVE_NAMES } from './receive-shell.js';
import { splitShellWords } from './shell-words.js';

const refusedWith = (code: string, message: RegExp) => (e: unknown) =>
  e instanceof Error && (e as { code?: string }).code === code && message.test(e.message);

test('splitShellWords: plain, quoted and escaped words, as shellQuote writes them', () => {
  assert.deepEqual(splitShellWords('ostree-receive --repo=/srv/repo'), ['ostree-receive', '--repo=/srv/repo']);
  assert.deepEqual(splitShellWords("  a\t'b c'  \"d e\"f "), ['a', 'b c', 'd ef']);
  for (const path of ["it's", 'a b', '$HOME', 'x;y', '~/r', '"q"']) {
    assert.deepEqual(splitShellWords(`ostree-receive --repo=${shellQuote(path)}`), ['ostree-receive', `--repo=${path}`], path);
  }
  assert.deepEqual(splitShellWords("''"), ['']);
});

test('splitShellWords refuses shell syntax instead of interpreting it', () => {
  const bad: Array<[string, RegExp]> = [
    ['ostree-receive --repo=x; rm -rf /', /metacharacter ';'/],
    ['ostree-receive --repo=x | cat', /metacharacter '\|'/],
    ['ostree-receive --repo=x && sh', /metacharacter '&'/],
    ['ostree-receive --repo=$HOME', /metacharacter '\$'/],
    ['ostree-receive --repo=`id`', /metacharacter '`'/],
    ['ostree-receive --repo=$(id)', /metacharacter '\$'/],
    ['ostree-receive > /etc/passwd', /metacharacter '>'/],
    ['ostree-receive --repo=~/r', /metacharacter '~'/],
    ['ostree-receive --repo=*', /metacharacter '\*'/],
    ['ostree-receive --repo=x\nsh', /metacharacter '\n'|control character/],
    ['ostree-receive "--repo=$x"', /inside double quotes/],
    ["ostree-receive 'unterminated", /unterminated quote/],
    ['ostree-receive x\\', /trailing backslash/],
  ];
  for (const [command, message] of bad) assert.throws(() => splitShellWords(command), refusedWith('SHELL_REFUSED', message), command);
});

test('parseReceiveCommand: the three names, --repo in both forms, -v; nothing else', () => {
  for (const name of RECEIVE_NAMES) {
    assert.deepEqual(parseReceiveCommand(`${name} --repo=r`), { name, repo: 'r', verbose: false });
    assert.deepEqual(parseReceiveCommand(`${name} -v --repo 'my repo'`), { name, repo: 'my repo', verbose: true });
  }
  const bad: Array<[string, RegExp]> = [
    ['', /empty command/],
    ['sh', /'sh' is not allowed; this account only runs ostree-receive, ostree-receive-0, ostree-receive-1/],
    ['/usr/bin/ostree-receive --repo=r', /'\/usr\/bin\/ostree-receive' is not allowed/],
    ['ostree-receive-2 --repo=r', /'ostree-receive-2' is not allowed/],
    ['git-receive-pack r', /is not allowed/],
    ['ostree-receive', /--repo=PATH is required/],
    ['ostree-receive --repo', /--repo needs a PATH/],
    ['ostree-receive --repo=a --repo=b', /--repo given twice/],
    ['ostree-receive --repo=', /'' is not a repository path/],
    ['ostree-receive --repo -v', /'-v' is not a repository path/],
    ['ostree-receive --repo=r --config=/tmp/evil', /argument '--config=\/tmp\/evil' is not allowed/],
    ['ostree-receive --repo=r extra', /argument 'extra' is not allowed/],
  ];
  for (const [command, message] of bad) assert.throws(() => parseReceiveCommand(command), refusedWith('SHELL_REFUSED', message), command);
});

test('parseReceiveCommand: every option a version-0 pusher sends (--verbose, --debug) is accepted; --debug means -v', () => {
  // The 2015 pusher runs `ostree-receive --repo=PATH [--verbose] [--debug]`.
  for (const name of RECEIVE_NAMES) {
    assert.deepEqual(parseReceiveCommand(`${name} --repo=/srv/r --debug`), { name, repo: '/srv/r', verbose: true });
    assert.deepEqual(parseReceiveCommand(`${name} --repo=/srv/r --verbose --debug`), { name, repo: '/srv/r', verbose: true });
  }
  assert.deepEqual(receiverArgs(parseReceiveCommand('ostree-receive --repo=/srv/r --debug')), receiverArgs(parseReceiveCommand('ostree-receive --repo=/srv/r -v')));
  assert.throws(() => parseReceiveCommand('ostree-receive --repo --debug'), refusedWith('SHELL_REFUSED', /'--debug' is not a repository path/));
  assert.throws(() => parseReceiveCommand('ostree-receive --repo=r --debug=1'), refusedWith('SHELL_REFUSED', /argument '--debug=1' is not allowed/));
});

test('every accepted name runs the same receiver with the same arguments (no configuration bypass)', () => {
  const args = RECEIVE_NAMES.map((name) => receiverArgs(parseReceiveCommand(`${name} --repo=/srv/r`)));
  for (const a of args) assert.deepEqual(a, args[0]);
  assert.ok(args[0]?.some((a) => a.endsWith('ostree-receive.ts') || a.endsWith('ostree-receive.js')));
});

test("parseReceiveCommand: 1.x's form (REPO URL [REF...], what the 1.x pusher runs) under every name, with its options", () => {
  const url = 'http://127.0.0.1:40123';
  for (const name of RECEIVE_NAMES) {
    assert.deepEqual(parseReceiveCommand(`${name} -n srv/repo ${url} os/main app/x/y`), { name, pull: { repo: 'srv/repo', url, refs: ['os/main', 'app/x/y'], flags: ['-n'] } });
    assert.deepEqual(parseReceiveCommand(`${name} /srv/r ${url}`), { name, pull: { repo: '/srv/r', url, refs: [], flags: [] } });
  }
  const long = parseReceiveCommand(`ostree-receive-1 --dry-run --force --quiet --verbose --no-update r ${url}/`);
  assert.deepEqual('pull' in long ? long.pull.flags : null, ['-n', '-f', '-q', '-v', '--no-update']);
  for (const u of ['http://localhost:1', 'http://127.1.2.3:8080/repo/', "'http://[::1]:99'"]) assert.ok('pull' in parseReceiveCommand(`ostree-receive r ${u}`), u);
  // The receiver gets the options, then `--`, then the words: a word can never become an option.
  const args = receiverArgs(parseReceiveCommand(`ostree-receive-1 -v -n r ${url} os/main`));
  assert.deepEqual(args.slice(-6), ['-v', '-n', '--', 'r', url, 'os/main']);
  const bad: Array<[string, RegExp]> = [
    [`ostree-receive-1 r http://10.0.0.5:80 os/main`, /not an http:\/\/ URL on a loopback address/],
    [`ostree-receive-1 r http://127.0.0.1.evil.example:80`, /loopback/],
    [`ostree-receive-1 r https://127.0.0.1:80`, /loopback/],
    [`ostree-receive-1 r file:///srv/other`, /loopback/],
    [`ostree-receive-1 r ${url} ../x`, /'..\/x' is not a ref name/],
    [`ostree-receive-1 r`, /REPO and URL are required/],
    [`ostree-receive-1 --config=x r ${url}`, /argument '--config=x' is not allowed/],
    [`ostree-receive-1 --idle-timeout=1 r ${url}`, /argument '--idle-timeout=1' is not allowed/],
    [`ostree-receive-1 -- -r ${url}`, /'-r' is not a repository path/],
  ];
  for (const [command, message] of bad) assert.throws(() => parseReceiveCommand(command), refusedWith('SHELL_REFUSED', message), command);
});

test('commandToServe: -c COMMAND, else SSH_ORIGINAL_COMMAND, else an interactive login, refused', () => {
  assert.equal(commandToServe(['-c', 'x'], {}), 'x');
  assert.equal(commandToServe([], { SSH_ORIGINAL_COMMAND: 'y' }), 'y');
  assert.throws(() => commandToServe([], {}), refusedWith('SHELL_INTERACTIVE', /^interactive login refused/));
  assert.throws(() => commandToServe(['-c'], {}), refusedWith('SHELL_REFUSED', /expected -c COMMAND/));
  assert.throws(() => commandToServe(['-i'], {}), refusedWith('SHELL_REFUSED', /expected -c COMMAND/));
});

test('the CLI: one line and exit 1 for a refusal, and nothing is run', (t) => {
  const dir = tmpDir(t, 'shell');
  const marker = join(dir, 'ran');
  const entry = fileURLToPath(new URL('./ostree-receive-shell.ts', import.meta.url));
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, ['--import', 'tsx', entry, ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 20_000 });
  const cases: Array<[string[], NodeJS.ProcessEnv, string]> = [
    [['-c', `ostree-receive --repo=x; touch ${marker}`], {}, "ostree-receive-shell: refused: shell metacharacter ';'\n"],
    [['-c', `touch ${marker}`], {}, "ostree-receive-shell: refused: 'touch' is not allowed; this account only runs ostree-receive, ostree-receive-0, ostree-receive-1\n"],
    [[], { SSH_ORIGINAL_COMMAND: `sh -c 'touch ${marker}'` }, "ostree-receive-shell: refused: 'sh' is not allowed; this account only runs ostree-receive, ostree-receive-0, ostree-receive-1\n"],
    [[], {}, 'ostree-receive-shell: interactive login refused: this account only runs ostree-receive\n'],
  ];
  for (const [args, env, stderr] of cases) {
    const r = run(args, env);
    assert.equal(r.stderr, stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.status, 1);
  }
  assert.equal(existsSync(marker), false);
});
