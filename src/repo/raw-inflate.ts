/**
 * One synchronous raw-DEFLATE inflate (RFC 1951, windowBits -15) of a whole
 * small payload, with zlib's Z_FINISH semantics: the stream must end inside
 * `input` ("unexpected end of file" otherwise), bytes after its end are not
 * consumed (the caller counts them as trailing), and output past `cap`
 * bytes means "too big for one call" rather than an error.
 *
 * Why not `inflateRawSync`: each call builds a zlib stream object, a native
 * handle and a 16 KiB output buffer, and concatenates its output; for a
 * tree of 2 KB files that is most of the cost. Here one handle is reset and
 * reused, and the output lands in one buffer that lives as long as the
 * process (cap + 1 bytes), handed to `onOutput` without a copy.
 *
 * Node exposes no public synchronous write on a zlib stream, so this uses
 * the stream's internal `_handle.writeSync` and `_writeState`, the same ones
 * `inflateRawSync` runs on. They are undocumented: their shape is checked,
 * a probe inflate must round-trip, and when either fails every call goes
 * through the public `inflateRawSync` instead (same results, slower).
 */
import { constants, createInflateRaw, deflateRawSync, inflateRawSync, type InflateRaw } from 'node:zlib';

/** The internals used; see the module comment. */
interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
}

interface Reusable {
  stream: InflateRaw;
  handle: ZlibHandle;
  /** [avail_out, avail_in] after each write. */
  state: Uint32Array;
}

export interface InflateOnceResult {
  /** Input bytes up to the end of the deflate stream. */
  consumed: number;
  produced: number;
}

/** undefined: not made yet (or dropped after an error); null: internals unusable, use the public API. */
let reusable: Reusable | null | undefined;
let output: Buffer | undefined;

function makeReusable(): Reusable | null {
  try {
    const stream = createInflateRaw();
    // A bad stream destroys the zlib object and emits 'error' on the next tick;
    // the error is read synchronously from `errored` below.
    stream.on('error', () => {});
    const internals = stream as unknown as { _handle?: Partial<ZlibHandle>; _writeState?: unknown };
    const handle = internals._handle;
    const state = internals._writeState;
    if (typeof handle?.writeSync !== 'function' || typeof handle.reset !== 'function' || !(state instanceof Uint32Array) || state.length < 2) return null;
    return { stream, handle: handle as ZlibHandle, state };
  } catch {
    return null;
  }
}

let probed = false;
/** The probe: a known stream with a trailing byte must give its bytes back and the right count. */
function probe(): boolean {
  const text = Buffer.from('probe probe probe: one synchronous inflate');
  const input = Buffer.concat([deflateRawSync(text), Buffer.from([7])]);
  try {
    let got: Buffer | undefined;
    const r = viaHandle(input, 1024, (b) => {
      got = Buffer.from(b);
    });
    return r !== undefined && r.consumed === input.byteLength - 1 && r.produced === text.byteLength && got !== undefined && got.equals(text);
  } catch {
    return false;
  }
}

function viaHandle(input: Uint8Array, cap: number, onOutput: (bytes: Buffer) => void): InflateOnceResult | undefined {
  reusable ??= makeReusable();
  const r = reusable;
  if (r === null) return viaPublicApi(input, cap, onOutput);
  if (output === undefined || output.byteLength < cap + 1) output = Buffer.allocUnsafe(cap + 1);
  const out = output;
  r.handle.reset();
  r.handle.writeSync(constants.Z_FINISH, input, 0, input.byteLength, out, 0, cap + 1);
  if (r.stream.destroyed) {
    // zlib reported an error (bad data, or the stream ends after the input): the handle is gone.
    reusable = undefined;
    throw r.stream.errored ?? new Error('zlib handle closed');
  }
  const availOut = r.state[0] as number;
  const availIn = r.state[1] as number;
  const produced = cap + 1 - availOut;
  // A full buffer: more than `cap` bytes (zlib stopped for room, not at the end).
  if (produced > cap) return undefined;
  onOutput(out.subarray(0, produced));
  return { consumed: input.byteLength - availIn, produced };
}

function viaPublicApi(input: Uint8Array, cap: number, onOutput: (bytes: Buffer) => void): InflateOnceResult | undefined {
  let out: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    out = inflateRawSync(input, { info: true, maxOutputLength: cap }) as unknown as typeof out;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return undefined;
    throw e;
  }
  onOutput(out.buffer);
  return { consumed: out.engine.bytesWritten, produced: out.buffer.byteLength };
}

/**
 * Inflates `input` in one call. Returns undefined when the output would
 * exceed `cap` bytes; throws zlib's error for a bad or unfinished stream.
 * `onOutput` sees the output once, and only during the call (the buffer is reused).
 */
export function inflateRawOnce(input: Uint8Array, cap: number, onOutput: (bytes: Buffer) => void): InflateOnceResult | undefined {
  if (forcePublic) return viaPublicApi(input, cap, onOutput);
  if (!probed) {
    probed = true;
    if (!probe()) reusable = null;
  }
  return viaHandle(input, cap, onOutput);
}

let forcePublic = false;

/** For tests: force the public-API path (true) or go back to the reused handle (false). */
export function usePublicInflateForTests(publicOnly: boolean): void {
  forcePublic = publicOnly;
}

/** Which path calls take on this Node: 'handle' unless the internals were found unusable. */
export function inflatePath(): 'handle' | 'public' {
  inflateRawOnce(deflateRawSync(Buffer.alloc(0)), 1, () => {});
  return forcePublic || reusable === null ? 'public' : 'handle';
}
