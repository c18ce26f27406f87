/**
 * The public surface of the protocol layer: what code outside src/ (the
 * simulator, the conformance suite, the test kit, tools and benchmarks) may
 * use. Modules inside src/ import the module they need directly; everything
 * else imports from here only (src/layering.test.ts checks it).
 */
export { push, DEFAULT_PUSH_IDLE_TIMEOUT_MS, type PushOptions, type RefStatus } from './pusher.js';
export { receive, type ReceiveOptions, type ReceiveResult, type ReceiverPolicy } from './receiver.js';
export { DEFAULT_WINDOW } from './push-pipeline.js';
/** The pusher's parts the simulator reassembles into a pusher of its own (parent-first order). */
export { localRefs, planPush } from './push-plan.js';
export { PlannedObjects } from './planned-objects.js';
export { idleLimited } from './idle.js';
/** The machines' shape, for the conformance suite's derivation of its cases from the machines. */
export type { Machine } from './machine.js';
/** The refs a summary names (the bucket simulator reads a bucket's summary with it). */
export { summaryRefs } from './pull.js';
