import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES, GVariantError, OstreePushError, asOstreePushError } from './errors.js';

test('errors carry a stable code and data through JSON', () => {
  const e = new GVariantError('INTERNAL', 'boom', { offset: 3 });
  const round = JSON.parse(JSON.stringify(e));
  assert.deepEqual(round, { name: 'GVariantError', code: 'INTERNAL', message: 'boom', data: { offset: 3 } });
  assert.ok(e instanceof OstreePushError);
  assert.equal(e.exitCode, ERROR_CODES.INTERNAL.exit);
});

test('asOstreePushError wraps foreign errors and keeps the cause', () => {
  const cause = new TypeError('x');
  const e = asOstreePushError(cause);
  assert.equal(e.code, 'INTERNAL');
  assert.equal(e.cause, cause);
  assert.equal(asOstreePushError(e), e);
});

test('every code in spec/errors.json has an area, an exit status and a summary', () => {
  for (const [code, entry] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^[A-Z][A-Z0-9_]*$/, code);
    assert.ok(entry.area.length > 0, code);
    // 4: the outcome is unknown (PUSH_OUTCOME_UNKNOWN, README "Exit status").
    assert.ok(Number.isInteger(entry.exit) && entry.exit >= 1 && entry.exit <= 4, code);
    assert.ok(entry.summary.length > 0, code);
  }
});
