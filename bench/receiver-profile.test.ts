import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStraceSummary, summariseProfile, syscallTable } from './receiver-profile.js';

const frame = (functionName: string, url = ''): { functionName: string; url: string } => ({ functionName, url });

test('a profile is summarised by category: fs calls by name under node:fs, inflate, SHA-256, GC, our modules; idle left out', () => {
  const ours = 'file:///x/dist/src/repo/staging.js';
  const nodes = [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 4, 5, 8, 10] },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('(garbage collector)') },
    { id: 4, callFrame: frame('stageVerified', ours), children: [6] },
    { id: 6, callFrame: frame('open', 'node:fs'), children: [7] },
    { id: 7, callFrame: frame('open') },
    { id: 5, callFrame: frame('viaHandle', 'file:///x/dist/src/repo/raw-inflate.js') },
    { id: 8, callFrame: frame('update', 'node:internal/crypto/hash'), children: [9] },
    { id: 9, callFrame: frame('update') },
    { id: 10, callFrame: frame('emit', 'node:events') },
  ];
  // Sample i lasts timeDeltas[i + 1] µs.
  const samples = [2, 3, 4, 7, 7, 5, 9, 10, 2];
  const timeDeltas = [0, 5000, 1000, 2000, 3000, 3000, 4000, 500, 250, 0];
  const s = summariseProfile({ nodes, samples, timeDeltas });
  assert.equal(s.idleMs, 5);
  assert.equal(s.busyMs, 1 + 2 + 3 + 3 + 4 + 0.5 + 0.25);
  assert.deepEqual(s.categories, {
    GC: 1,
    'our JavaScript': 2,
    'file-system calls': 6,
    'inflate (zlib, with its JavaScript)': 4,
    'SHA-256 (with its JavaScript)': 0.5,
    "Node's JavaScript": 0.25,
  });
  assert.deepEqual(s.fsCalls, { open: 6 });
  assert.deepEqual(s.ourModules, { 'src/repo/staging.js': 2 });
  assert.deepEqual(s.nodeModules, { 'node:events': 0.25 });
});

test('the table of strace -c is read by call, with its errors, and reported per object', () => {
  const text = `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ------------------
 79.14   65.968286         243    271038     24973 futex
  2.40    2.002285          56     35651        15 openat
  0.00    0.000000           0         2           pread64
------ ----------- ----------- --------- --------- ------------------
100.00   83.356254         170    306691     24988 total
`;
  const c = parseStraceSummary(text, 1000);
  assert.deepEqual(c.calls, { futex: 271038, openat: 35651, pread64: 2 });
  assert.deepEqual(c.errors, { futex: 24973, openat: 15 });
  assert.equal(c.total, 306691);
  const table = syscallTable([{ label: 'ours', c }]);
  assert.match(table, /\| futex \| 271\.04 \|/);
  assert.match(table, /\| \*\*all\*\* \| \*\*306\.69\*\* \|/);
  // Under 0.01 per object: left out.
  assert.doesNotMatch(table, /pread64/);
});
