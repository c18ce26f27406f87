/**
 * The endpoint state machines of spec/machines/ as typed data (spec/protocol.md,
 * "State machines"). Their interpreter, which the engines run, is
 * src/protocol/machine.ts; the names they use are generated into
 * spec/machines.generated.ts.
 */
import type { Machine } from '../src/protocol/machine.js';
import type { PusherNames, ReceiverNames } from './machines.generated.js';
import pusherJson from './machines/pusher.json' with { type: 'json' };
import receiverJson from './machines/receiver.json' with { type: 'json' };

// The JSON's strings are wider than the unions; spec/generate.test.ts keeps
// spec/machines.generated.ts equal to what these files name.
export const PUSHER = pusherJson as unknown as Machine<PusherNames>;
export const RECEIVER = receiverJson as unknown as Machine<ReceiverNames>;
