/**
 * Fuzzing the message reader: random bytes, mutated valid streams, valid
 * headers over random bodies, and lying PUTOBJECT sizes, in random chunkings.
 * Every case must end in a clean end of stream or a typed WireError /
 * GVariantError, within a time box, with memory bounded whatever the input
 * claims (maxPayloadSize is small, so a size of 2^60 is refused unread).
 *
 * The property is shared by fuzz.test.ts (a short, time-boxed run) and this
 * script's long run:
 *
 *   npx tsx tools/fuzz-wire.ts --runs 100000 [--seed N]
 *
 * which prints cases, time, outcomes by error code and the peak RSS.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { GVariantError, WireError } from '../src/errors.js';
import { validStreamArb } from '../testkit/wire-arb.js';
import { encodeHeader } from '../src/wire/header.js';
import { encodeMessage } from '../src/wire/messages.js';
import { MessageReader } from '../src/wire/reader.js';

export const FUZZ_MAX_PAYLOAD = 1n << 20n;
export const CASE_TIMEOUT_MS = 2000;

export interface FuzzInput {
  bytes: Uint8Array;
  cuts: number[];
  /** Whether payloads are iterated (true) or skipped (false). */
  iterate: boolean;
}

type Mutation = (b: Uint8Array) => Uint8Array;

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([at, bit]): Mutation => (b) => {
    const c = b.slice();
    if (c.length > 0) c[at % c.length]! ^= 1 << bit;
    return c;
  }),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, v]): Mutation => (b) => {
    const c = b.slice();
    if (c.length > 0) c[at % c.length] = v;
    return c;
  }),
  fc.nat().map((at): Mutation => (b) => b.slice(0, at % (b.length + 1))),
  fc.tuple(fc.nat(), fc.nat({ max: 16 })).map(([at, n]): Mutation => (b) => {
    const i = at % (b.length + 1);
    return new Uint8Array(Buffer.concat([b.subarray(0, i), b.subarray(i + n)]));
  }),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([at, ins]): Mutation => (b) => {
    const i = at % (b.length + 1);
    return new Uint8Array(Buffer.concat([b.subarray(0, i), ins, b.subarray(i)]));
  }),
);

const mutatedArb = fc
  .tuple(validStreamArb(4), fc.array(mutationArb, { minLength: 1, maxLength: 4 }))
  .map(([b, ms]) => ms.reduce((acc, m) => m(acc), b));

/** A well-formed header (any order, types 0..4, length honest or not) over random bytes. */
const headerOverNoiseArb = fc
  .tuple(
    fc.constantFrom('le' as const, 'be' as const),
    fc.constantFrom('INFO' as const, 'UPDATE' as const, 'PUTOBJECT' as const, 'STATUS' as const, 'DONE' as const),
    fc.uint8Array({ maxLength: 120 }),
    fc.integer({ min: -4, max: 4 }),
  )
  .map(([order, type, body, lie]) =>
    new Uint8Array(Buffer.concat([encodeHeader({ order, version: 0, type, length: Math.max(0, Math.min(0xffff, body.length + lie)) }), body])),
  );

/** PUTOBJECT headers announcing huge sizes, followed by a few bytes. */
const lyingSizeArb = fc
  .tuple(fc.bigInt({ min: FUZZ_MAX_PAYLOAD + 1n, max: (1n << 64n) - 1n }), fc.constantFrom('le' as const, 'be' as const), fc.uint8Array({ maxLength: 32 }))
  .map(([size, order, tail]) => new Uint8Array(Buffer.concat([encodeMessage({ type: 'PUTOBJECT', object: 'x.filez', size, extra: new Map() }, order), tail])));

export const fuzzInputArb: fc.Arbitrary<FuzzInput> = fc.record({
  bytes: fc.oneof<fc.Arbitrary<Uint8Array>[]>(fc.uint8Array({ maxLength: 200 }), mutatedArb, mutatedArb, headerOverNoiseArb, lyingSizeArb),
  cuts: fc.oneof(fc.array(fc.nat({ max: 4000 }), { maxLength: 12 }), fc.constant<number[]>([-1])),
  iterate: fc.boolean(),
});

async function* chunks(bytes: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  if (cuts[0] === -1) {
    // one byte at a time
    for (let i = 0; i < bytes.length; i++) yield bytes.slice(i, i + 1);
    return;
  }
  let at = 0;
  for (const c of [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)) {
    if (c <= at) continue;
    yield bytes.slice(at, c);
    at = c;
  }
  if (at < bytes.length) yield bytes.slice(at);
}

/** 'EOF' for a clean end, else the typed error's code (`WIRE_BAD_BODY/GVARIANT_*` for a malformed body); throws on anything else. */
export async function fuzzCase(input: FuzzInput): Promise<string> {
  const reader = new MessageReader(chunks(input.bytes, input.cuts), { maxPayloadSize: FUZZ_MAX_PAYLOAD });
  const run = async (): Promise<string> => {
    try {
      for (let r = await reader.next(); r !== null; r = await reader.next()) {
        if (r.payload === undefined) continue;
        if (input.iterate) for await (const _ of r.payload);
        else await r.payload.skip();
      }
      return 'EOF';
    } catch (e) {
      if (e instanceof WireError || e instanceof GVariantError) {
        // WIRE_BAD_BODY from a malformed a{sv} also names the GVariant code.
        const gv = e.data['gvariant'];
        return typeof gv === 'string' ? `${e.code}/${gv}` : e.code;
      }
      throw e;
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`fuzz case did not finish in ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([run(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '10000' }, seed: { type: 'string' } } });
  const runs = Number(values.runs);
  const seed = values.seed === undefined ? Date.now() | 0 : Number(values.seed);
  const outcomes = new Map<string, number>();
  const started = process.hrtime.bigint();
  await fc.assert(
    fc.asyncProperty(fuzzInputArb, async (input) => {
      const code = await fuzzCase(input);
      outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
    }),
    { numRuns: runs, seed, verbose: true },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const total = [...outcomes.values()].reduce((a, b) => a + b, 0);
  console.log(`fuzz: ${total} cases (runs ${runs}, seed ${seed}) in ${seconds.toFixed(1)} s, all typed`);
  for (const [code, n] of [...outcomes].sort((a, b) => b[1] - a[1])) console.log(`  ${code.padEnd(36)} ${n}`);
  console.log(`max RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MiB`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
