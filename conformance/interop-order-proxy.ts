/**
 * A byte-order proxy for interop runs: makes a peer look as if it ran on a
 * host of the other byte order. A version-0 peer writes its host's order
 * (the 2015 code does), so on a little-endian machine a big-endian peer can
 * only be had by rewriting its messages on the way.
 *
 *   interop-order-proxy.ts --in=le|be|keep --out=le|be|keep -- CMD ARG…
 *
 * runs CMD with its stdin and stdout piped through the proxy: each message
 * going into CMD is rewritten in the `--in` order, each message CMD writes
 * in the `--out` order (`keep`: bytes passed through untouched). A message is
 * reframed from its header and `a{sv}` body alone (GVariant decoded in the
 * order it came in and encoded in the new one; keys stay in their order,
 * unknown keys kept); a PUTOBJECT's payload, `size` bytes after the body, is
 * passed through unchanged. stderr is CMD's; the exit status is CMD's, or 3
 * when the proxy met bytes it cannot frame (it says so on stderr).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { decode, encode, type Variant } from '../src/gvariant/index.js';
import { HEADER_SIZE, MESSAGE_TYPES, ORDER_BYTE, type ByteOrder } from '../src/wire/constants.js';

export type ProxyOrder = ByteOrder | 'keep';

const ORDER_OF = new Map<number, ByteOrder>([
  [ORDER_BYTE.le, 'le'],
  [ORDER_BYTE.be, 'be'],
]);

/**
 * Rewrites a stream of protocol messages into `order`, calling `write` for
 * each piece in stream order (awaiting it: backpressure). Throws on bytes
 * that do not frame as version-0 messages (after writing what came before).
 */
export async function reorderStream(source: AsyncIterable<Uint8Array>, order: ProxyOrder, write: (bytes: Uint8Array) => Promise<void>): Promise<void> {
  let buf: Uint8Array = new Uint8Array(0);
  let payloadLeft = 0n;
  for await (const chunk of source) {
    if (order === 'keep') {
      await write(chunk);
      continue;
    }
    buf = buf.length === 0 ? chunk : concat(buf, chunk);
    for (;;) {
      if (payloadLeft > 0n) {
        if (buf.length === 0) break;
        const n = BigInt(buf.length) < payloadLeft ? buf.length : Number(payloadLeft);
        await write(buf.subarray(0, n));
        payloadLeft -= BigInt(n);
        buf = buf.subarray(n);
        continue;
      }
      if (buf.length < HEADER_SIZE) break;
      const from = ORDER_OF.get(buf[0]!);
      if (from === undefined) throw new Error(`byte-order proxy: bad byte-order byte 0x${buf[0]!.toString(16).padStart(2, '0')}`);
      const length = new DataView(buf.buffer, buf.byteOffset, HEADER_SIZE).getUint16(3, from === 'le');
      if (buf.length < HEADER_SIZE + length) break;
      const body = decode('a{sv}', buf.subarray(HEADER_SIZE, HEADER_SIZE + length), from) as Map<string, Variant>;
      const out = encode('a{sv}', body, order);
      const header = new Uint8Array(HEADER_SIZE);
      header[0] = ORDER_BYTE[order];
      header[1] = buf[1]!;
      header[2] = buf[2]!;
      new DataView(header.buffer).setUint16(3, out.length, order === 'le');
      await write(concat(header, out));
      if (buf[2] === MESSAGE_TYPES.PUTOBJECT) {
        const size = body.get('size')?.value;
        if (typeof size !== 'bigint') throw new Error('byte-order proxy: a PUTOBJECT without a t size');
        payloadLeft = size;
      }
      buf = buf.subarray(HEADER_SIZE + length);
    }
  }
  if (order !== 'keep' && (buf.length > 0 || payloadLeft > 0n)) throw new Error('byte-order proxy: the stream ended inside a message');
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function parseOrder(flag: string, v: string | undefined): ProxyOrder {
  if (v === 'le' || v === 'be' || v === 'keep') return v;
  throw new Error(`${flag} must be le, be or keep`);
}

function writer(stream: NodeJS.WritableStream): (bytes: Uint8Array) => Promise<void> {
  return (bytes) =>
    new Promise<void>((resolve) => {
      if (stream.write(bytes)) resolve();
      else {
        const done = (): void => {
          stream.off('drain', done);
          stream.off('close', done);
          stream.off('error', done);
          resolve();
        };
        stream.once('drain', done);
        stream.once('close', done);
        stream.once('error', done);
      }
    });
}

async function main(argv: string[]): Promise<number> {
  const sep = argv.indexOf('--');
  if (sep < 0 || sep === argv.length - 1) {
    process.stderr.write('usage: interop-order-proxy --in=le|be|keep --out=le|be|keep -- CMD ARG…\n');
    return 2;
  }
  const flags = new Map(argv.slice(0, sep).map((a) => a.split('=', 2) as [string, string]));
  const inOrder = parseOrder('--in', flags.get('--in') ?? 'keep');
  const outOrder = parseOrder('--out', flags.get('--out') ?? 'keep');
  const [cmd, ...args] = argv.slice(sep + 1) as [string, ...string[]];
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number>((resolve) => {
    child.once('error', () => resolve(127));
    child.once('exit', (code, signal) => resolve(signal !== null ? 128 : (code ?? 1)));
  });
  child.stdin.on('error', () => undefined);
  process.stdout.on('error', () => undefined);
  let broken = false;
  let over = false;
  const fail = (e: unknown): void => {
    if (over) return; // the input cut short once CMD has exited is no error of the proxy
    broken = true;
    process.stderr.write(`interop-order-proxy: ${(e as Error).message}\n`);
    child.kill('SIGKILL');
  };
  const intoChild = reorderStream(process.stdin, inOrder, writer(child.stdin)).then(
    () => child.stdin.end(),
    (e: unknown) => fail(e),
  );
  const fromChild = reorderStream(child.stdout, outOrder, writer(process.stdout)).then(
    () => undefined,
    (e: unknown) => fail(e),
  );
  const code = await exited;
  await fromChild;
  over = true;
  process.stdin.destroy();
  void intoChild;
  return broken ? 3 : code;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
