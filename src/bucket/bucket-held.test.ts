import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { ChecksumRecords } from './bucket-held.js';

const hex = (i: number): string => createHash('sha256').update(String(i)).digest('hex');

for (const order of ['ascending', 'any'] as const) {
  test(`checksum records (filled in ${order} order): every checksum added is found, others are not; 32 bytes each`, () => {
    const all = Array.from({ length: 2000 }, (_, i) => hex(i));
    const first = all.slice(0, 1500);
    const set = new ChecksumRecords();
    for (const c of order === 'ascending' ? [...first].sort() : first) set.add(c);
    set.freeze();
    for (const c of all.slice(0, 1500)) assert.equal(set.has(c), true, c);
    for (const c of all.slice(1500)) assert.equal(set.has(c), false, c);
    assert.equal(set.bytes, 1500 * 32);
    // Added once frozen (this session's writes): found too.
    set.add(all[1999] as string);
    assert.equal(set.has(all[1999] as string), true);
    assert.equal(set.size, 1501);
  });
}
