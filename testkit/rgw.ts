/**
 * A real S3-compatible store for tests: Ceph's RADOS Gateway on loopback.
 *
 * One monitor, one OSD keeping its data in memory (memstore), no manager and
 * no authentication inside the cluster, and radosgw in front of it, each a
 * plain child process of the test run bound to 127.0.0.1 on a free port, with
 * everything (configuration, monitor store, logs, sockets) in one temporary
 * directory. `stop()` ends the processes and removes the directory; if the
 * test process dies first, the daemons end with it (spawnWatched).
 *
 * What Ceph 16 needs that is not obvious (measured on Debian 12):
 *   - with `auth ... = none`, radosgw fails to reach the monitor (EACCES,
 *     retried forever) unless the `ms * mode = crc secure` lines allow a
 *     plain connection mode;
 *   - a single OSD needs pool size 1 and `osd crush chooseleaf type = 0`;
 *   - the first request to radosgw makes its pools, which takes a few seconds
 *     more, so readiness is a successful bucket creation, not an open port.
 *
 * Start-up takes about 15 s on an idle two-core machine; under load it can take
 * much longer, hence the generous default timeout. Debian packages:
 * `radosgw ceph-mon ceph-osd` (installed by .ci/run).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { after, before, type TestContext } from 'node:test';
import { spawnLocalReceiver } from '../src/transport/local.js';
import { ostreePush, type Run } from './ssh-push.js';
import { hasTool, needTools } from './tools.js';

const run = promisify(execFile);

export interface RgwEndpoint {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Rgw extends RgwEndpoint {
  /** The temporary directory holding the cluster (removed by stop). */
  dir: string;
  /** A client for this gateway (path-style, checksums only when required). */
  client(): S3Client;
  /** Creates a bucket with a fresh name (prefix + counter) and returns its name. */
  createBucket(prefix?: string): Promise<string>;
  /** Environment variables that point the SDK's default chain at this gateway. */
  env(): Record<string, string>;
  stop(): Promise<void>;
}

export interface StartRgwOptions {
  /** Milliseconds the whole start-up may take (default 240 s). */
  timeoutMs?: number;
  /** The OSD's in-memory store cap (default 1 GiB); memory is taken only as data is stored. */
  memstoreBytes?: number;
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

function cephConf(dir: string, fsid: string, monPort: number, rgwPort: number, memstoreBytes: number): string {
  return `[global]
fsid = ${fsid}
mon host = [v2:127.0.0.1:${monPort}]
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure
ms client mode = crc secure
ms mon cluster mode = crc secure
ms cluster mode = crc secure
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
log file = ${dir}/log/$name.log
pid file = ${dir}/run/$name.pid
keyring = ${dir}/keyring
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon data avail warn = 1
mon data avail crit = 0
[mon]
mon data = ${dir}/mon.$id
[osd]
osd data = ${dir}/osd.$id
osd objectstore = memstore
memstore device bytes = ${memstoreBytes}
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw data = ${dir}/rgw
rgw dns name = localhost
`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Each daemon runs under a small shell that holds a pipe from us: when the
 * pipe closes (stop() closes it, and so does our death, by any signal), the
 * shell sends the daemon SIGTERM, then SIGKILL after 3 s. A test run that is
 * interrupted therefore leaves no Ceph daemon behind.
 */
const WATCHED = [
  'exec 3<&0',
  '"$@" </dev/null >/dev/null 2>&1 3<&- & p=$!',
  '{ cat <&3 >/dev/null; kill -TERM $p 2>/dev/null; sleep 3; kill -0 $p 2>/dev/null && kill -KILL $p; } >/dev/null 2>&1 &',
  'exec 3<&-',
  'wait $p',
].join('\n');

function spawnWatched(cmd: string, args: string[]): ChildProcess {
  return spawn('sh', ['-c', WATCHED, 'sh', cmd, ...args], { stdio: ['pipe', 'ignore', 'ignore'] });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.stdin?.end();
  await exited;
}

export async function startRgw(opts: StartRgwOptions = {}): Promise<Rgw> {
  const deadline = Date.now() + (opts.timeoutMs ?? 240_000);
  const dir = mkdtempSync(join(tmpdir(), 'ostree-push-rgw-'));
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    // radosgw first, then the OSD, then the monitor: each stops cleanly while the ones below it are up.
    for (const c of [...children].reverse()) await stopChild(c);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const d of ['run', 'log', 'mon.a', 'osd.0', 'rgw']) mkdirSync(join(dir, d));
    const [monPort, rgwPort] = (await freePorts(2)) as [number, number];
    const conf = join(dir, 'ceph.conf');
    const fsid = randomUUID();
    writeFileSync(conf, cephConf(dir, fsid, monPort, rgwPort, opts.memstoreBytes ?? 2 ** 30));
    const left = (): number => Math.max(1000, deadline - Date.now());
    const tool = async (cmd: string, args: string[]): Promise<string> => (await run(cmd, ['-c', conf, ...args], { timeout: left(), encoding: 'utf8' })).stdout;
    const daemon = (cmd: string, args: string[]): void => {
      children.push(spawnWatched(cmd, ['-c', conf, ...args, '-f']));
    };
    await run('ceph-authtool', ['--create-keyring', join(dir, 'keyring'), '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *'], { timeout: left() });
    await run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, join(dir, 'monmap')], { timeout: left() });
    await tool('ceph-mon', ['--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap'), '--keyring', join(dir, 'keyring')]);
    daemon('ceph-mon', ['-i', 'a']);
    const osdUuid = randomUUID();
    const osdId = (await tool('ceph', ['--connect-timeout', String(Math.ceil(left() / 1000)), 'osd', 'new', osdUuid])).trim();
    await tool('ceph-osd', ['-i', osdId, '--mkfs', '--osd-uuid', osdUuid]);
    daemon('ceph-osd', ['-i', osdId]);
    for (;;) {
      const stat = await tool('ceph', ['osd', 'stat', '-f', 'json']).catch(() => '');
      if (stat.includes('"num_up_osds":1')) break;
      if (Date.now() > deadline) throw new Error(`ceph: the OSD did not come up (logs in ${dir}/log)`);
      await sleep(250);
    }
    await tool('radosgw-admin', ['user', 'create', '--uid=test', '--display-name=test', '--access-key=test', '--secret-key=testing']);
    daemon('radosgw', ['-n', 'client.rgw.a']);
    const endpoint: RgwEndpoint = { endpoint: `http://127.0.0.1:${rgwPort}`, region: 'us-east-1', accessKeyId: 'test', secretAccessKey: 'testing' };
    const client = (): S3Client =>
      new S3Client({
        endpoint: endpoint.endpoint,
        region: endpoint.region,
        forcePathStyle: true,
        credentials: { accessKeyId: endpoint.accessKeyId, secretAccessKey: endpoint.secretAccessKey },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts: 1,
      });
    let n = 0;
    const admin = client();
    const createBucket = async (prefix = 'test'): Promise<string> => {
      const name = `${prefix}-${process.pid}-${n++}`;
      await admin.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    };
    // Ready when a bucket can be made (radosgw creates its pools on first use).
    for (;;) {
      try {
        await createBucket('ready');
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`radosgw did not become ready: ${(e as Error).message} (logs in ${dir}/log)`);
        await sleep(500);
      }
    }
    return {
      ...endpoint,
      dir,
      client,
      createBucket,
      env: () => ({
        AWS_ENDPOINT_URL: endpoint.endpoint,
        AWS_REGION: endpoint.region,
        AWS_ACCESS_KEY_ID: endpoint.accessKeyId,
        AWS_SECRET_ACCESS_KEY: endpoint.secretAccessKey,
      }),
      stop: async () => {
        admin.destroy();
        await stop();
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * One gateway for a whole test file: started in the file's `before` when the
 * Ceph programs are installed, stopped in its `after`. A test calls
 * `get(t)`: it returns the gateway, or skips the test when the programs are
 * missing (under CI=true it fails instead: testkit/tools.ts).
 */
export function rgwForFile(opts: StartRgwOptions = {}): { get(t: TestContext): Rgw | undefined } {
  let rgw: Rgw | undefined;
  let failure: unknown;
  const installed = (): boolean => hasTool('radosgw') && hasTool('cephMon') && hasTool('cephOsd');
  before(
    async () => {
      if (!installed()) return;
      try {
        rgw = await startRgw(opts);
      } catch (e) {
        failure = e;
      }
    },
    { timeout: (opts.timeoutMs ?? 240_000) + 30_000 },
  );
  after(async () => {
    await rgw?.stop();
  });
  return {
    get(t) {
      if (!needTools(t, 'radosgw', 'cephMon', 'cephOsd')) return undefined;
      if (failure !== undefined) throw failure;
      if (rgw === undefined) throw new Error('the RADOS Gateway was not started');
      return rgw;
    },
  };
}

/** Every key of a test's bucket, sorted (a test bucket holds fewer than a listing's 1,000). */
export async function bucketKeys(client: S3Client, bucket: string): Promise<string[]> {
  const res = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (res.Contents ?? []).map((o) => o.Key ?? '').sort();
}

/** Makes `client` drop If-None-Match from every request, as a proxy or a store without conditional writes would. */
export function dropConditions(client: S3Client): S3Client {
  client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { headers?: Record<string, string> };
      if (req.headers !== undefined) delete req.headers['if-none-match'];
      return next(args);
    },
    { step: 'build', name: 'dropCondition' },
  );
  return client;
}

/** ostree-push in this process; its receiver is the real ostree-receive, a child with the gateway and `conf` in its environment. */
export function pushThroughGateway(rgw: Rgw, conf: string, args: string[]): Promise<Run> {
  const env = { ...process.env, ...rgw.env(), OSTREE_RECEIVE_CONF: conf };
  return ostreePush(args, { env, spawn: (dest: string) => spawnLocalReceiver(dest, { stderr: 'pipe', env }) });
}
