import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PolicyError } from '../policy/errors.js';
import { makeEd25519Keys } from '../../testkit/test-keys.js';
import { tmpDir } from '../../testkit/tmp.js';
import { ConfigError, configPaths, fileOf, DEFAULT_CONFIG, loadReceiveConfig, parseReceiveConfig, policySettingsFor, receivePolicyFor, resolveRepoPath, settingsFor } from './receive-config.js';

function configError(code: string, message: RegExp, exit: number) {
  return (e: unknown) => e instanceof ConfigError && e.code === code && e.exitCode === exit && message.test(e.message) && !e.message.includes('\n');
}

test('the paths searched, as 1.x: OSTREE_RECEIVE_CONF alone, else /etc then the user file ($XDG_CONFIG_HOME honoured)', () => {
  assert.deepEqual(configPaths({ OSTREE_RECEIVE_CONF: '/x.conf' }, '/home/u'), ['/x.conf']);
  assert.deepEqual(configPaths({ OSTREE_RECEIVE_CONF: '' }, '/home/u'), ['/etc/ostree/ostree-receive.conf', '/home/u/.config/ostree/ostree-receive.conf']);
  assert.deepEqual(configPaths({ XDG_CONFIG_HOME: '/cfg' }, '/home/u'), ['/etc/ostree/ostree-receive.conf', '/cfg/ostree/ostree-receive.conf']);
  // The XDG rule: empty or relative is ignored (a relative one would read a file from the working directory).
  assert.deepEqual(configPaths({ XDG_CONFIG_HOME: '' }, '/home/u', '/e.conf'), ['/e.conf', '/home/u/.config/ostree/ostree-receive.conf']);
  assert.deepEqual(configPaths({ XDG_CONFIG_HOME: 'rel' }, '/home/u', '/e.conf'), ['/e.conf', '/home/u/.config/ostree/ostree-receive.conf']);
});

test('a full file parses; empty files and missing keys give the defaults', () => {
  const c = parseReceiveConfig(
    [
      'root: /srv/ostree',
      'force: yes',
      'dry_run: false',
      'update_hook: /usr/local/bin/hook',
      'log_level: DEBUG',
      'update: true',
      'gpg_sign: [ABCD]',
      'sign_type: ed25519',
      'repos:',
      '  main:',
      '    force: false',
      '    log_level: warning',
      '  other: null',
    ].join('\n'),
    'c.conf',
  );
  assert.equal(c.root, '/srv/ostree');
  assert.equal(c.force, true);
  assert.equal(c.dryRun, false);
  assert.equal(c.logLevel, 'debug');
  assert.deepEqual(c.policy, { update: true, update_hook: '/usr/local/bin/hook', sign_type: 'ed25519', gpg_sign: ['ABCD'] }, 'policy keys kept raw');
  assert.deepEqual(c.repos, [
    { path: 'main', overrides: { force: false, logLevel: 'warning' }, policy: {} },
    { path: 'other', overrides: {}, policy: {} },
  ]);
  assert.deepEqual(parseReceiveConfig('', 'e.conf'), { ...DEFAULT_CONFIG, file: 'e.conf' });
  assert.deepEqual(parseReceiveConfig('# only a comment\nroot: ""\n', 'e.conf'), { ...DEFAULT_CONFIG, file: 'e.conf' });
});

test('a bad file is one CONFIG_INVALID line naming the file and the key (exit 2)', () => {
  const bad: Array<[string, RegExp]> = [
    ['force: maybe', /^b\.conf: force must be boolean or null$/],
    ['frce: true', /^b\.conf: frce is not a known key$/],
    ['log_level: LOUD', /^b\.conf: log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL$/],
    ['repos:\n  main:\n    root: /x', /^b\.conf: repos\.main\.root is not a known key$/],
    ['repos:\n  main:\n    dry_run: 3', /^b\.conf: repos\.main\.dry_run must be boolean or null$/],
    ['- a list', /^b\.conf: \(top level\) must be object or null$/],
    ['root: relative/dir', /^b\.conf: root must be an absolute path, not 'relative\/dir'$/],
    ['force: true\nforce: false', /^b\.conf: not valid YAML: .*/],
    ['root: [unclosed', /^b\.conf: not valid YAML: /],
    ['sign_type: dummy', /^b\.conf: sign_type must be ed25519$/],
    ['repos:\n  main:\n    sign_type: rsa', /^b\.conf: repos\.main\.sign_type must be ed25519$/],
    ['sign_verify: sometimes', /^b\.conf: sign_verify must be boolean or null$/],
    ['sign_keyfiles: 3', /^b\.conf: sign_keyfiles must be string, array or null$/],
    ['sign_keyfiles: [a, 3]', /^b\.conf: sign_keyfiles\.1 must be string$/],
    ['gpg_sign: {a: b}', /^b\.conf: gpg_sign must be string, array or null$/],
    ['gpg_verfy: true', /^b\.conf: gpg_verfy is not a known key$/],
    ['ref_permissions: [stable]', /^b\.conf: ref_permissions must be object or null$/],
    ['ref_permissions:\n  stable: [push]', /^b\.conf: ref_permissions\.stable\.0 must be one of create, move, force, delete$/],
    ['repos:\n  main:\n    ref_permissions:\n      "app/*": move', /^b\.conf: repos\.main\.ref_permissions\.app\/\* must be array$/],
    ['repos:\n  main:\n    root: /x', /^b\.conf: repos\.main\.root is not a known key$/],
  ];
  for (const [text, message] of bad) assert.throws(() => parseReceiveConfig(text, 'b.conf'), configError('CONFIG_INVALID', message, 2), text);
});

test('loading, as 1.x: /etc and the user file are merged key by key, the user file winning; OSTREE_RECEIVE_CONF alone, and it must exist', (t) => {
  const dir = tmpDir(t, 'config');
  const home = join(dir, 'home');
  const etc = join(dir, 'etc.conf');
  const user = join(home, '.config', 'ostree', 'ostree-receive.conf');
  mkdirSync(join(home, '.config', 'ostree'), { recursive: true });
  assert.deepEqual(loadReceiveConfig({}, home, etc), { ...DEFAULT_CONFIG }, 'no file: the defaults');
  writeFileSync(etc, 'force: true\nupdate_hook: /etc-hook\nrepos:\n  a:\n    update: false\n');
  const etcOnly = loadReceiveConfig({}, home, etc);
  assert.deepEqual([etcOnly.force, etcOnly.file, etcOnly.policy], [true, etc, { update_hook: '/etc-hook' }]);
  writeFileSync(user, 'force: false\nsign_type: ed25519\nrepos:\n  b:\n    update: true\n');
  const both = loadReceiveConfig({}, home, etc);
  assert.equal(both.force, false, 'the user file wins for a key both set');
  assert.deepEqual(both.policy, { update_hook: '/etc-hook', sign_type: 'ed25519' }, 'a key only /etc sets still applies');
  assert.deepEqual(both.repos.map((r) => r.path), ['b'], 'repos is one key: replaced whole, as 1.x does');
  assert.deepEqual([both.file, fileOf(both, 'update_hook'), fileOf(both, 'force'), fileOf(both, 'repos')], [user, etc, user, user]);
  const xdg = join(dir, 'xdg');
  mkdirSync(join(xdg, 'ostree'), { recursive: true });
  writeFileSync(join(xdg, 'ostree', 'ostree-receive.conf'), 'dry_run: true\n');
  const viaXdg = loadReceiveConfig({ XDG_CONFIG_HOME: xdg }, home, etc);
  assert.deepEqual([viaXdg.force, viaXdg.dryRun], [true, true], '$XDG_CONFIG_HOME replaces ~/.config');
  writeFileSync(etc, 'frce: true\n');
  assert.throws(() => loadReceiveConfig({}, home, etc), configError('CONFIG_INVALID', /etc\.conf: frce is not a known key$/, 2), 'each file is validated on its own and named');
  const explicit = join(dir, 'x.conf');
  writeFileSync(explicit, 'dry_run: true\n');
  const fromEnv = loadReceiveConfig({ OSTREE_RECEIVE_CONF: explicit }, home, etc);
  assert.deepEqual([fromEnv.force, fromEnv.dryRun, fromEnv.file], [false, true, explicit]);
  assert.throws(() => loadReceiveConfig({ OSTREE_RECEIVE_CONF: join(dir, 'missing.conf') }, home), configError('CONFIG_UNREADABLE', /missing\.conf: cannot read the configuration: no such file \(named by OSTREE_RECEIVE_CONF\)$/, 2));
  assert.throws(() => loadReceiveConfig({ OSTREE_RECEIVE_CONF: dir }, home), configError('CONFIG_UNREADABLE', /cannot read the configuration: EISDIR/, 2));
});

test('root confinement: inside is allowed, "..", absolute paths elsewhere and symlinks out are refused (exit 1)', (t) => {
  const dir = tmpDir(t, 'config-root');
  const root = join(dir, 'root');
  mkdirSync(join(root, 'repos', 'main'), { recursive: true });
  mkdirSync(join(dir, 'secret'));
  symlinkSync(join(dir, 'secret'), join(root, 'escape'));
  symlinkSync(join(root, 'repos', 'main'), join(root, 'alias'));
  const config = { ...DEFAULT_CONFIG, file: 'c.conf', root };
  assert.equal(resolveRepoPath(config, 'repos/main'), join(root, 'repos', 'main'));
  assert.equal(resolveRepoPath(config, join(root, 'repos', 'main')), join(root, 'repos', 'main'));
  assert.equal(resolveRepoPath(config, 'alias'), join(root, 'repos', 'main'));
  const refused: Array<[string, RegExp]> = [
    ['../secret', /'\.\.' is not allowed$/],
    ['repos/../repos/main', /'\.\.' is not allowed$/],
    [join(dir, 'secret'), /not below it$/],
    ['/etc', /not below it$/],
    ['escape', /a symlink leads out\)$/],
  ];
  for (const [path, message] of refused) {
    assert.throws(() => resolveRepoPath(config, path), configError('CONFIG_REPO_OUTSIDE_ROOT', message, 1), path);
  }
  // A path that does not exist resolves (opening it fails later), unless its parent leads out.
  assert.equal(resolveRepoPath(config, 'repos/new'), join(root, 'repos', 'new'));
  assert.throws(() => resolveRepoPath(config, 'escape/new'), configError('CONFIG_REPO_OUTSIDE_ROOT', /a symlink leads out\)$/, 1));
  // Without root, any path goes, relative to the working directory.
  assert.equal(resolveRepoPath({ ...DEFAULT_CONFIG }, 'secret', dir), join(dir, 'secret'));
  assert.equal(resolveRepoPath({ ...DEFAULT_CONFIG }, '../secret', root), join(dir, 'secret'));
});

test('per-repository overrides apply to the repository they name, through symlinks too', (t) => {
  const dir = tmpDir(t, 'config-repos');
  mkdirSync(join(dir, 'a'));
  mkdirSync(join(dir, 'b'));
  const config = parseReceiveConfig(`root: ${dir}\nforce: false\nrepos:\n  a:\n    force: true\n    update_hook: /bin/true\n  gone:\n    dry_run: true\n`, 'c.conf');
  assert.deepEqual(settingsFor(config, resolveRepoPath(config, 'a')), { force: true, dryRun: false, logLevel: 'info' });
  assert.deepEqual(settingsFor(config, resolveRepoPath(config, 'b')), { force: false, dryRun: false, logLevel: 'info' });
  assert.deepEqual(policySettingsFor(config, resolveRepoPath(config, 'a')), { update_hook: '/bin/true' });
  assert.deepEqual(policySettingsFor(config, resolveRepoPath(config, 'b')), {});
});

test('two repos entries naming one repository: the first applies, as 1.x takes the first match', (t) => {
  const dir = tmpDir(t, 'config-repos-first');
  mkdirSync(join(dir, 'a'));
  const config = parseReceiveConfig(`root: ${dir}\nrepos:\n  a:\n    update_hook: first\n  ${join(dir, 'a')}:\n    update_hook: second\n    update: false\n`, 'c.conf');
  assert.deepEqual(policySettingsFor(config, resolveRepoPath(config, 'a')), { update_hook: 'first' });
});

test('recommit: a top-level or per-repository key, false by default', (t) => {
  const dir = tmpDir(t, 'config-recommit');
  mkdirSync(join(dir, 'a'));
  mkdirSync(join(dir, 'b'));
  const config = parseReceiveConfig(`root: ${dir}\nrepos:\n  a:\n    recommit: true\n`, 'c.conf');
  assert.equal(receivePolicyFor(config, resolveRepoPath(config, 'a')).recommit, true);
  assert.equal(receivePolicyFor(config, resolveRepoPath(config, 'b')).recommit, false);
  assert.equal(receivePolicyFor(parseReceiveConfig('recommit: yes\n', 'd.conf'), join(dir, 'b')).recommit, true);
  assert.throws(() => parseReceiveConfig('recommit: 3\n', 'e.conf'), configError('CONFIG_INVALID', /^e\.conf: recommit must be boolean or null$/, 2));
});

test('policy keys: a repos entry replaces top-level keys one by one, lists and mappings whole', (t) => {
  const dir = tmpDir(t, 'config-policy');
  mkdirSync(join(dir, 'a'));
  mkdirSync(join(dir, 'b'));
  const keys = makeEd25519Keys(dir, 'k');
  const config = parseReceiveConfig(
    [
      `root: ${dir}`,
      'update: false',
      'update_hook: hook-all',
      `sign_keyfiles: [${keys.secretFile}]`,
      'ref_permissions:',
      "  '**': [create, move]",
      'repos:',
      '  a:',
      '    update_hook: hook-a',
      `    sign_verify: true`,
      `    sign_trustedkeyfile: ${keys.publicFile}`,
      '    ref_permissions:',
      "      'app/*/x86_64/beta': [create]",
    ].join('\n'),
    'c.conf',
  );
  const a = resolveRepoPath(config, 'a');
  assert.deepEqual(policySettingsFor(config, a), {
    update: false,
    update_hook: 'hook-a',
    sign_verify: true,
    sign_trustedkeyfile: keys.publicFile,
    sign_keyfiles: [keys.secretFile],
    ref_permissions: { 'app/*/x86_64/beta': ['create'] },
  });
  const pa = receivePolicyFor(config, a);
  assert.deepEqual([pa.update, pa.updateHook, pa.verify.ed25519?.keys.length, pa.sign.ed25519?.length], [false, 'hook-a', 1, 1]);
  assert.equal(pa.refPermissions.allows('app/org.x/x86_64/beta', 'create'), true);
  assert.equal(pa.refPermissions.allows('stable', 'create'), false, 'the entry\'s mapping replaced the top-level one');
  const pb = receivePolicyFor(config, resolveRepoPath(config, 'b'));
  assert.deepEqual([pb.updateHook, pb.verify.ed25519, pb.refPermissions.allows('stable', 'move')], ['hook-all', undefined, true]);
  assert.deepEqual(receivePolicyFor({ ...DEFAULT_CONFIG }, a).refPermissions.restricted, false);
});

test('policy keys the schema cannot judge fail when the policy is built: one line, the file and the entry', (t) => {
  const dir = tmpDir(t, 'config-policy-bad');
  mkdirSync(join(dir, 'a'));
  const keys = makeEd25519Keys(dir, 'k');
  const policyError = (code: string, message: RegExp) => (e: unknown) => e instanceof PolicyError && e.code === code && e.exitCode === 2 && message.test(e.message) && !e.message.includes('\n');
  const build = (text: string) => {
    const config = parseReceiveConfig(`root: ${dir}\n${text}`, 'p.conf');
    return () => receivePolicyFor(config, resolveRepoPath(config, 'a'), { home: dir, etc: dir });
  };
  assert.throws(build("ref_permissions:\n  'a**': [move]"), policyError('POLICY_CONFIG_INVALID', /^p\.conf: ref_permissions: bad ref pattern 'a\*\*'/));
  assert.throws(build('repos:\n  a:\n    sign_verify: true'), policyError('POLICY_CONFIG_INVALID', /^p\.conf: repos\.a\.sign_verify is on but sign_trustedkeyfile is not set/));
  assert.throws(build(`sign_verify: true\nsign_trustedkeyfile: ${keys.secretFile}`), policyError('POLICY_KEY_INVALID', new RegExp(`^p\\.conf: ${keys.secretFile}:1: not an ed25519 public key`)));
  assert.throws(build(`sign_keyfiles: ${join(dir, 'none')}`), policyError('POLICY_KEY_INVALID', /^p\.conf: .*none: cannot read the key file/));
  // The entry is found from the key the error carries in its data, not from its message's first word:
  // a key file named like a policy key is no setting of that key.
  assert.throws(build('sign_keyfiles: update_hook\nrepos:\n  a:\n    update_hook: /bin/true'), policyError('POLICY_KEY_INVALID', /^p\.conf: update_hook: cannot read the key file/));
  assert.throws(build("repos:\n  a:\n    ref_permissions:\n      'a**': [move]"), policyError('POLICY_CONFIG_INVALID', /^p\.conf: repos\.a\.ref_permissions: bad ref pattern 'a\*\*'/));
});

test('a receiver without a config file loads neither ajv\'s compiler nor the YAML parser: loading this module does not', () => {
  const script = [
    "import { createRequire } from 'node:module';",
    `await import(${JSON.stringify(new URL('./receive-config.ts', import.meta.url).href)});`,
    'console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache).filter((p) => /[\\\\/]node_modules[\\\\/](ajv|yaml)[\\\\/]/.test(p))));',
  ].join('\n');
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), []);
});
