import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Ajv2020Module from 'ajv/dist/2020.js';
import metaSchema from './machine.schema.json' with { type: 'json' };
import {
  PUSHER_ACTIONS, PUSHER_CONTEXT, PUSHER_EVENTS, PUSHER_GUARDS, PUSHER_STATES, type PusherState,
  RECEIVER_ACTIONS, RECEIVER_CONTEXT, RECEIVER_EVENTS, RECEIVER_GUARDS, RECEIVER_STATES,
} from './machines.generated.js';
import { type Config, initialConfig, type Machine, messageTypes, transition } from '../src/protocol/machine.js';
import { PUSHER, RECEIVER } from './machine.js';
import { structuralProblems } from './machine-check.js';
import { MESSAGE_SCHEMAS } from './schemas.js';

type AjvClass = typeof Ajv2020Module.default;
const Ajv2020: AjvClass = (Ajv2020Module as unknown as { default?: AjvClass }).default ?? (Ajv2020Module as unknown as AjvClass);
const validateMachine = new Ajv2020({ strict: true, allErrors: true }).compile(metaSchema);
const clone = (m: Machine): Machine => structuredClone(m);

describe('machines', () => {
  for (const m of [PUSHER, RECEIVER]) {
    it(`${m.id}: validates against spec/machine.schema.json`, () => {
      assert.equal(validateMachine(m), true, JSON.stringify(validateMachine.errors));
    });
    it(`${m.id}: has no structural problems`, () => {
      assert.deepEqual(structuralProblems(m), []);
    });
    it(`${m.id}: every message it uses has a schema with the right sender`, () => {
      for (const type of messageTypes(m)) {
        const s = MESSAGE_SCHEMAS.find((x) => x.name === type);
        assert.ok(s, `no schema for ${type}`);
        const sends = m.transitions.some((t) => t.event === `send:${type}`);
        assert.equal(sends, s.sender === m.id, `${m.id} ${sends ? 'sends' : 'receives'} ${type}`);
      }
    });
  }

  it('the meta-schema rejects malformed machines', () => {
    const bad = clone(RECEIVER) as unknown as Record<string, unknown>;
    (bad['transitions'] as unknown[]).push({ from: 'start', event: 'send:info', to: 'idle' });
    assert.equal(validateMachine(bad), false);
    const ctxGuard = clone(PUSHER);
    ctxGuard.guards['windowOpen'] = { of: 'context', doc: 'no expr' };
    assert.equal(validateMachine(ctxGuard), false);
  });

  it('structural checks bite', () => {
    const r = clone(RECEIVER);
    r.transitions = r.transitions.filter((t) => !(t.from === 'awaitDone' && t.event === 'eof'));
    r.transitions.push({ from: 'awaitDone', event: 'recv:DONE', actions: ['publish'], to: 'published' });
    r.transitions.push({ from: 'receiving', event: 'recv:PUTOBJECT', guard: 'sizeOk', actions: ['spool'], to: 'receiving' });
    r.states['orphan'] = { doc: 'never reached' };
    assert.deepEqual(structuralProblems(r).sort(), [
      'action spool is not documented',
      'guard sizeOk is not documented',
      'non-final state awaitDone has no eof transition',
      'non-final state orphan can only end by a fault',
      'non-final state orphan has no eof transition',
      'non-final state orphan has no error transition',
      'publish on awaitDone --recv:DONE--> published, but awaitDone is reachable without only successful statuses',
      'state orphan is unreachable',
    ]);
  });
});

describe('transition', () => {
  it('walks the receiver through a successful push', () => {
    const g = { updateValid: true, objectValid: true, statusOk: true, offersQuery: false, offersReport: false };
    const steps: [string, string][] = [['send:INFO', 'awaitRequest'], ['recv:UPDATE', 'acceptUpdate'], ['send:STATUS', 'receiving'],
      ['recv:PUTOBJECT', 'acceptObject'], ['send:STATUS', 'receiving'], ['recv:DONE', 'published']];
    let at = initialConfig(RECEIVER);
    const actions: string[] = [];
    for (const [event, want] of steps) {
      const r = transition(RECEIVER, at, event as 'eof', g);
      assert.ok('next' in r, JSON.stringify(r));
      assert.equal(r.next, want);
      actions.push(...r.actions);
      at = { state: r.next, ctx: r.ctx };
    }
    assert.deepEqual(actions, ['beginStaging', 'keepObject', 'publish', 'cleanup']);
  });

  it('chooses by guard and refuses what the machine does not allow', () => {
    assert.deepEqual(transition(RECEIVER, 'awaitRequest', 'recv:UPDATE', { updateValid: false }), { next: 'refuseUpdate', actions: [], ctx: { query: 0, report: 0 } });
    assert.deepEqual(transition(RECEIVER, 'refuseUpdate', 'send:STATUS', { statusOk: true }), { error: 'receiver: send:STATUS is not allowed in state refuseUpdate' });
    assert.deepEqual(transition(RECEIVER, 'awaitRequest', 'recv:PUTOBJECT'), { error: 'receiver: recv:PUTOBJECT is not allowed in state awaitRequest' });
    assert.deepEqual(transition(RECEIVER, 'awaitDone', 'recv:DONE', (n) => { throw new Error(`asked ${n}`); }), { next: 'refused', actions: ['cleanup'], ctx: { query: 0, report: 0 } });
    assert.deepEqual(transition(PUSHER, 'pushed', 'recv:STATUS'), { error: 'pusher: recv:STATUS after the session ended (pushed)' });
    assert.throws(() => transition(RECEIVER, 'awaitRequest', 'recv:UPDATE', {}), /no value given for guard updateValid/);
  });

  it('evaluates context guards and counter actions itself: the window and the capabilities', () => {
    let at: Config<PusherState> = { state: 'sending', ctx: initialConfig(PUSHER).ctx };
    for (const want of [1, 2]) {
      const r = transition(PUSHER, at, 'send:PUTOBJECT', { moreObjects: true, windowOpen: true });
      assert.ok('next' in r);
      assert.deepEqual([r.next, r.ctx['inFlight']], ['sending', want]);
      at = { state: r.next, ctx: r.ctx };
    }
    assert.ok('error' in transition(PUSHER, at, 'send:DONE', { moreObjects: false, wantReport: false }), 'DONE waits for every STATUS');
    const refused = transition(PUSHER, at, 'recv:STATUS', { statusOk: false });
    assert.ok('next' in refused);
    assert.deepEqual([refused.next, refused.ctx['inFlight']], ['refused', 1]);
    const drained = transition(PUSHER, { state: 'refused', ctx: refused.ctx }, 'recv:STATUS', {});
    assert.ok('next' in drained && drained.ctx['inFlight'] === 0);
    assert.ok('next' in transition(PUSHER, { state: 'refused', ctx: drained.ctx }, 'send:DONE', { wantReport: false }));
    // A report may be asked for only when INFO offered one.
    const noCaps = transition(PUSHER, 'awaitInfo', 'recv:INFO', { offersQuery: false, offersReport: false });
    assert.ok('next' in noCaps);
    const done = { moreObjects: false, wantReport: true };
    assert.ok('error' in transition(PUSHER, { state: 'sending', ctx: noCaps.ctx }, 'send:DONE', done));
    const caps = transition(PUSHER, 'awaitInfo', 'recv:INFO', { offersQuery: true, offersReport: true });
    assert.ok('next' in caps);
    const r = transition(PUSHER, { state: 'sending', ctx: caps.ctx }, 'send:DONE', done);
    assert.ok('next' in r && r.next === 'awaitReport');
    assert.ok('error' in transition(RECEIVER, 'awaitRequest', 'recv:QUERY'), 'QUERY only after INFO offered it');
  });
});

describe('names generated from the machines (spec/machines.generated.ts)', () => {
  it('list exactly the names each machine uses', () => {
    const uses = (m: Machine) => ({
      states: Object.keys(m.states),
      events: [...new Set(m.transitions.map((t) => t.event))],
      guards: Object.keys(m.guards),
      actions: Object.keys(m.actions),
      context: Object.fromEntries(Object.entries(m.context ?? {}).map(([k, v]) => [k, { initial: v.initial, max: v.max }])),
    });
    assert.deepEqual({ states: [...PUSHER_STATES], events: [...PUSHER_EVENTS], guards: [...PUSHER_GUARDS], actions: [...PUSHER_ACTIONS], context: PUSHER_CONTEXT }, uses(PUSHER));
    assert.deepEqual({ states: [...RECEIVER_STATES], events: [...RECEIVER_EVENTS], guards: [...RECEIVER_GUARDS], actions: [...RECEIVER_ACTIONS], context: RECEIVER_CONTEXT }, uses(RECEIVER));
  });

  it('type PUSHER and RECEIVER: a name the JSON lacks is a type error (checked by tsc)', () => {
    // @ts-expect-error no state 'nope'
    assert.ok('error' in transition(PUSHER, 'nope', 'eof'));
    // @ts-expect-error the receiver never receives STATUS
    assert.ok('error' in transition(RECEIVER, 'receiving', 'recv:STATUS'));
    // @ts-expect-error 'windowOpen' is a pusher guard
    assert.ok('next' in transition(RECEIVER, 'start', 'eof', { windowOpen: true }));
    const r = transition(RECEIVER, 'start', 'eof');
    // @ts-expect-error 'spool' is no receiver action
    assert.ok('next' in r && !r.actions.includes('spool'));
  });
});
