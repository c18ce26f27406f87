import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PUSHER, RECEIVER } from '../../spec/machine.js';
import { PUSHER_ACTIONS, type PusherNames, RECEIVER_ACTIONS, type ReceiverAction, type ReceiverNames } from '../../spec/machines.generated.js';
import { Actor, type ActionHandlers, checkTable, type GuardTable, type Replies, sendingStates } from './actor.js';
import type { Machine } from './machine.js';
import { RECEIVER_TABLES } from './receiver.js';

/** What a receiver session owns, reduced to what the guards and the log need. */
interface Session {
  updateOk: boolean;
  objectOk: boolean;
  log: string[];
}

const session = (): Session => ({ updateOk: true, objectOk: true, log: [] });

/** Handlers that only record their name, one per receiver action. */
function recording(): ActionHandlers<ReceiverNames, Session> {
  const h = {} as Record<ReceiverAction, (s: Session) => void>;
  for (const a of RECEIVER_ACTIONS) h[a] = (s) => void s.log.push(a);
  return h;
}

const receiverGuards: GuardTable<ReceiverNames, Session> = {
  updateValid: (s) => s.updateOk,
  objectValid: (s) => s.objectOk,
};

const replies: Replies<ReceiverNames, string> = {
  start: 'INFO',
  answering: 'ANSWER',
  acceptUpdate: 'STATUS true',
  refuseUpdate: 'STATUS false',
  acceptObject: 'STATUS true',
  refuseObject: 'STATUS false',
  reporting: 'REPORT',
};

const noCaps = { offersQuery: false, offersReport: false };

const receiverActor = (s: Session, handlers = recording()): Actor<ReceiverNames, Session, string> =>
  new Actor(RECEIVER, { data: s, handlers, guards: receiverGuards, replies });

/** A copy of a machine's JSON with one state renamed everywhere it appears. */
function renamedState<N extends ReceiverNames | PusherNames>(m: Machine<N>, from: string, to: string): Machine<N> {
  const json = JSON.stringify(m).replaceAll(`"${from}"`, `"${to}"`);
  return JSON.parse(json) as Machine<N>;
}

describe('actor', () => {
  it('drives the receiver through a push: guards from its data, every action through its handler', async () => {
    const s = session();
    const a = receiverActor(s);
    const owed: (string | undefined)[] = [a.owed()];
    await a.step('send:INFO', noCaps);
    await a.step('recv:UPDATE');
    owed.push(a.owed());
    await a.step('send:STATUS', { statusOk: true });
    await a.step('recv:PUTOBJECT');
    await a.step('send:STATUS', { statusOk: true });
    s.objectOk = false;
    await a.step('recv:PUTOBJECT');
    owed.push(a.owed());
    await a.step('send:STATUS', { statusOk: false });
    owed.push(a.owed());
    const last = await a.step('recv:DONE');
    assert.deepEqual(s.log, ['beginStaging', 'keepObject', 'discardObject', 'cleanup']);
    assert.deepEqual(owed, ['INFO', 'STATUS true', 'STATUS false', undefined]);
    assert.deepEqual(last, { from: 'awaitDone', event: 'recv:DONE', to: 'refused', actions: ['cleanup'] });
    assert.equal(a.finished, true);
    assert.equal(a.outcome, 'refused');
  });

  it('a refused update is judged from the data, not from a constant', async () => {
    const s = { ...session(), updateOk: false };
    const a = receiverActor(s);
    await a.step('send:INFO', noCaps);
    const st = await a.step('recv:UPDATE');
    assert.equal(st.to, 'refuseUpdate');
    assert.deepEqual(s.log, []);
  });

  it('a guard is judged only when a transition for the event names it', async () => {
    const s = session();
    let asked = 0;
    const a = new Actor(RECEIVER, {
      data: s,
      handlers: recording(),
      guards: {
        ...receiverGuards,
        objectValid: () => {
          asked++;
          return false;
        },
      },
    });
    await a.step('send:INFO', noCaps);
    await a.step('recv:UPDATE');
    await a.step('send:STATUS', { statusOk: true });
    await a.step('recv:PUTOBJECT');
    await a.step('send:STATUS', { statusOk: false });
    assert.equal(asked, 1);
    // After a refusal the machine takes objects unjudged (awaitDone): nothing is staged.
    await a.step('recv:PUTOBJECT');
    assert.equal(asked, 1);
    assert.deepEqual(s.log, ['beginStaging', 'discardObject', 'discardObject']);
  });

  it('a received message out of turn is PROTOCOL_UNEXPECTED_MESSAGE; a forbidden send is INTERNAL; nothing runs', async () => {
    const s = session();
    const a = receiverActor(s);
    await assert.rejects(a.step('recv:PUTOBJECT'), { code: 'PROTOCOL_UNEXPECTED_MESSAGE' });
    await assert.rejects(a.step('send:STATUS', { statusOk: true }), { code: 'INTERNAL' });
    assert.equal(a.state, 'start');
    assert.deepEqual(s.log, []);
  });

  it('a message guard not given is an error, not a silent false', async () => {
    const a = receiverActor(session());
    await assert.rejects(a.step('send:INFO'), { code: 'INTERNAL' });
    assert.equal(a.state, 'start');
  });

  it('a handler that throws stops the later actions; the error step then cleans up', async () => {
    const s = session();
    const h: ActionHandlers<ReceiverNames, Session> = {
      ...recording(),
      publish: () => {
        throw new Error('disk full');
      },
    };
    const a = receiverActor(s, h);
    await a.step('send:INFO', noCaps);
    await a.step('recv:UPDATE');
    await a.step('send:STATUS', { statusOk: true });
    await assert.rejects(a.step('recv:DONE', { wantReport: false }), /disk full/);
    assert.deepEqual(s.log, ['beginStaging'], 'cleanup, after publish, did not run');
    assert.equal(a.state, 'published');
    // A final state takes no event: an engine steps 'error' only while the session runs.
    await assert.rejects(a.step('error'), { code: 'INTERNAL' });
  });

  it('context guards and counters stay with the machine: the pusher window', async () => {
    const data = { queue: ['a', 'b'], window: 1, inFlight: 0, log: [] as string[] };
    type D = typeof data;
    const handlers = {} as Record<(typeof PUSHER_ACTIONS)[number], (d: D) => void>;
    for (const n of PUSHER_ACTIONS) handlers[n] = (d) => void d.log.push(n);
    handlers.sendPayload = (d) => void d.log.push(`sendPayload ${d.queue.shift() ?? '?'}`);
    handlers.countSent = (d) => void d.inFlight++;
    handlers.countAnswered = (d) => void d.inFlight--;
    const typed: ActionHandlers<PusherNames, D> = handlers;
    const guards: GuardTable<PusherNames, D> = {
      wantsToAsk: () => false,
      hasUpdates: (d) => d.queue.length > 0,
      moreObjects: (d) => d.queue.length > 0,
      windowOpen: (d) => d.inFlight < d.window,
    };
    const a = new Actor(PUSHER, { data, handlers: typed, guards });
    await a.step('recv:INFO', { offersQuery: false, offersReport: false });
    await a.step('send:UPDATE');
    await a.step('recv:STATUS', { statusOk: true });
    await a.step('send:PUTOBJECT');
    // The window is closed: the machine refuses a second object in flight.
    await assert.rejects(a.step('send:PUTOBJECT'), { code: 'INTERNAL' });
    await a.step('recv:STATUS', { statusOk: true });
    assert.equal(a.config.ctx['inFlight'], 0);
    await a.step('send:PUTOBJECT');
    await a.step('recv:STATUS', { statusOk: true });
    await a.step('send:DONE', { wantReport: false });
    assert.equal(a.state, 'pushed');
    assert.deepEqual(data.log, ['plan', 'sendPayload a', 'sendPayload b']);
  });

  it('checkTable refuses a table with a missing or an extra name', () => {
    assert.doesNotThrow(() => checkTable('t', { a: 1, b: 2 }, ['a', 'b']));
    assert.throws(() => checkTable('t', { a: 1 }, ['a', 'b']), { code: 'INTERNAL', message: /no entry for b/ });
    assert.throws(() => checkTable('t', { a: 1, b: 2, c: 3 }, ['a', 'b']), { code: 'INTERNAL', message: /c is not in the machine/ });
    assert.deepEqual(sendingStates(RECEIVER as unknown as Machine).sort(), Object.keys(replies).sort());
  });

  it("a state renamed in a copy of the receiver's JSON: the receiver's reply table no longer builds", () => {
    const data = session();
    // The receiver's own tables fit its machine...
    assert.doesNotThrow(() => new Actor(RECEIVER, { ...RECEIVER_TABLES, data: undefined as never }));
    // ...and do not fit a machine whose sending state 'answering' is now 'replying'.
    const renamed = renamedState(RECEIVER, 'answering', 'replying');
    assert.ok(Object.hasOwn(renamed.states, 'replying'));
    assert.throws(() => new Actor(renamed, { ...RECEIVER_TABLES, data: undefined as never }), { code: 'INTERNAL', message: /no entry for replying; answering is not in the machine/ });
    // A renamed action: the handler table no longer builds.
    const json = JSON.stringify(RECEIVER).replaceAll('"keepObject"', '"holdObject"');
    assert.throws(() => new Actor(JSON.parse(json) as typeof RECEIVER, { data, handlers: recording(), guards: receiverGuards }), {
      code: 'INTERNAL',
      message: /no entry for holdObject; keepObject is not in the machine/,
    });
  });

  it('the tables are exhaustive: a missing or unknown name is a type error (checked by tsc)', () => {
    const { cleanup: _dropped, ...missing } = recording();
    // @ts-expect-error cleanup has no handler
    const incomplete: ActionHandlers<ReceiverNames, Session> = missing;
    // @ts-expect-error a state the receiver does not have
    const wrongState: Replies<ReceiverNames, string> = { ...replies, sending: 'x' };
    const { answering: _a, ...noAnswer } = replies;
    // @ts-expect-error the reply for a sending state is missing
    const missingReply: Replies<ReceiverNames, string> = noAnswer;
    // @ts-expect-error a guard the receiver does not judge itself
    const wrongGuard: GuardTable<ReceiverNames, Session> = { ...receiverGuards, statusOk: () => true };
    // @ts-expect-error a handler is given its event's message: keepObject's is a PUTOBJECT, which has no 'refs'
    const wrongMessage: ActionHandlers<ReceiverNames, Session> = { ...recording(), keepObject: (_s, { message }) => void message.refs };
    // ...while its own message needs neither a cast nor a check (lookUp's is a QUERY, cleanup's a DONE or none).
    const typedMessages: ActionHandlers<ReceiverNames, Session> = {
      ...recording(),
      keepObject: (s, { message, payload }) => void s.log.push(message.object, String(payload.size)),
      lookUp: (s, { message }) => void s.log.push(...message.objects),
      cleanup: (s, { message }) => void s.log.push(message === null ? 'eof or error' : message.type),
    };
    const a = receiverActor(session(), typedMessages);
    // @ts-expect-error an event the receiver never takes
    void a.step('send:PUTOBJECT').catch(() => undefined);
    // @ts-expect-error the receiver has no state of that name
    assert.equal(a.state === 'awaitInfo', false);
    assert.ok(incomplete && wrongState && missingReply && wrongGuard && wrongMessage);
  });
});
