/**
 * Fuzzing the GVariant decoder: random bytes and mutated valid encodings for
 * random types. The decoder must return a value or throw a GVariantError,
 * nothing else; and whatever it accepts must be exactly what the encoder
 * writes for that value (strict normal form).
 */
import fc from 'fast-check';
import { GVariantError } from '../src/errors.js';
import { decode, encode, typeString, type ByteOrder, type GVType } from '../src/gvariant/index.js';
import { toTaggedJSON } from '../src/gvariant/json.js';
import { typedValueArb } from './gvariant-arb.js';

export interface FuzzReport {
  cases: number;
  ms: number;
  accepted: number;
  /** Accepted inputs holding a NaN whose payload the JS number did not keep. */
  nanRewrites: number;
  errors: Record<string, number>;
  /** Inputs that broke the contract (foreign exception, or accepted but not re-encoded identically). */
  failures: { type: string; order: ByteOrder; hex: string; problem: string }[];
  seed: number;
}

/** Small seeded PRNG (xorshift32), so a run replays from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

function mutate(b: Uint8Array, r: () => number): Uint8Array {
  const int = (n: number) => Math.floor(r() * n);
  const out = Array.from(b);
  const edits = 1 + int(3);
  for (let e = 0; e < edits; e++) {
    const p = int(out.length + 1);
    switch (int(6)) {
      case 0: if (out.length) out[p % out.length]! ^= 1 << int(8); break;          // flip a bit
      case 1: if (out.length) out[p % out.length] = int(256); break;               // set a byte
      case 2: out.splice(p, 0, int(256)); break;                                   // insert a byte
      case 3: out.splice(p, 1); break;                                             // delete a byte
      case 4: out.length = int(out.length + 1); break;                             // truncate
      case 5: if (out.length) out[p % out.length] = [0, 1, 0xff, 0x7f, 0x80][int(5)]!; break; // boundary value
    }
  }
  return Uint8Array.from(out);
}

export interface FuzzInput { type: GVType; order: ByteOrder; bytes: Uint8Array }

/** An endless seeded stream of hostile inputs: mutated valid encodings, some random bytes. */
export function* fuzzInputs(seed: number): Generator<FuzzInput> {
  const r = rng(seed);
  const pool = fc.sample(typedValueArb(3), { numRuns: 500, seed }).flatMap(({ type, value }) =>
    (['le', 'be'] as ByteOrder[]).map((order) => ({ type, order, bytes: encode(type, value, order) })));
  for (;;) {
    const base = pool[Math.floor(r() * pool.length)]!;
    const bytes = r() < 0.15
      ? Uint8Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 256))
      : mutate(base.bytes, r);
    const type: GVType = r() < 0.05 ? { kind: 'variant' } : base.type;
    yield { type, order: base.order, bytes };
  }
}

export function runFuzz(opts: { runs: number; timeLimitMs?: number; seed?: number }): FuzzReport {
  const seed = opts.seed ?? Date.now() % 0x7fffffff;
  const inputs = fuzzInputs(seed);
  const report: FuzzReport = { cases: 0, ms: 0, accepted: 0, nanRewrites: 0, errors: {}, failures: [], seed };
  const start = performance.now();
  const deadline = opts.timeLimitMs === undefined ? Infinity : start + opts.timeLimitMs;
  for (let i = 0; i < opts.runs; i++) {
    if ((i & 255) === 0 && performance.now() > deadline) break;
    const { type, order, bytes } = inputs.next().value as FuzzInput;
    report.cases++;
    try {
      const v = decode(type, bytes, order);
      report.accepted++;
      const again = encode(type, v, order);
      if (Buffer.compare(again, bytes) !== 0) {
        // JS numbers cannot keep every NaN bit pattern (signalling NaNs get
        // quieted), so a `d` NaN may come back with another payload. Same
        // value otherwise: counted, not a failure.
        const same = JSON.stringify(toTaggedJSON(type, decode(type, again, order))) === JSON.stringify(toTaggedJSON(type, v));
        if (same && typeString(type).includes('d')) {
          report.nanRewrites++;
          continue;
        }
        report.failures.push({ type: typeString(type), order, hex: Buffer.from(bytes).toString('hex'), problem: 'accepted but re-encodes differently' });
      }
    } catch (e) {
      if (e instanceof GVariantError && e.code !== 'INTERNAL') {
        report.errors[e.code] = (report.errors[e.code] ?? 0) + 1;
      } else {
        report.failures.push({ type: typeString(type), order, hex: Buffer.from(bytes).toString('hex'), problem: String(e) });
      }
    }
  }
  report.ms = Math.round(performance.now() - start);
  return report;
}
