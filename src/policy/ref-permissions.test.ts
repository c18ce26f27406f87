import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ZERO_CHECKSUM } from '../repo/refs.js';
import { compileRefPattern, RefPermissions, updateAction } from './ref-permissions.js';

const matches = (pattern: string, ref: string): boolean => compileRefPattern(pattern).test(ref);

test('ref patterns: * is within one component, ** spans any number (none included)', () => {
  const table: Array<[string, string, boolean]> = [
    ['app/*/x86_64/beta', 'app/org.example.App/x86_64/beta', true],
    ['app/*/x86_64/beta', 'app/org/example/x86_64/beta', false],
    ['app/*/x86_64/beta', 'app/org.example.App/x86_64/stable', false],
    ['app-*/main', 'app-foo/main', true],
    ['app-*/main', 'app-foo/bar/main', false],
    ['**', 'anything/at/all', true],
    ['**', 'one', true],
    ['os/**', 'os', true],
    ['os/**', 'os/main', true],
    ['os/**', 'os/a/b/c', true],
    ['os/**', 'osx/main', false],
    ['**/beta', 'beta', true],
    ['**/beta', 'a/b/beta', true],
    ['**/beta', 'a/b/betamax', false],
    ['a/**/b', 'a/b', true],
    ['a/**/b', 'a/x/y/b', true],
    ['a/**/b', 'ab', false],
    ['a/**/**', 'a/x', true],
    ['exact/ref', 'exact/ref', true],
    ['exact.ref', 'exactXref', false],
  ];
  for (const [p, ref, want] of table) assert.equal(matches(p, ref), want, `${p} vs ${ref}`);
});

test('ref patterns: malformed patterns and unknown actions are POLICY_CONFIG_INVALID', () => {
  for (const p of ['', 'a//b', '/a', 'a/', 'a**/b', 'a/b**']) assert.throws(() => compileRefPattern(p), { code: 'POLICY_CONFIG_INVALID' }, p);
  assert.throws(() => new RefPermissions({ 'a/*': ['create', 'push'] }), { code: 'POLICY_CONFIG_INVALID', message: /unknown action 'push'/ });
});

test('ref permissions: one key may publish app/*/x86_64/beta but not stable; force implies move; union of patterns', () => {
  const perms = new RefPermissions({ 'app/*/x86_64/beta': ['create', 'move', 'force'], 'app/**': ['move'], 'tmp/**': ['delete'] });
  assert.equal(perms.restricted, true);
  const beta = 'app/org.example.App/x86_64/beta';
  const stable = 'app/org.example.App/x86_64/stable';
  for (const a of ['create', 'move', 'force'] as const) assert.ok(perms.allows(beta, a), a);
  assert.equal(perms.allows(beta, 'delete'), false);
  assert.ok(perms.allows(stable, 'move'), 'app/** allows moving stable');
  assert.equal(perms.allows(stable, 'create'), false);
  assert.equal(perms.allows(stable, 'force'), false);
  assert.throws(() => perms.check(stable, 'force'), { code: 'POLICY_REF_DENIED', message: /ref app\/org.example.App\/x86_64\/stable: .*force it: the patterns matching it \(app\/\*\*\) do not allow force/ });
  assert.throws(() => perms.check('os/main', 'move'), { code: 'POLICY_REF_DENIED', message: /no ref_permissions pattern matches it/ });
  assert.ok(perms.allows('tmp/x', 'delete'));
});

test('ref permissions: unset allows everything', () => {
  const perms = new RefPermissions(null);
  assert.equal(perms.restricted, false);
  for (const a of ['create', 'move', 'force', 'delete'] as const) assert.ok(perms.allows('any/ref', a));
});

test('updateAction: zeros in from = create, zeros in to = delete, else move', () => {
  const c = 'a'.repeat(64);
  assert.equal(updateAction(ZERO_CHECKSUM, c), 'create');
  assert.equal(updateAction(c, ZERO_CHECKSUM), 'delete');
  assert.equal(updateAction(c, 'b'.repeat(64)), 'move');
});
