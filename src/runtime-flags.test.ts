import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { NODE_RUNTIME_FLAGS } from './runtime-flags.js';
import { receiverCommand } from './transport/local.js';

test('every command starts node with the runtime flags, in its #! line', () => {
  for (const bin of ['ostree-push.ts', 'ostree-receive.ts', 'ostree-receive-shell.ts']) {
    const first = readFileSync(new URL(`cli/${bin}`, import.meta.url), 'utf8').split('\n')[0];
    assert.equal(first, `#!/usr/bin/env -S node ${NODE_RUNTIME_FLAGS.join(' ')}`, bin);
  }
});

test('a receiver we start ourselves gets the same flags', () => {
  const argv = receiverCommand();
  for (const flag of NODE_RUNTIME_FLAGS) assert.ok(argv.includes(flag), `${flag} in ${argv.join(' ')}`);
});
