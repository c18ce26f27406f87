import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compose, type ComposeResult } from './compose.js';
import { type Machine, PUSHER, RECEIVER, type Transition } from './machine.js';

const clone = (m: Machine): Machine => structuredClone(m);
const kinds = (r: ComposeResult): string[] => [...new Set(r.violations.map((v) => v.kind))].sort();
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
      const r = compose(PUSHER, RECEIVER, { capacity });
      assert.deepEqual(r.violations.slice(0, 3), []);
      assert.ok(r.terminals > 0 && r.states > 50, `${r.states} states, ${r.terminals} terminal`);
      const covered = [...r.covered];
      for (const t of [...allTransitions(PUSHER), ...allTransitions(RECEIVER)]) assert.ok(covered.includes(t), `never took ${t}`);
    });
  }

  it('without injected faults every run ends cleanly', () => {
    const r = compose(PUSHER, RECEIVER, { capacity: 1, loss: false, failures: false });
    assert.deepEqual(r.violations.slice(0, 3), []);
    assert.ok(r.covered.has('receiver: receiving --recv:DONE--> published'));
    assert.ok(!r.covered.has('receiver: receiving --eof--> aborted'), 'eof only follows a fault');
  });
});

describe('the explorer bites', () => {
  function firstOf(r: ComposeResult, kind: string): { message: string; path: string[] } {
    const v = r.violations.find((x) => x.kind === kind);
    assert.ok(v, `expected a ${kind} violation, got ${kinds(r).join(', ') || 'none'}`);
    return v;
  }

  it('a receiver that publishes on eof', () => {
    const bad = patch(RECEIVER, (t) => t.from === 'receiving' && t.event === 'eof', { from: 'receiving', event: 'eof', actions: ['publish', 'cleanup'], to: 'aborted' });
    const v = firstOf(compose(PUSHER, bad, { capacity: 1 }), 'publish-after-failure');
    assert.match(v.message, /^receiver runs publish after (connection lost|pusher error|receiver eof)$/);
    assert.equal(v.path.at(-1), 'receiver eof');
    assert.ok(v.path.includes('receiver send:STATUS {"statusOk":true}'), v.path.join(' → '));
  });

  it('a receiver that publishes on DONE after a refusal', () => {
    const bad = patch(RECEIVER, (t) => t.from === 'awaitDone' && t.event === 'recv:DONE', { from: 'awaitDone', event: 'recv:DONE', actions: ['publish', 'cleanup'], to: 'refused' });
    const v = firstOf(compose(PUSHER, bad, { capacity: 1 }), 'publish-after-failure');
    assert.deepEqual(v.path, ['receiver send:INFO', 'pusher recv:INFO', 'pusher send:UPDATE', 'receiver recv:UPDATE',
      'receiver send:STATUS {"statusOk":false}', 'pusher recv:STATUS', 'pusher send:DONE', 'receiver recv:DONE']);
  });

  it('a pusher that waits for a STATUS after DONE', () => {
    let bad = patch(PUSHER, (t) => t.from === 'sending' && t.event === 'send:DONE', { from: 'sending', event: 'send:DONE', guard: '!moreObjects', to: 'awaitReport' });
    bad.states['awaitReport'] = { doc: 'waits for a STATUS that v0 never sends' };
    bad = patch(bad, () => false, { from: 'awaitReport', event: 'recv:STATUS', to: 'pushed' }, { from: 'awaitReport', event: 'eof', to: 'aborted' }, { from: 'awaitReport', event: 'error', to: 'aborted' });
    const v = firstOf(compose(bad, RECEIVER, { capacity: 2 }), 'fault-free-failure');
    assert.match(v.message, /aborted \/ (published|idle)/);
    assert.deepEqual(v.path.slice(-3), ['pusher send:DONE', 'receiver recv:DONE', 'pusher eof']);
  });

  it('a receiver that never answers an object deadlocks', () => {
    const bad = patch(RECEIVER, (t) => t.from === 'receiving' && t.event === 'recv:PUTOBJECT', { from: 'receiving', event: 'recv:PUTOBJECT', guard: 'objectValid', actions: ['keepObject'], to: 'receiving' }, { from: 'receiving', event: 'recv:PUTOBJECT', guard: '!objectValid', actions: ['discardObject'], to: 'receiving' });
    const v = firstOf(compose(PUSHER, bad, { capacity: 1 }), 'deadlock');
    assert.match(v.message, /awaitObjectStatus \/ receiving/);
  });

  it('a pusher that skips UPDATE sends what the receiver cannot take', () => {
    const bad = patch(PUSHER, () => false, { from: 'haveInfo', event: 'send:PUTOBJECT', guard: 'moreObjects', to: 'awaitObjectStatus' });
    bad.transitions = bad.transitions.filter((t) => !(t.from === 'haveInfo' && t.event === 'send:UPDATE'));
    const v = firstOf(compose(bad, RECEIVER, { capacity: 1 }), 'unexpected-message');
    assert.equal(v.message, 'receiver in awaitRequest has no transition for recv:PUTOBJECT');
  });
});

describe('the format carries later extensions', () => {
  // Pipelined PUTOBJECTs with a window of 2: the pusher counts objects in flight.
  function pipelinedPusher(): Machine {
    const m = clone(PUSHER);
    m.context = { inFlight: { doc: 'PUTOBJECTs not yet answered', initial: 0, max: 2 } };
    m.guards['windowOpen'] = { of: 'context', doc: 'fewer than 2 in flight', expr: { lt: ['inFlight', 2] } };
    m.guards['noneInFlight'] = { of: 'context', doc: 'every PUTOBJECT answered', expr: { eq: ['inFlight', 0] } };
    m.actions['countSent'] = { doc: 'one more in flight', add: { inFlight: 1 } };
    m.actions['countAnswered'] = { doc: 'one fewer in flight', add: { inFlight: -1 } };
    m.transitions = m.transitions.filter((t) => !['sending', 'awaitObjectStatus', 'refused'].includes(t.from) || t.event === 'eof' || t.event === 'error');
    m.transitions.push(
      { from: 'sending', event: 'send:PUTOBJECT', guard: ['moreObjects', 'windowOpen'], actions: ['sendPayload', 'countSent'], to: 'sending' },
      { from: 'sending', event: 'recv:STATUS', guard: 'statusOk', actions: ['countAnswered'], to: 'sending' },
      { from: 'sending', event: 'recv:STATUS', guard: '!statusOk', actions: ['reportRefusal', 'countAnswered'], to: 'refused' },
      { from: 'sending', event: 'send:DONE', guard: ['!moreObjects', 'noneInFlight'], to: 'pushed' },
      { from: 'refused', event: 'recv:STATUS', actions: ['countAnswered'], to: 'refused' },
      { from: 'refused', event: 'send:DONE', guard: 'noneInFlight', to: 'rejected' },
    );
    m.states['awaitObjectStatus'] = { doc: 'unused when pipelining' };
    m.transitions = m.transitions.filter((t) => t.from !== 'awaitObjectStatus');
    delete m.states['awaitObjectStatus'];
    return m;
  }

  it('a windowed pusher against a v0 receiver: the explorer shows what the receiver must add', () => {
    const r = compose(pipelinedPusher(), RECEIVER, { capacity: 2 });
    const v = r.violations.find((x) => x.kind === 'unexpected-message');
    assert.ok(v);
    assert.equal(v.message, 'receiver in awaitDone has no transition for recv:PUTOBJECT');
  });

  it('with a receiver that answers in-flight objects after a refusal, it is clean for every capacity', () => {
    const receiver = patch(RECEIVER, () => false, { from: 'awaitDone', event: 'recv:PUTOBJECT', actions: ['discardObject'], to: 'refuseObject' });
    const sizes: number[] = [];
    for (const capacity of [1, 2, 3]) {
      const r = compose(pipelinedPusher(), receiver, { capacity });
      assert.deepEqual(r.violations.slice(0, 3), [], `capacity ${capacity}`);
      sizes.push(r.states);
    }
    assert.ok((sizes[2] ?? 0) > (sizes[0] ?? 0), `the window uses the channel: ${sizes.join(', ')}`);
  });
});
