import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { PUSHER, RECEIVER } from '../../spec/machine.js';
import { PUSHER_ACTIONS, type PusherAction, type PusherNames, RECEIVER_ACTIONS, type ReceiverAction, type ReceiverNames } from '../../spec/machines.generated.js';
import { ZERO_CHECKSUM } from '../wire/constants.js';
import { MessageReader } from '../wire/reader.js';
import { MessageWriter } from '../wire/writer.js';
import type { ActionHandlers } from './actor.js';
import { Endpoint, type StepRecord } from './endpoint.js';

/** What the tests' engines own: the guard values they judge, and the actions run. */
interface Data {
  ran: string[];
  updateValid: boolean;
  hasUpdates: boolean;
}

function recording<A extends string>(names: readonly A[]): Record<A, (d: Data) => void> {
  const h = {} as Record<A, (d: Data) => void>;
  for (const a of names) h[a] = (d) => void d.ran.push(a);
  return h;
}

/** Two endpoints joined by a pair of in-memory pipes. */
function pair(pusherOrder: 'le' | 'be' = 'le') {
  const toReceiver = new PassThrough();
  const toPusher = new PassThrough();
  const steps: StepRecord[] = [];
  const rd: Data = { ran: [], updateValid: true, hasUpdates: true };
  const pd: Data = { ran: [], updateValid: true, hasUpdates: true };
  const receiverHandlers: ActionHandlers<ReceiverNames, Data> = recording<ReceiverAction>(RECEIVER_ACTIONS);
  const pusherHandlers: ActionHandlers<PusherNames, Data> = recording<PusherAction>(PUSHER_ACTIONS);
  const receiver = new Endpoint(
    RECEIVER,
    { reader: new MessageReader(toReceiver), writer: new MessageWriter(toPusher), followPeerOrder: true },
    { data: rd, handlers: receiverHandlers, guards: { updateValid: (d) => d.updateValid, objectValid: () => true } },
    { onStep: (s) => steps.push(s) },
  );
  const pusher = new Endpoint(
    PUSHER,
    { reader: new MessageReader(toPusher), writer: new MessageWriter(toReceiver), order: pusherOrder },
    { data: pd, handlers: pusherHandlers, guards: { wantsToAsk: () => false, hasUpdates: (d) => d.hasUpdates, moreObjects: () => false, windowOpen: () => true } },
  );
  return { receiver, pusher, steps, toReceiver, toPusher, rd, pd };
}

const C = 'a'.repeat(64);

test('endpoint: a full exchange steps both machines to their final states', async () => {
  const { receiver, pusher, steps, rd, pd } = pair('be');
  await receiver.send({ type: 'INFO', mode: 1, refs: new Map(), extra: new Map() });
  const info = await pusher.receive();
  assert.equal(info?.message.type, 'INFO');
  assert.deepEqual(info?.actions, ['plan']);
  await pusher.send({ type: 'UPDATE', refs: new Map([['os/main', { from: ZERO_CHECKSUM, to: C }]]) });
  const upd = await receiver.receive();
  assert.equal(upd?.order, 'be');
  assert.deepEqual(upd?.actions, ['beginStaging']);
  assert.equal(receiver.order, 'be', 'the receiver answers in the pusher order');
  await receiver.send({ type: 'STATUS', result: true, message: '', extra: new Map() });
  const st = await pusher.receive();
  assert.equal(st?.order, 'be');
  assert.equal(pusher.state, 'sending');
  await pusher.send({ type: 'DONE', extra: new Map() });
  const done = await receiver.receive();
  assert.deepEqual(done?.actions, ['publish', 'cleanup']);
  assert.deepEqual(rd.ran, ['beginStaging', 'publish', 'cleanup'], 'each action ran through its handler');
  assert.deepEqual(pd.ran, ['plan']);
  assert.equal(receiver.outcome, 'success');
  assert.equal(pusher.outcome, 'success');
  assert.deepEqual(
    steps.map((s) => `${s.from}-${s.event}->${s.to}`),
    ['start-send:INFO->awaitRequest', 'awaitRequest-recv:UPDATE->acceptUpdate', 'acceptUpdate-send:STATUS->receiving', 'receiving-recv:DONE->published'],
  );
});

test('endpoint: a message out of turn is PROTOCOL_UNEXPECTED_MESSAGE naming state and message', async () => {
  const { receiver, pusher, rd } = pair();
  await receiver.send({ type: 'INFO', mode: 1, refs: new Map(), extra: new Map() });
  await pusher.receive();
  // The pusher's writer is raw: bypass its machine to send DONE→PUTOBJECT out of turn.
  await pusher.writer.send({ type: 'PUTOBJECT', object: `${C}.commit`, size: 0n, extra: new Map() });
  await assert.rejects(receiver.receive(), (e: Error & { code?: string }) => e.code === 'PROTOCOL_UNEXPECTED_MESSAGE' && /PUTOBJECT in state awaitRequest/.test(e.message));
  assert.deepEqual(rd.ran, [], 'no handler runs for a message out of turn');
  assert.deepEqual(await receiver.fail(), ['cleanup']);
  assert.equal(receiver.state, 'aborted');
  assert.deepEqual(await receiver.fail(), [], 'fail() after the end is a no-op');
});

test('endpoint: invalid bodies throw PROTOCOL_BAD_MESSAGE unless accepted for the judge', async () => {
  const { receiver, pusher, rd } = pair();
  await receiver.send({ type: 'INFO', mode: 1, refs: new Map(), extra: new Map() });
  await pusher.receive();
  await pusher.writer.send({ type: 'UPDATE', refs: new Map([['../x', { from: ZERO_CHECKSUM, to: C }]]) });
  // The engine's judgement sees the invalid body (here: it refuses it).
  rd.updateValid = false;
  const r = await receiver.receive({ acceptInvalid: ['UPDATE'] });
  assert.equal(r?.invalid?.code, 'PROTOCOL_BAD_MESSAGE');
  assert.equal(receiver.state, 'refuseUpdate');

  const b = pair();
  await b.receiver.send({ type: 'INFO', mode: 1, refs: new Map(), extra: new Map() });
  await b.pusher.writer.send({ type: 'UPDATE', refs: new Map([['../x', { from: ZERO_CHECKSUM, to: C }]]) });
  await assert.rejects(b.receiver.receive(), { code: 'PROTOCOL_BAD_MESSAGE' });
});

test('endpoint: sending what the machine forbids throws before any byte is written', async () => {
  const { receiver } = pair();
  await assert.rejects(receiver.send({ type: 'STATUS', result: true, message: '', extra: new Map() }), { code: 'PROTOCOL_UNEXPECTED_MESSAGE' });
  assert.equal(receiver.writer.bytesWritten, 0);
  assert.equal(receiver.state, 'start');
});

test('endpoint: end of stream takes the eof step', async () => {
  const { receiver, toReceiver } = pair();
  await receiver.send({ type: 'INFO', mode: 1, refs: new Map(), extra: new Map() });
  toReceiver.end();
  assert.equal(await receiver.receive(), null);
  assert.equal(receiver.state, 'aborted');
  assert.equal(receiver.outcome, 'failure');
});

test('endpoint: typed by the machine names, so a name the machine lacks is a type error (checked by tsc)', async () => {
  const { receiver, pusher } = pair();
  assert.equal(receiver.state === 'start' && pusher.state === 'awaitInfo', true);
  // @ts-expect-error the receiver has no state 'sending' (the pusher's)
  assert.equal(receiver.state === 'sending', false);
  // @ts-expect-error the pusher never receives PUTOBJECT
  assert.equal(pusher.allows('recv:PUTOBJECT'), false);
  // @ts-expect-error 'spool' is no receiver action
  assert.equal((await receiver.fail()).includes('spool'), false);
});
