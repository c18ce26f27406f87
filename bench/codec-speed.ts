/**
 * Micro-benchmark of the GVariant codec on the small values a push decodes
 * and encodes once per object: a PUTOBJECT body and a STATUS body (a{sv}),
 * a file header `(tuuuusa(ayay))` (big-endian, as in a .filez object), and a
 * 40-entry dirtree `(a(say)a(sayay))`.
 *
 *   npx tsx bench/codec-speed.ts [--ms=300] [--rounds=7] [--json]
 *
 * Each case runs in rounds of about `ms` milliseconds after a warm-up; the
 * figure is the median µs per operation over the rounds. CPU-bound and
 * single-threaded: on a shared machine, compare runs made back to back.
 */
import { parseArgs } from 'node:util';
import { decode, encode, Variant, type GVValue } from '../src/gvariant/index.js';

interface Case {
  name: string;
  run: () => unknown;
}

function bytes32(seed: number): Uint8Array {
  const b = new Uint8Array(32);
  for (let i = 0; i < 32; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  return b;
}

const OBJECT = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.file';

// What the wire module builds per message: fresh Variants each time.
const putObject = (): GVValue => new Map([['object', new Variant('s', OBJECT)], ['size', new Variant('t', 123456n)]]);
const status = (): GVValue => new Map([['result', new Variant('b', false)], ['message', new Variant('s', 'object already present')]]);
const fileHeader: GVValue = [4096n, 0, 0, 0o100644, 0, '', [[new TextEncoder().encode('security.selinux\0'), new TextEncoder().encode('system_u:object_r:usr_t:s0\0')]]];
const dirtree: GVValue = [
  Array.from({ length: 30 }, (_, i) => [`file-${String(i).padStart(3, '0')}.txt`, bytes32(i)]),
  Array.from({ length: 10 }, (_, i) => [`dir-${i}`, bytes32(100 + i), bytes32(200 + i)]),
];

const putObjectBytes = encode('a{sv}', putObject());
const statusBytes = encode('a{sv}', status());
const fileHeaderBytes = encode('(tuuuusa(ayay))', fileHeader, 'be');
const dirtreeBytes = encode('(a(say)a(sayay))', dirtree);

const cases: Case[] = [
  { name: 'decode PUTOBJECT a{sv}', run: () => decode('a{sv}', putObjectBytes) },
  { name: 'encode PUTOBJECT a{sv}', run: () => encode('a{sv}', putObject()) },
  { name: 'decode STATUS a{sv}', run: () => decode('a{sv}', statusBytes) },
  { name: 'encode STATUS a{sv}', run: () => encode('a{sv}', status()) },
  { name: 'decode file header (be)', run: () => decode('(tuuuusa(ayay))', fileHeaderBytes, 'be') },
  { name: 'encode file header (be)', run: () => encode('(tuuuusa(ayay))', fileHeader, 'be') },
  { name: 'decode dirtree 30+10', run: () => decode('(a(say)a(sayay))', dirtreeBytes) },
  { name: 'encode dirtree 30+10', run: () => encode('(a(say)a(sayay))', dirtree) },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs `c` in rounds of about `ms` milliseconds; µs per op for each round. */
function measure(c: Case, ms: number, rounds: number): number[] {
  let sink: unknown;
  // Warm-up, and an estimate of how many operations fill one round.
  let n = 0;
  const t0 = process.hrtime.bigint();
  while (Number(process.hrtime.bigint() - t0) < ms * 1e6) {
    sink = c.run();
    n++;
  }
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const s = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink = c.run();
    out.push(Number(process.hrtime.bigint() - s) / 1e3 / n);
  }
  if (sink === undefined) throw new Error('unreachable');
  return out;
}

const { values } = parseArgs({ options: { ms: { type: 'string', default: '300' }, rounds: { type: 'string', default: '7' }, json: { type: 'boolean', default: false } } });
const ms = Number(values.ms);
const rounds = Number(values.rounds);
const results: { name: string; medianUs: number; minUs: number; maxUs: number }[] = [];
for (const c of cases) {
  const xs = measure(c, ms, rounds);
  results.push({ name: c.name, medianUs: median(xs), minUs: Math.min(...xs), maxUs: Math.max(...xs) });
}
if (values.json) console.log(JSON.stringify(results, null, 2));
else for (const r of results) console.log(`${r.name.padEnd(26)} ${r.medianUs.toFixed(3).padStart(9)} µs/op  (${r.minUs.toFixed(3)}–${r.maxUs.toFixed(3)})`);
