import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { PUSHER, RECEIVER } from '../../spec/machine.js';
import { ZERO_CHECKSUM } from '../wire/constants.js';
import { MessageReader } from '../wire/reader.js';
import { MessageWriter } from '../wire/writer.js';
import { Endpoint, type StepRecord } from './endpoint.js';

/** Two endpoints joined by a pair of in-memory pipes. */
function pair(pusherOrder: 'le' | 'be' = 'le') {
  const toReceiver = new PassThrough();
  const toPusher = new PassThrough();
  const steps: StepRecord[] = [];
  const receiver = new Endpoint(RECEIVER, new MessageReader(toReceiver), new MessageWriter(toPusher), 'le', {
    followPeerOrder: true,
    onStep: (s) => steps.push(s),
  });
  const pusher = new Endpoint(PUSHER, new MessageReader(toPusher), new MessageWriter(toReceiver), pusherOrder);
  return { receiver, pusher, steps, toReceiver, toPusher };
}

const C = 'a'.repeat(64);

test('endpoint: a full exchange steps both machines to their final states', async () => {
  const { receiver, pusher, steps } = pair('be');
  await receiver.send({ type: 'INFO', mode: 1, refs: new Map(), extra: new Map() });
  const info = await pusher.receive();
  assert.equal(info?.message.type, 'INFO');
  assert.deepEqual(info?.actions, ['plan']);
  await pusher.send({ type: 'UPDATE', refs: new Map([['os/main', { from: ZERO_CHECKSUM, to: C }]]) }, { hasUpdates: true });
  const upd = await receiver.receive(() => ({ updateValid: true }));
  assert.equal(upd?.order, 'be');
  assert.deepEqual(upd?.actions, ['beginStaging']);
  assert.equal(receiver.order, 'be', 'the receiver answers in the pusher order');
  await receiver.send({ type: 'STATUS', result: true, message: '', extra: new Map() });
  const st = await pusher.receive();
  assert.equal(st?.order, 'be');
  assert.equal(pusher.state, 'sending');
  await pusher.send({ type: 'DONE', extra: new Map() }, { moreObjects: false });
  const done = await receiver.receive();
  assert.deepEqual(done?.actions, ['publish', 'cleanup']);
  assert.equal(receiver.outcome, 'success');
  assert.equal(pusher.outcome, 'success');
  assert.deepEqual(
    steps.map((s) => `${s.from}-${s.event}->${s.to}`),
    ['start-send:INFO->awaitRequest', 'awaitRequest-recv:UPDATE->acceptUpdate', 'acceptUpdate-send:STATUS->receiving', 'receiving-recv:DONE->published'],
  );
});

test('endpoint: a message out of turn is PROTOCOL_UNEXPECTED_MESSAGE naming state and message', async () => {
  const { receiver, pusher } = pair();
  await receiver.send({ type: 'INFO', mode: 1, refs: new Map(), extra: new Map() });
  await pusher.receive();
  // The pusher's writer is raw: bypass its machine to send DONE→PUTOBJECT out of turn.
  await pusher.writer.send({ type: 'PUTOBJECT', object: `${C}.commit`, size: 0n, extra: new Map() });
  let judged = false;
  await assert.rejects(
    receiver.receive(() => {
      judged = true;
      return {};
    }),
    (e: Error & { code?: string }) => e.code === 'PROTOCOL_UNEXPECTED_MESSAGE' && /PUTOBJECT in state awaitRequest/.test(e.message),
  );
  assert.equal(judged, false, 'the judge never sees a message out of turn');
  receiver.fail();
  assert.equal(receiver.state, 'aborted');
  assert.deepEqual(receiver.fail(), [], 'fail() after the end is a no-op');
});

test('endpoint: invalid bodies throw PROTOCOL_BAD_MESSAGE unless accepted for the judge', async () => {
  const { receiver, pusher } = pair();
  await receiver.send({ type: 'INFO', mode: 1, refs: new Map(), extra: new Map() });
  await pusher.receive();
  await pusher.writer.send({ type: 'UPDATE', refs: new Map([['../x', { from: ZERO_CHECKSUM, to: C }]]) });
  const r = await receiver.receive((m) => ({ updateValid: m.invalid === undefined }), { acceptInvalid: ['UPDATE'] });
  assert.equal(r?.invalid?.code, 'PROTOCOL_BAD_MESSAGE');
  assert.equal(receiver.state, 'refuseUpdate');

  const b = pair();
  await b.receiver.send({ type: 'INFO', mode: 1, refs: new Map(), extra: new Map() });
  await b.pusher.writer.send({ type: 'UPDATE', refs: new Map([['../x', { from: ZERO_CHECKSUM, to: C }]]) });
  await assert.rejects(b.receiver.receive(() => ({ updateValid: true })), { code: 'PROTOCOL_BAD_MESSAGE' });
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

test('endpoint: typed by the machine names, so a name the machine lacks is a type error (checked by tsc)', () => {
  const { receiver, pusher } = pair();
  assert.equal(receiver.state === 'start' && pusher.state === 'awaitInfo', true);
  // @ts-expect-error the receiver has no state 'sending' (the pusher's)
  assert.equal(receiver.state === 'sending', false);
  // @ts-expect-error the pusher never receives PUTOBJECT
  assert.equal(pusher.allows('recv:PUTOBJECT'), false);
  // @ts-expect-error 'spool' is no receiver action
  assert.equal(receiver.fail().includes('spool'), false);
});
