import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../errors.js';
import { describeRemote, parseRemote, type Remote } from './remote.js';
import { receiveCommandLine, shellQuote } from './transport.js';

const cases: Array<[string, Remote]> = [
  ['host:repo', { kind: 'ssh', host: 'host', path: 'repo' }],
  ['alice@host:/srv/repo', { kind: 'ssh', host: 'host', user: 'alice', path: '/srv/repo' }],
  ['host:~/repo', { kind: 'ssh', host: 'host', path: 'repo' }],
  ['a@b@host:x', { kind: 'ssh', host: 'host', user: 'a@b', path: 'x' }],
  ['[::1]:repo', { kind: 'ssh', host: '::1', path: 'repo' }],
  ['bob@[fe80::1]:/r', { kind: 'ssh', host: 'fe80::1', user: 'bob', path: '/r' }],
  ['C:/x', { kind: 'ssh', host: 'C', path: '/x' }],
  ['host:a:b', { kind: 'ssh', host: 'host', path: 'a:b' }],
  ['ssh://host/srv/repo', { kind: 'ssh', host: 'host', path: '/srv/repo' }],
  ['ssh://alice@host:2222/srv/repo', { kind: 'ssh', host: 'host', user: 'alice', port: 2222, path: '/srv/repo' }],
  ['ssh://host/~/repo', { kind: 'ssh', host: 'host', path: 'repo' }],
  ['ssh://[::1]:22/r%20s', { kind: 'ssh', host: '::1', port: 22, path: '/r s' }],
  ['ssh://host:/srv', { kind: 'ssh', host: 'host', path: '/srv' }],
  ['/srv/repo', { kind: 'local', path: '/srv/repo' }],
  ['./a:b', { kind: 'local', path: './a:b' }],
  ['/srv/a:b', { kind: 'local', path: '/srv/a:b' }],
  ['repo', { kind: 'local', path: 'repo' }],
  ['file:///srv/repo', { kind: 'local', path: '/srv/repo' }],
  ['file://localhost/srv/my%20repo', { kind: 'local', path: '/srv/my repo' }],
  // A bucket: the receiver runs here and checks the name (src/bucket/location.ts).
  ['s3://updates/os/x86_64', { kind: 'local', path: 's3://updates/os/x86_64' }],
];

test('parseRemote: the accepted forms', () => {
  for (const [text, want] of cases) assert.deepEqual(parseRemote(text), want, text);
});

const bad: Array<[string, RegExp]> = [
  ['', /is empty/],
  ['host:', /path is empty/],
  ['host:~', /path is empty/],
  [':repo', /host is empty/],
  ['@host:repo', /user name before @ is empty/],
  ['-oProxyCommand=x:repo', /starts with '-'/],
  ['-x@host:repo', /starts with '-'/],
  ['ssh://host', /path is empty/],
  ['ssh://host/', /path is empty/],
  ['ssh://host:0/r', /port '0'/],
  ['ssh://host:65536/r', /port '65536'/],
  ['ssh://host:ab/r', /port 'ab'/],
  ['ssh://-oX/r', /starts with '-'/],
  ['ssh://host/%zz', /%-escape/],
  ['http://host/repo', /scheme 'http:\/\/'/],
  ['file:relative', /file:\/\/\/absolute/],
  ['file://elsewhere/r', /not 'elsewhere'/],
  ['file:///', /path is empty/],
  ['host:re\npo', /control character/],
  ['ho st:repo', /space/],
];

test('parseRemote: malformed REMOTEs are PUSH_BAD_REMOTE usage errors (exit 2) naming the problem', () => {
  for (const [text, message] of bad) {
    assert.throws(
      () => parseRemote(text),
      (e: unknown) => e instanceof UsageError && e.code === 'PUSH_BAD_REMOTE' && e.exitCode === 2 && message.test(e.message),
      JSON.stringify(text),
    );
  }
});

test('describeRemote round-trips through parseRemote', () => {
  for (const [text, want] of cases) {
    if (want.kind === 'local') continue;
    assert.deepEqual(parseRemote(describeRemote(want)), want, text);
  }
});

test('the remote command quotes the path as one shell word', () => {
  assert.equal(shellQuote('/srv/repo'), '/srv/repo');
  assert.equal(shellQuote(''), "''");
  assert.equal(shellQuote("it's $HOME; rm -rf /"), `'it'\\''s $HOME; rm -rf /'`);
  assert.equal(receiveCommandLine('my repo'), "ostree-receive --repo='my repo'");
  assert.equal(receiveCommandLine('r', '/opt/bin/ostree-receive -v'), '/opt/bin/ostree-receive -v --repo=r');
});
