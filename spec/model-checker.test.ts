import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkComposition, type ModelCheckResult } from './model-checker.js';
import type { Machine, Transition } from '../src/protocol/machine.js';
import { PUSHER, RECEIVER } from './machine.js';

const clone = (m: Machine): Machine => structuredClone(m);
const kinds = (r: ModelCheckResult): string[] => [...new Set(r.violations.map((v) => v.kind))].sort();
const allTransitions = (m: Machine): string[] => m.transitions.map((t) => `${m.id}: ${t.from} --${t.event}--> ${t.to}`);

/** Replaces the transitions matching `pick` by `by` (or appends `by` if none match). */
function patch(m: Machine, pick: (t: Transition) => boolean, ...by: Transition[]): Machine {
  const out = clone(m);
  const i = out.transitions.findIndex(pick);
  out.transitions = out.transitions.filter((t) => !pick(t));
  out.transitions.splice(i < 0 ? out.transitions.length : i, 0, ...by);
  return out;
}

describe('pusher × receiver, version 0', () => {
  for (const capacity of [1, 2, 3]) {
    it(`capacity ${capacity}: no deadlock, both end, no publication after refusal, eof or failure`, () => {
      const r = checkComposition(PUSHER, RECEIVER, { capacity });
      assert.deepEqual(r.violations.slice(0, 3), []);
      assert.ok(r.terminals > 0 && r.states > 50, `${r.states} states, ${r.terminals} terminal`);
      const covered = [...r.covered];
      for (const t of [...allTransitions(PUSHER), ...allTransitions(RECEIVER)]) assert.ok(covered.includes(t), `never took ${t}`);
    });
  }

  it('without injected faults every run ends cleanly', () => {
    const r = checkComposition(PUSHER, RECEIVER, { capacity: 1, loss: false, failures: false });
    assert.deepEqual(r.violations.slice(0, 3), []);
    assert.ok(r.covered.has('receiver: receiving --recv:DONE--> published'));
    assert.ok(!r.covered.has('receiver: receiving --eof--> aborted'), 'eof only follows a fault');
  });
});

describe('the explorer bites', () => {
  function firstOf(r: ModelCheckResult, kind: string): { message: string; path: string[] } {
    const v = r.violations.find((x) => x.kind === kind);
    assert.ok(v, `expected a ${kind} violation, got ${kinds(r).join(', ') || 'none'}`);
    return v;
  }

  it('a receiver that publishes on eof', () => {
    const bad = patch(RECEIVER, (t) => t.from === 'receiving' && t.event === 'eof', { from: 'receiving', event: 'eof', actions: ['publish', 'cleanup'], to: 'aborted' });
    const v = firstOf(checkComposition(PUSHER, bad, { capacity: 1 }), 'publish-after-failure');
    assert.match(v.message, /^receiver runs publish after (connection lost|pusher error|receiver eof)$/);
    assert.equal(v.path.at(-1), 'receiver eof');
    assert.ok(v.path.includes('receiver send:STATUS {"statusOk":true}'), v.path.join(' → '));
  });

  it('a receiver that publishes on DONE after a refusal', () => {
    const bad = patch(RECEIVER, (t) => t.from === 'awaitDone' && t.event === 'recv:DONE', { from: 'awaitDone', event: 'recv:DONE', actions: ['publish', 'cleanup'], to: 'refused' });
    const v = firstOf(checkComposition(PUSHER, bad, { capacity: 1 }), 'publish-after-failure');
    assert.deepEqual(v.path, ['receiver send:INFO {"offersQuery":false,"offersReport":false}', 'pusher recv:INFO', 'pusher send:UPDATE', 'receiver recv:UPDATE',
      'receiver send:STATUS {"statusOk":false}', 'pusher recv:STATUS', 'pusher send:DONE {"wantReport":false}', 'receiver recv:DONE']);
  });

  it('a pusher that waits for a STATUS after DONE', () => {
    let bad = patch(PUSHER, (t) => t.from === 'sending' && t.event === 'send:DONE', { from: 'sending', event: 'send:DONE', guard: '!moreObjects', to: 'awaitReport' });
    bad.states['awaitReport'] = { doc: 'waits for a STATUS that v0 never sends' };
    bad = patch(bad, () => false, { from: 'awaitReport', event: 'recv:STATUS', to: 'pushed' }, { from: 'awaitReport', event: 'eof', to: 'aborted' }, { from: 'awaitReport', event: 'error', to: 'aborted' });
    const v = firstOf(checkComposition(bad, RECEIVER, { capacity: 2 }), 'fault-free-failure');
    assert.match(v.message, /aborted \/ (published|idle)/);
    assert.deepEqual(v.path.slice(-3), ['pusher send:DONE', 'receiver recv:DONE', 'pusher eof']);
  });

  it('a receiver that never answers an object deadlocks', () => {
    const bad = patch(RECEIVER, (t) => t.from === 'receiving' && t.event === 'recv:PUTOBJECT', { from: 'receiving', event: 'recv:PUTOBJECT', guard: 'objectValid', actions: ['keepObject'], to: 'receiving' }, { from: 'receiving', event: 'recv:PUTOBJECT', guard: '!objectValid', actions: ['discardObject'], to: 'receiving' });
    const v = firstOf(checkComposition(windowed(PUSHER, 1), bad, { capacity: 1 }), 'deadlock');
    assert.match(v.message, /sending \/ receiving/);
  });

  it('a pusher that skips UPDATE sends what the receiver cannot take', () => {
    const bad = patch(PUSHER, () => false, { from: 'haveInfo', event: 'send:PUTOBJECT', guard: 'moreObjects', to: 'sending' });
    bad.transitions = bad.transitions.filter((t) => !(t.from === 'haveInfo' && t.event === 'send:UPDATE'));
    const v = firstOf(checkComposition(bad, RECEIVER, { capacity: 1 }), 'unexpected-message');
    assert.equal(v.message, 'receiver in awaitRequest has no transition for recv:PUTOBJECT');
  });
});

/**
 * The pusher with a window of `n` objects as a context bound, so the
 * explorer checks the counter stays within it (the engine's `windowOpen`
 * also counts bytes, which a model cannot see).
 */
function windowed(m: Machine, n: number): Machine {
  const out = clone(m);
  out.context = { ...out.context, inFlight: { doc: `at most ${n} in flight`, initial: 0, max: n } };
  out.guards['windowRoom'] = { of: 'context', doc: `fewer than ${n} in flight`, expr: { lt: ['inFlight', n] } };
  for (const t of out.transitions) {
    if (t.event === 'send:PUTOBJECT') t.guard = [...(typeof t.guard === 'string' ? [t.guard] : t.guard ?? []), 'windowRoom'];
  }
  return out;
}

/** A version-0 receiver: no capabilities, and after a refusal only DONE is expected. */
function v0Receiver(): Machine {
  const r = clone(RECEIVER);
  r.transitions = r.transitions.filter((t) => !(t.event === 'send:INFO' && t.guard?.includes('offersQuery')) && !(t.event === 'send:INFO' && t.guard?.includes('offersReport')));
  r.transitions = r.transitions.filter((t) => !(t.from === 'awaitDone' && t.event === 'recv:PUTOBJECT'));
  return r;
}

describe('extensions', () => {
  it('pipelining with a window of 2: the counter stays in bounds and everything ends cleanly at every capacity', () => {
    const sizes: number[] = [];
    for (const capacity of [1, 2, 3]) {
      const r = checkComposition(windowed(PUSHER, 2), RECEIVER, { capacity });
      assert.deepEqual(r.violations.slice(0, 3), [], `capacity ${capacity}`);
      assert.ok(r.covered.has('receiver: awaitDone --recv:PUTOBJECT--> refuseObject'), 'an object in flight after a refusal is answered');
      assert.ok(r.covered.has('pusher: refused --recv:STATUS--> refused'), 'the pusher drains the STATUS replies still owed');
      sizes.push(r.states);
    }
    assert.ok((sizes[2] ?? 0) > (sizes[0] ?? 0), `the window uses the channel: ${sizes.join(', ')}`);
  });

  it('a window of 1 is stop-and-wait, and no capability is ever used against a version-0 receiver', () => {
    // windowOpen is explored both ways at every step: any window that varies within n (the adaptive one) is covered;
    // 3 over a channel of 2 is a window larger than the pipe.
    for (const n of [1, 2, 3]) {
      const r = checkComposition(windowed(PUSHER, n), v0Receiver(), { capacity: 2, unexpected: 'error' });
      assert.deepEqual(r.violations.slice(0, 3), [], `window ${n}`);
      const used = [...r.covered].filter((c) => /QUERY|ANSWER|REPORT|awaitReport/.test(c));
      assert.deepEqual(used, []);
      if (n === 1) assert.ok(![...r.covered].some((c) => c.includes('unexpected')));
    }
  });

  it('against a version-0 receiver that ends the session on a PUTOBJECT after its refusal, nothing deadlocks or publishes', () => {
    const r = checkComposition(windowed(PUSHER, 2), v0Receiver(), { capacity: 2, unexpected: 'error', loss: false, failures: false });
    assert.deepEqual(r.violations, []);
    assert.ok(r.covered.has('pusher: refused --eof--> rejected'), 'the pusher keeps the refusal when the receiver hangs up');
    assert.ok(r.covered.has('receiver: awaitDone --error--> aborted'));
  });

  it('QUERY/ANSWER, REPORT: covered, and without them a fault-free run ends as in version 0', () => {
    const r = checkComposition(windowed(PUSHER, 1), RECEIVER, { capacity: 1, loss: false, failures: false });
    assert.deepEqual(r.violations, []);
    for (const t of ['pusher: haveInfo --send:QUERY--> awaitAnswer', 'receiver: awaitRequest --recv:QUERY--> answering', 'receiver: answering --send:ANSWER--> awaitRequest',
      'pusher: awaitAnswer --recv:ANSWER--> haveInfo', 'receiver: receiving --recv:DONE--> reporting', 'receiver: reporting --send:REPORT--> refused',
      'pusher: awaitReport --recv:REPORT--> rejected', 'pusher: awaitReport --recv:REPORT--> pushed']) assert.ok(r.covered.has(t), t);
  });

  it('the explorer bites: a receiver that sends a REPORT nobody asked for', () => {
    const bad = patch(RECEIVER, (t) => t.from === 'receiving' && t.event === 'recv:DONE' && t.to === 'reporting', { from: 'receiving', event: 'recv:DONE', actions: ['publish', 'cleanup'], to: 'reporting' });
    const r = checkComposition(windowed(PUSHER, 1), bad, { capacity: 1, loss: false, failures: false });
    const v = r.violations.find((x) => x.kind === 'fault-free-failure');
    assert.ok(v, [...new Set(r.violations.map((x) => x.kind))].join());
    assert.match(v.message, /pushed \/ aborted/);
  });

  it('the explorer bites: a pusher that sends DONE with objects still in flight', () => {
    const bad = clone(PUSHER);
    for (const t of bad.transitions) if (t.event === 'send:DONE' && Array.isArray(t.guard)) t.guard = t.guard.filter((g) => g !== 'noneInFlight');
    const r = checkComposition(windowed(bad, 2), RECEIVER, { capacity: 2, loss: false, failures: false });
    assert.ok(r.violations.some((v) => v.kind === 'unread-messages' || v.kind === 'unexpected-message'), [...new Set(r.violations.map((v) => v.kind))].join());
  });
});
