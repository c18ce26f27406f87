import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PUSHER, RECEIVER } from '../../spec/machine.js';
import { PUSHER_ACTIONS, RECEIVER_ACTIONS, type ReceiverAction } from '../../spec/machines.generated.js';
import {
  Actor,
  type ActionHandlers,
  guardValues,
  type PusherActionHandlers,
  type PusherGuardTable,
  type ReceiverActionHandlers,
  type ReceiverGuardTable,
  type ReceiverReplies,
  runActions,
} from './actor.js';

/** What a receiver session owns, reduced to what the guards and the log need. */
interface Session {
  updateOk: boolean;
  objectOk: boolean;
  log: string[];
}

const session = (): Session => ({ updateOk: true, objectOk: true, log: [] });

/** Handlers that only record their name, one per receiver action. */
function recording(): ReceiverActionHandlers<Session> {
  const h = {} as Record<ReceiverAction, (s: Session) => void>;
  for (const a of RECEIVER_ACTIONS) h[a] = (s) => void s.log.push(a);
  return h;
}

const receiverGuards: ReceiverGuardTable<Session> = {
  updateValid: (s) => s.updateOk,
  objectValid: (s) => s.objectOk,
};

const replies: ReceiverReplies<string> = {
  start: 'INFO',
  answering: 'ANSWER',
  acceptUpdate: 'STATUS true',
  refuseUpdate: 'STATUS false',
  acceptObject: 'STATUS true',
  refuseObject: 'STATUS false',
  reporting: 'REPORT',
};

const noCaps = { offersQuery: false, offersReport: false };

describe('actor', () => {
  it('drives the receiver through a push: guards from its data, every action through its handler', async () => {
    const s = session();
    const a = new Actor(RECEIVER, recording(), receiverGuards);
    const owed: (string | undefined)[] = [a.owed(replies)];
    await a.step('send:INFO', s, noCaps);
    await a.step('recv:UPDATE', s);
    owed.push(a.owed(replies));
    await a.step('send:STATUS', s, { statusOk: true });
    await a.step('recv:PUTOBJECT', s);
    await a.step('send:STATUS', s, { statusOk: true });
    s.objectOk = false;
    await a.step('recv:PUTOBJECT', s);
    owed.push(a.owed(replies));
    await a.step('send:STATUS', s, { statusOk: false });
    owed.push(a.owed(replies));
    const last = await a.step('recv:DONE', s);
    assert.deepEqual(s.log, ['beginStaging', 'keepObject', 'discardObject', 'cleanup']);
    assert.deepEqual(owed, ['INFO', 'STATUS true', 'STATUS false', undefined]);
    assert.deepEqual(last, { from: 'awaitDone', event: 'recv:DONE', to: 'refused', actions: ['cleanup'] });
    assert.equal(a.finished, true);
    assert.equal(a.outcome, 'refused');
  });

  it('a refused update is judged from the data, not from a constant', async () => {
    const s = { ...session(), updateOk: false };
    const a = new Actor(RECEIVER, recording(), receiverGuards);
    await a.step('send:INFO', s, noCaps);
    const st = await a.step('recv:UPDATE', s);
    assert.equal(st.to, 'refuseUpdate');
    assert.deepEqual(s.log, []);
  });

  it('a received message out of turn is PROTOCOL_UNEXPECTED_MESSAGE; a forbidden send is INTERNAL; nothing runs', async () => {
    const s = session();
    const a = new Actor(RECEIVER, recording(), receiverGuards);
    await assert.rejects(a.step('recv:PUTOBJECT', s), { code: 'PROTOCOL_UNEXPECTED_MESSAGE' });
    await assert.rejects(a.step('send:STATUS', s, { statusOk: true }), { code: 'INTERNAL' });
    assert.equal(a.state, 'start');
    assert.deepEqual(s.log, []);
  });

  it('a message guard not given is an error, not a silent false', async () => {
    const a = new Actor(RECEIVER, recording(), receiverGuards);
    await assert.rejects(a.step('send:INFO', session()), { code: 'INTERNAL' });
    assert.equal(a.state, 'start');
  });

  it('a handler that throws stops the later actions; the error step then cleans up', async () => {
    const s = session();
    const h: ReceiverActionHandlers<Session> = { ...recording(), publish: () => { throw new Error('disk full'); } };
    const a = new Actor(RECEIVER, h, receiverGuards);
    await a.step('send:INFO', s, noCaps);
    await a.step('recv:UPDATE', s);
    await a.step('send:STATUS', s, { statusOk: true });
    await assert.rejects(a.step('recv:DONE', s, { wantReport: false }), /disk full/);
    assert.deepEqual(s.log, ['beginStaging'], 'cleanup, after publish, did not run');
    assert.equal(a.state, 'published');
    // A final state takes no event: an engine steps 'error' only while the session runs.
    await assert.rejects(a.step('error', s), { code: 'INTERNAL' });
  });

  it('context guards and counters stay with the machine: the pusher window', async () => {
    const data = { queue: ['a', 'b'], window: 1, inFlight: 0, log: [] as string[] };
    type D = typeof data;
    const handlers = {} as Record<(typeof PUSHER_ACTIONS)[number], (d: D) => void>;
    for (const n of PUSHER_ACTIONS) handlers[n] = (d) => void d.log.push(n);
    handlers.sendPayload = (d) => void d.log.push(`sendPayload ${d.queue.shift() ?? '?'}`);
    handlers.countSent = (d) => void d.inFlight++;
    handlers.countAnswered = (d) => void d.inFlight--;
    const typed: PusherActionHandlers<D> = handlers;
    const guards: PusherGuardTable<D> = {
      wantsToAsk: () => false,
      hasUpdates: (d) => d.queue.length > 0,
      moreObjects: (d) => d.queue.length > 0,
      windowOpen: (d) => d.inFlight < d.window,
    };
    const a = new Actor(PUSHER, typed, guards);
    await a.step('recv:INFO', data, { offersQuery: false, offersReport: false });
    await a.step('send:UPDATE', data);
    await a.step('recv:STATUS', data, { statusOk: true });
    await a.step('send:PUTOBJECT', data);
    // The window is closed: the machine refuses a second object in flight.
    await assert.rejects(a.step('send:PUTOBJECT', data), { code: 'INTERNAL' });
    await a.step('recv:STATUS', data, { statusOk: true });
    assert.equal(a.config.ctx['inFlight'], 0);
    await a.step('send:PUTOBJECT', data);
    await a.step('recv:STATUS', data, { statusOk: true });
    await a.step('send:DONE', data, { wantReport: false });
    assert.equal(a.state, 'pushed');
    assert.deepEqual(data.log, ['plan', 'sendPayload a', 'sendPayload b']);
  });

  it('runActions and guardValues refuse names they have no entry for', async () => {
    const loose = {} as ActionHandlers<string, null>;
    await assert.rejects(runActions(loose, ['nope'], null), { code: 'INTERNAL' });
    const g = guardValues<string, null>({ a: () => true }, null, { b: false });
    assert.equal(typeof g, 'function');
    if (typeof g !== 'function') return;
    assert.deepEqual([g('a'), g('b')], [true, false]);
    assert.throws(() => g('c'), { code: 'INTERNAL' });
  });

  it('the tables are exhaustive: a missing or unknown name is a type error (checked by tsc)', () => {
    const { cleanup: _dropped, ...missing } = recording();
    // @ts-expect-error cleanup has no handler
    const incomplete: ReceiverActionHandlers<Session> = missing;
    // @ts-expect-error a state the receiver does not have
    const wrongState: ReceiverReplies<string> = { ...replies, sending: 'x' };
    // @ts-expect-error a guard the receiver does not judge itself
    const wrongGuard: ReceiverGuardTable<Session> = { ...receiverGuards, statusOk: () => true };
    const a = new Actor(RECEIVER, recording(), receiverGuards);
    // @ts-expect-error an event the receiver never takes
    void a.step('send:PUTOBJECT', session()).catch(() => undefined);
    // @ts-expect-error the receiver has no state of that name
    assert.equal(a.state === 'awaitInfo', false);
    assert.ok(incomplete && wrongState && wrongGuard);
  });
});
