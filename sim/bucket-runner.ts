/**
 * The simulator against an S3 destination: pushes into `s3://BUCKET/os` on
 * a real store (Ceph RGW, testkit/rgw.ts), with faults between the receiver
 * and the store, judged on the bucket (bucket-invariants.ts).
 *
 * A run: a fresh bucket with an archive config (and, for an incremental
 * push, the older commits and their refs already there); one pusher, or two
 * racing on the same refs or on disjoint ones, each `push()` in this process
 * against the receiver engine for buckets (`receiveIntoBucket`) in a child
 * process (bucket-receiver.child.ts) whose S3 client carries the run's
 * faults: network errors before and after a write reached the store, 503s,
 * slow writes, an outage, a SIGKILL right after write N, a meeting of two
 * racing receivers at the ref journal. While the pushes run, a reader with
 * its own client samples the bucket again and again (I1 I2 I3 I9, and the
 * refs' history for I4); after them, the next opener's roll-forward
 * (`BucketRepo.open`), then a last sample, I4 all-or-nothing, I5, and what
 * each pusher reported against the refs (I6, I8).
 *
 * SIM_DEBUG=1 shows the receivers' stderr and why a push threw.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PassThrough } from 'node:stream';
import { BucketRepo, receiveIntoBucket } from '../src/bucket/index.js';
import { sweepDeadSessionDirs } from '../src/bucket/session-dir.js';
import { push, type RefStatus } from '../src/protocol/index.js';
import { closure, objectRelPath, Repo } from '../src/repo/index.js';
import type { BucketFault, BucketFaultKind, BucketFaultPlan } from './bucket-faults.js';
import { BucketReader, BucketSampler, checkBucketRefsAtomic, type BucketViolation } from './bucket-invariants.js';
import { prng } from './link.js';
import { source, SHAPE_COUNT, type Source } from './shapes.js';

const CHILD = join(import.meta.dirname, 'bucket-receiver.child.ts');
const ZERO = '0'.repeat(64);
const ARCHIVE_CONFIG = '[core]\nrepo_version=1\nmode=archive-z2\n';

export interface BucketEndpoint {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface BucketSchedule {
  shape: number;
  incremental: boolean;
  /** Faults on the first receiver's write attempts. */
  faults: BucketFault[];
  outageFrom?: number;
  /** SIGKILL the first receiver right after its N-th write reached the store. */
  killAfter?: number;
  /** A second pusher and receiver: on the same refs, or on other refs of the shape. */
  race?: 'same' | 'disjoint';
  /** The two receivers meet at the ref journal (certain overlap). */
  meet?: boolean;
}

export interface BucketRunReport {
  schedule: BucketSchedule;
  violations: BucketViolation[];
  /** Per pusher: reported ok. */
  ok: boolean[];
  /** Per receiver: the error code it ended with (from its report), if any. */
  errors: (string | undefined)[];
  /** Writes that reached the store, per receiver (the kill point counts these). */
  writes: number[];
  killed: boolean;
  /** Faults that fired (all receivers). */
  fired: Map<BucketFaultKind | 'outage', number>;
  /** Samples taken while the pushes ran. */
  samples: number;
  /** Races: whether the two receivers' write windows overlapped. */
  overlapped?: boolean;
  /** Probe keys (tmp/ostree-push-probe-*) left in the bucket after the next opener's sweep (each an I5 violation too). */
  probesLeft: number;
  /** Entries left in the receivers' local temp dir after the next receiver's sweep (each an I5 violation too). */
  localLeft: number;
}

export interface BucketContext {
  base: string;
  endpoint: BucketEndpoint;
  /** Sample the bucket while the pushes run (default true). */
  sampleWhileRunning?: boolean;
  runTimeoutMs?: number;
}

export function readerClient(e: BucketEndpoint): S3Client {
  // As makeS3Client does: no eight-line notice about the SDK's future Node requirement.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  return new S3Client({
    endpoint: e.endpoint,
    region: e.region,
    forcePathStyle: true,
    credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function endpointEnv(e: BucketEndpoint): Record<string, string> {
  return { AWS_ENDPOINT_URL: e.endpoint, AWS_REGION: e.region, AWS_ACCESS_KEY_ID: e.accessKeyId, AWS_SECRET_ACCESS_KEY: e.secretAccessKey };
}

export function describeBucketSchedule(s: BucketSchedule): string {
  const f = s.faults.map((x) => `${x.kind}${x.kind === 'slow' ? ` ${x.ms} ms` : ''} at write attempt ${x.at}`);
  return [
    `repository shape ${s.shape}${s.incremental ? ', bucket holds the older commits' : ', empty bucket'}`,
    ...f.map((x) => `fault: ${x}`),
    ...(s.outageFrom !== undefined ? [`fault: the store unreachable from write attempt ${s.outageFrom} on`] : []),
    ...(s.killAfter !== undefined ? [`fault: receiver SIGKILLed after write ${s.killAfter}`] : []),
    ...(s.race !== undefined ? [`fault: a second pusher and receiver on ${s.race === 'same' ? 'the same refs' : 'other refs'}${s.meet === true ? ', meeting at the ref journal' : ''}`] : []),
  ].join('\n');
}

let bucketCounter = 0;

/** A fresh bucket holding an archive config, and for an incremental run the v1 commits and refs. */
async function prepareBucket(client: S3Client, src: Source, incremental: boolean): Promise<string> {
  const bucket = `sim-${process.pid}-${Date.now().toString(36)}-${bucketCounter++}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const put = (rel: string, body: Uint8Array | string): Promise<unknown> => client.send(new PutObjectCommand({ Bucket: bucket, Key: `os/${rel}`, Body: body }));
  await put('config', ARCHIVE_CONFIG);
  if (incremental) {
    for (const [ref, commit] of src.old) {
      for await (const o of closure(src.path, commit)) {
        const rel = objectRelPath(o.checksum, o.type);
        await put(rel, readFileSync(join(src.path, rel)));
      }
      await put(`refs/heads/${ref}`, `${commit}\n`);
    }
  }
  return bucket;
}

interface ChildReport {
  writes: number;
  killed: boolean;
  fired: (BucketFaultKind | 'outage')[];
  error?: string;
  first: number;
  last: number;
}

function readChildReport(file: string): ChildReport {
  const r: ChildReport = { writes: 0, killed: false, fired: [], first: 0, last: 0 };
  if (!existsSync(file)) return r;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [what, a, b] = line.split(' ');
    if (what === 'write') {
      r.writes = Number(a);
      const t = Number(b);
      if (r.first === 0) r.first = t;
      r.last = t;
    } else if (what === 'fault') r.fired.push(a as BucketFaultKind);
    else if (what === 'killed') r.killed = true;
    else if (what === 'error' && a !== undefined) r.error = a;
  }
  return r;
}

interface Receiver {
  stdout: NodeJS.ReadableStream;
  stdin: NodeJS.WritableStream;
  exit: Promise<number | null>;
  report: () => ChildReport;
  kill: () => void;
}

function startReceiver(ctx: BucketContext, url: string, tmp: string, plan: BucketFaultPlan): Receiver {
  const report = join(tmp, `report-${Math.random().toString(16).slice(2)}`);
  const localTmp = join(tmp, 'receiver-tmp');
  mkdirSync(localTmp, { recursive: true });
  const env = { ...process.env, ...endpointEnv(ctx.endpoint), TMPDIR: localTmp, SIM_BUCKET_FAULTS: JSON.stringify(plan), SIM_REPORT: report, SIM_IDLE_MS: '30000' };
  const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', CHILD, `--repo=${url}`], { env, stdio: ['pipe', 'pipe', process.env['SIM_DEBUG'] ? 'inherit' : 'ignore'] });
  child.stdin.on('error', () => undefined);
  const exit = new Promise<number | null>((res) => {
    child.once('error', () => res(127));
    child.once('exit', (code, signal) => res(signal !== null ? null : code));
  });
  return { stdout: child.stdout, stdin: child.stdin, exit, report: () => readChildReport(report), kill: () => child.kill('SIGKILL') };
}

interface PushSide {
  result: Promise<{ ok: boolean; refs: { ref: string; to: string; status: RefStatus }[] } | null>;
  receiver: Receiver;
  intent: Map<string, string>;
}

function startPush(ctx: BucketContext, url: string, tmp: string, repoPath: string, refs: string[], intent: Map<string, string>, plan: BucketFaultPlan, beforeReconnect: () => Promise<void>): PushSide {
  const receiver = startReceiver(ctx, url, tmp, plan);
  const second: Promise<unknown>[] = [];
  const result = push({
    repo: Repo.open(repoPath),
    refs,
    input: receiver.stdout as NodeJS.ReadableStream & AsyncIterable<Uint8Array>,
    output: receiver.stdin as never,
    remoteExit: receiver.exit,
    // Generous: on a loaded machine a receiver's start (the SDK, the bucket's listing) can take many seconds.
    idleTimeoutMs: 30_000,
    reportTimeoutMs: 30_000,
    // Lost after DONE (a killed receiver), the pusher asks a second receiver what the refs are: fault-free,
    // in this process (the next opener; it rolls a committed journal forward before its INFO).
    reconnect: async () => {
      // The bucket as the killed receiver left it, before anyone rolls its update forward.
      await receiver.exit;
      await beforeReconnect();
      const toReceiver = new PassThrough();
      const fromReceiver = new PassThrough();
      const client = readerClient(ctx.endpoint);
      const session = receiveIntoBucket({ url, input: toReceiver, output: fromReceiver, policy: { idleTimeoutMs: 30_000, alwaysWriteSummary: true }, bucket: { client } })
        .catch(() => undefined)
        .finally(() => {
          client.destroy();
          fromReceiver.end();
        });
      second.push(session);
      return { input: fromReceiver, output: toReceiver, close: async () => void (await session) };
    },
  }).then(
    async (r) => {
      await Promise.all(second);
      return r;
    },
    (e: unknown) => {
      if (process.env['SIM_DEBUG']) console.error('push failed', e);
      return null;
    },
  );
  return { result, receiver, intent };
}

/** shapes.ts builds a shape's repositories on first use: once, whatever runs ask at the same time. */
const building = new Map<string, Promise<Source>>();
function sourceOnce(base: string, shape: number): Promise<Source> {
  const k = `${base}\0${shape}`;
  let p = building.get(k);
  if (p === undefined) {
    p = source(base, shape);
    building.set(k, p);
  }
  return p;
}

export async function runBucketOne(ctx: BucketContext, s: BucketSchedule): Promise<BucketRunReport> {
  const src = await sourceOnce(ctx.base, s.shape);
  const client = readerClient(ctx.endpoint);
  const tmp = mkdtempSync(join(ctx.base, 'bucket-run-'));
  try {
    const bucket = await prepareBucket(client, src, s.incremental);
    const url = `s3://${bucket}/os`;
    const reader = new BucketReader({ client, bucket, prefix: 'os/' });
    const names = [...src.next.keys()];
    reader.watch(names);
    const before = await reader.refs();
    // Every sample goes through the sampler, one at a time (bucket-invariants.ts says why).
    const sampler = new BucketSampler(reader, names);
    const { violations, history } = sampler;
    history.observe(before, names);

    const plan: BucketFaultPlan = {
      faults: s.faults,
      ...(s.outageFrom !== undefined ? { outageFrom: s.outageFrom } : {}),
      ...(s.killAfter !== undefined ? { killAfter: s.killAfter } : {}),
      ...(s.meet === true && s.race !== undefined ? { barrier: { dir: join(tmp, 'meet'), parties: 2 } } : {}),
    };
    // A receiver lost after DONE: the bucket is sampled before the pusher's second session (the next opener) runs.
    const beforeReconnect = async (): Promise<void> => {
      await sampler.sample();
    };
    // Disjoint: the first pusher takes the first ref, the second the others.
    const firstRefs = s.race === 'disjoint' ? names.slice(0, 1) : names;
    const sides = [startPush(ctx, url, tmp, src.path, firstRefs, new Map(firstRefs.map((n) => [n, src.next.get(n) as string])), plan, beforeReconnect)];
    if (s.race !== undefined) {
      const refs = s.race === 'disjoint' ? names.slice(1) : names;
      sides.push(startPush(ctx, url, tmp, src.race, refs, new Map(refs.map((n) => [n, src.raceNext.get(n) as string])), plan.barrier ? { barrier: plan.barrier } : {}, beforeReconnect));
    }
    let running = true;
    let samples = 0;
    const sampling = (async () => {
      if (ctx.sampleWhileRunning === false) return;
      while (running) {
        await sampler.sample();
        samples++;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    const limit = ctx.runTimeoutMs ?? 120_000;
    const timedOut = await Promise.race([
      Promise.all(sides.map((x) => Promise.all([x.result, x.receiver.exit]))).then(() => false),
      new Promise<boolean>((res) => {
        timer = setTimeout(() => res(true), limit);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      violations.push({ invariant: 'I6', message: `the run did not end within ${limit} ms (a hang)` });
      for (const x of sides) x.receiver.kill();
    }
    running = false;
    await sampling;
    const results = await Promise.all(sides.map((x) => (timedOut ? null : x.result)));
    const reports = sides.map((x) => x.receiver.report());
    const killed = reports.some((r) => r.killed);

    // The next opener rolls a committed ref update forward, and removes the probe keys of killed receivers:
    // every receiver of the run has ended, so no probe key can be a live one's (staleProbeMs 0).
    const next = await BucketRepo.open(url, { client: readerClient(ctx.endpoint), staleProbeMs: 0 });
    next.client.destroy();
    const last = await sampler.sample();
    const intents = sides.map((x, i) => {
      const r = results[i];
      // Refs the pusher itself rejected (not a fast-forward any more) are not part of what it asked the receiver for.
      return r === null || r === undefined ? x.intent : new Map(r.refs.filter((f) => f.status !== 'rejected').map((f) => [f.ref, f.to]));
    });
    violations.push(...history.violations(before, intents));
    violations.push(...checkBucketRefsAtomic(last.refs, before, intents));
    const debris = await reader.debris();
    violations.push(...debris.violations);
    results.forEach((r, i) => {
      const refsNow = last.refs;
      if (r?.ok === true) {
        for (const f of r.refs) {
          if ((f.status === 'pushed' || f.status === 'up-to-date') && (refsNow.get(f.ref) ?? ZERO) !== f.to) {
            violations.push({ invariant: 'I6', message: `pusher ${i + 1} reported success but ref ${f.ref} is ${(refsNow.get(f.ref) ?? ZERO).slice(0, 12)}, not ${f.to.slice(0, 12)}` });
          }
        }
      } else if (r !== null) {
        for (const f of r.refs) {
          if ((f.status === 'refused' || f.status === 'not-pushed') && refsNow.get(f.ref) === f.to) {
            violations.push({ invariant: 'I8', message: `pusher ${i + 1} reported ${f.ref} ${f.status}, but it moved to what was pushed` });
          }
        }
      } else {
        const intent = intents[i] ?? new Map<string, string>();
        if (intent.size > 0 && [...intent].every(([n, c]) => refsNow.get(n) === c)) violations.push({ invariant: 'I8', message: `pusher ${i + 1} failed but every ref it pushed moved` });
      }
    });
    const fired = new Map<BucketFaultKind | 'outage', number>();
    for (const r of reports) for (const f of r.fired) fired.set(f, (fired.get(f) ?? 0) + 1);
    const [a, b] = reports;
    const overlapped = s.race !== undefined && a !== undefined && b !== undefined && a.first > 0 && b.first > 0 && a.first <= b.last && b.first <= a.last;
    const localTmp = join(tmp, 'receiver-tmp');
    // What the next receiver on that host sweeps first: the local directories of dead receivers. Nothing may survive it.
    if (existsSync(localTmp)) sweepDeadSessionDirs(localTmp);
    const left = existsSync(localTmp) ? readdirSync(localTmp).filter((n) => !n.startsWith('tsx-')) : [];
    for (const n of left) violations.push({ invariant: 'I5', message: `${n} is left in a receiver's temp dir after the next receiver's sweep` });
    const localLeft = left.length;
    const dedup = [...new Map(violations.map((v) => [`${v.invariant}${v.message}`, v])).values()];
    return {
      schedule: s,
      violations: dedup,
      ok: results.map((r) => r?.ok === true),
      errors: reports.map((r) => r.error),
      writes: reports.map((r) => r.writes),
      killed,
      fired,
      samples,
      ...(s.race !== undefined ? { overlapped } : {}),
      probesLeft: debris.probes.length,
      localLeft,
    };
  } finally {
    client.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------ many runs

/** Objects a push of the shape sends (its v2 closures less, when incremental, the v1 ones). */
async function objectsOf(src: Source, incremental: boolean): Promise<number> {
  const have = new Set<string>();
  if (incremental) for (const c of src.old.values()) for await (const o of closure(src.path, c)) have.add(`${o.checksum}.${o.type}`);
  const send = new Set<string>();
  for (const c of src.next.values()) for await (const o of closure(src.path, c)) if (!have.has(`${o.checksum}.${o.type}`)) send.add(`${o.checksum}.${o.type}`);
  return send.size;
}

/** The i-th schedule of a seed: deterministic, so a seed replays. */
export async function bucketSchedule(base: string, seed: number, i: number, kinds: readonly BucketFaultKindOrRace[] = BUCKET_FAULT_KINDS): Promise<BucketSchedule> {
  const r = prng((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const shape = Math.floor(r() * (SHAPE_COUNT - 1)); // shape 5's big files make a run long for little more
  const incremental = r() < 0.5;
  const src = await sourceOnce(base, shape);
  // Write attempts of a fault-free push: the probe (3), the objects, the journal (3), a ref each, the summary.
  const estimate = 3 + (await objectsOf(src, incremental)) + 3 + src.next.size + 1;
  const storeFaults = kinds.filter((k): k is BucketFaultKind => k === 'drop' || k === 'lost' || k === '503' || k === 'slow');
  const faults: BucketFault[] = [];
  if (storeFaults.length > 0) {
    for (let at = 0; at < estimate; at++) {
      if (r() < 0.08) {
        const kind = pick(storeFaults);
        faults.push(kind === 'slow' ? { at, kind, ms: 50 + Math.floor(r() * 400) } : { at, kind });
      }
    }
  }
  const s: BucketSchedule = { shape, incremental, faults };
  if (kinds.includes('outage') && r() < 0.1) s.outageFrom = Math.floor(r() * estimate);
  if (kinds.includes('kill') && r() < 0.3) s.killAfter = 1 + Math.floor(r() * estimate);
  if (kinds.includes('race') && r() < 0.3) {
    s.race = src.next.size > 1 && r() < 0.3 ? 'disjoint' : 'same';
    s.meet = r() < 0.5;
  }
  return s;
}

export type BucketFaultKindOrRace = BucketFaultKind | 'outage' | 'kill' | 'race';
export const BUCKET_FAULT_KINDS: readonly BucketFaultKindOrRace[] = ['drop', 'lost', '503', 'slow', 'outage', 'kill', 'race'];

export interface BucketSimReport {
  runs: number;
  seed: number;
  wallMs: number;
  pushesOk: number;
  killed: number;
  races: number;
  overlapped: number;
  fired: Map<string, number>;
  samples: number;
  violatingRuns: number;
  violationsByInvariant: Map<string, number>;
  probesLeft: number;
  localLeft: number;
  first?: { run: number; schedule: BucketSchedule; violations: BucketViolation[] };
}

export async function simulateBucket(o: { base: string; endpoint: BucketEndpoint; runs: number; seed: number; kinds?: readonly BucketFaultKindOrRace[]; onRun?: (r: BucketRunReport, i: number) => void }): Promise<BucketSimReport> {
  const start = Date.now();
  const rep: BucketSimReport = { runs: 0, seed: o.seed, wallMs: 0, pushesOk: 0, killed: 0, races: 0, overlapped: 0, fired: new Map(), samples: 0, violatingRuns: 0, violationsByInvariant: new Map(), probesLeft: 0, localLeft: 0 };
  for (let i = 0; i < o.runs; i++) {
    const s = await bucketSchedule(o.base, o.seed, i, o.kinds);
    const r = await runBucketOne({ base: o.base, endpoint: o.endpoint }, s);
    rep.runs++;
    rep.samples += r.samples;
    if (r.ok.every(Boolean)) rep.pushesOk++;
    if (r.killed) rep.killed++;
    if (s.race !== undefined) rep.races++;
    if (r.overlapped === true) rep.overlapped++;
    for (const [k, n] of r.fired) rep.fired.set(k, (rep.fired.get(k) ?? 0) + n);
    rep.probesLeft += r.probesLeft;
    rep.localLeft += r.localLeft;
    if (r.violations.length > 0) {
      rep.violatingRuns++;
      rep.first ??= { run: i + 1, schedule: s, violations: r.violations };
      for (const v of new Set(r.violations.map((x) => x.invariant))) rep.violationsByInvariant.set(v, (rep.violationsByInvariant.get(v) ?? 0) + 1);
    }
    o.onRun?.(r, i + 1);
  }
  rep.wallMs = Date.now() - start;
  return rep;
}
