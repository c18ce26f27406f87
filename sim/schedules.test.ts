/**
 * Must show: every generated fault position lies inside the stream the
 * calibration measured for its shape, and a seed draws the same schedules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ALL_FAULT_KINDS } from './faults.js';
import { scheduleArb, type StreamSize } from './schedules.js';

const size = (shape: number, incremental: boolean): StreamSize => ({
  bytes: { up: 1000 + shape * 500 + (incremental ? 0 : 700), down: 300 + shape },
  messages: { up: 8 + shape, down: 9 + shape },
  objects: 5 + shape,
  refs: 1 + (shape % 3),
});

test('fault positions fall inside the measured stream of the shape', () => {
  const samples = fc.sample(scheduleArb(size, ALL_FAULT_KINDS, { parentFirstOneIn: 4 }), { numRuns: 500, seed: 7 });
  let faults = 0;
  let parentFirst = 0;
  for (const s of samples) {
    const z = size(s.shape, s.incremental);
    if (s.parentFirst === true) parentFirst++;
    for (const f of s.faults) {
      faults++;
      const where = JSON.stringify({ s: s.shape, inc: s.incremental, f });
      switch (f.kind) {
        case 'cut-byte':
        case 'corrupt':
        case 'stall':
          assert.ok(f.at >= 0 && f.at < z.bytes[f.dir], where);
          break;
        case 'cut-message':
          assert.ok(f.after < z.messages[f.dir], where);
          break;
        case 'drop-message':
        case 'dup-message':
        case 'swap-message':
          assert.ok(f.index < z.messages[f.dir], where);
          break;
        case 'drop-chunk':
        case 'dup-chunk':
        case 'swap-chunk':
          assert.ok(f.index <= Math.ceil(z.bytes[f.dir] / ((s.link.minChunk + s.link.maxChunk) / 2)), where);
          break;
        case 'kill':
          if (f.at === 'receiving' || f.at === 'publish') assert.ok(f.step >= 1 && f.step <= z.objects, where);
          else if (f.at === 'closure') assert.equal(f.step, 0);
          else assert.ok(f.step <= z.refs, where);
          break;
        case 'fs':
          assert.ok(f.after < z.objects, where);
          break;
        case 'race':
          break;
      }
    }
  }
  assert.ok(faults > 300, `${faults} faults`);
  assert.ok(parentFirst > 50 && parentFirst < 250, `${parentFirst} parent-first schedules of 500`);
});

test('the same seed draws the same schedules', () => {
  const a = fc.sample(scheduleArb(size), { numRuns: 50, seed: 99 });
  assert.deepEqual(fc.sample(scheduleArb(size), { numRuns: 50, seed: 99 }), a);
});
