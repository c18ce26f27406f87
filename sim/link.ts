/**
 * An in-memory duplex link between a pusher and a receiver, with the
 * behaviour of a real connection made adjustable: chunking (fixed or random
 * splits from a seeded PRNG), latency, jitter and bandwidth (delivery order is
 * always kept), and the faults of faults.ts.
 *
 * Each direction runs three stages on what its sender writes:
 *   1. framing into whole messages (spec/protocol.md "Framing": 5-byte header,
 *      body of the header's length, and after PUTOBJECT `size` payload bytes),
 *      where the message faults act (drop, duplicate, swap, cut after K);
 *   2. the byte stream, where byte faults act (cut at N, flip a bit, stall);
 *   3. chunking and timed delivery, where chunk faults act.
 * A cut breaks the whole connection as a dead TCP connection would: bytes
 * already in flight arrive, then both readers see the end of the stream and
 * both writers fail with ECONNRESET. `close()` is the peer process exiting.
 */
import { Readable, Writable } from 'node:stream';
import { HEADER_SIZE } from '../src/wire/constants.js';
import { decodeHeader } from '../src/wire/header.js';
import { decodePutObject } from '../src/wire/messages.js';
import type { Direction, LinkFault } from './faults.js';

export interface LinkParams {
  seed: number;
  /** Chunk sizes are drawn uniformly from [minChunk, maxChunk] (equal: fixed). */
  minChunk: number;
  maxChunk: number;
  latencyMs: number;
  jitterMs: number;
  /** Bytes per millisecond; 0 is unlimited. */
  bandwidth: number;
}

export const FAST_LINK: LinkParams = { seed: 1, minChunk: 1 << 20, maxChunk: 1 << 20, latencyMs: 0, jitterMs: 0, bandwidth: 0 };

/** mulberry32: small, seeded, good enough to split chunks reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits a byte stream into whole messages; whatever is left at the end is handed on as is. */
export class Framer {
  private buf: Uint8Array[] = [];
  private have = 0;
  private need = HEADER_SIZE;
  private stage: 'header' | 'body' | 'payload' = 'header';
  private header: ReturnType<typeof decodeHeader> | undefined;

  push(chunk: Uint8Array, emit: (message: Uint8Array) => void): void {
    this.buf.push(chunk);
    this.have += chunk.length;
    while (this.have >= this.need) {
      const all = Buffer.concat(this.buf);
      if (this.stage === 'header') {
        try {
          this.header = decodeHeader(all);
        } catch {
          // Not a message we can frame (a peer sending garbage): pass bytes through unframed.
          this.buf = [];
          this.have = 0;
          emit(all);
          return;
        }
        this.stage = 'body';
        this.need = HEADER_SIZE + this.header.length;
        continue;
      }
      if (this.stage === 'body' && this.header !== undefined && this.header.type === 'PUTOBJECT') {
        let size = 0;
        try {
          size = Number(decodePutObject(all.subarray(HEADER_SIZE, this.need), this.header.order).size);
        } catch {
          size = 0;
        }
        this.stage = 'payload';
        this.need += size;
        if (size > 0) continue;
      }
      const message = all.subarray(0, this.need);
      const rest = all.subarray(this.need);
      this.buf = rest.length > 0 ? [rest] : [];
      this.have = rest.length;
      this.stage = 'header';
      this.need = HEADER_SIZE;
      emit(message);
    }
  }

  flush(emit: (rest: Uint8Array) => void): void {
    if (this.have > 0) emit(Buffer.concat(this.buf));
    this.buf = [];
    this.have = 0;
  }
}

export interface LinkEnd {
  /** What this end reads. */
  input: Readable;
  /** What this end writes. */
  output: Writable;
}

export interface LinkStats {
  bytes: Record<Direction, number>;
  messages: Record<Direction, number>;
  /** Faults that took effect, as described by describeFault. */
  fired: LinkFault[];
  cut: boolean;
}

export interface Link {
  pusher: LinkEnd;
  receiver: LinkEnd;
  stats: LinkStats;
  /** Breaks the connection now (the process at one end died or exited). */
  close(): void;
  /** The receiver's process ended: what it wrote still arrives, then the pusher sees the end; its writes fail. */
  receiverExited(): void;
}

class DirectionPipe {
  readonly readable = new Readable({ read() {} });
  readonly writable: Writable;
  private framer = new Framer();
  private messageIndex = 0;
  private heldMessage: Uint8Array | null = null;
  private offset = 0;
  private chunkIndex = 0;
  private heldChunk: Uint8Array | null = null;
  private stalled = false;
  private nextAt = 0;
  private queue: { at: number; c: Uint8Array }[] = [];
  private timer: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private ending = false;
  private ended = false;
  private readonly rand: () => number;

  constructor(
    readonly dir: Direction,
    private readonly params: LinkParams,
    private readonly faults: readonly LinkFault[],
    private readonly link: { cut(): void; closed(): boolean; stats: LinkStats },
  ) {
    this.rand = prng(params.seed ^ (dir === 'up' ? 0x5eed : 0xd0e5));
    this.writable = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        if (this.link.closed()) {
          cb(Object.assign(new Error('connection reset'), { code: 'ECONNRESET' }));
          return;
        }
        this.framer.push(new Uint8Array(chunk), (m) => this.onMessage(m));
        cb();
      },
      final: (cb) => {
        this.framer.flush((rest) => this.onBytes(rest));
        if (this.heldMessage !== null) this.onBytes(this.heldMessage);
        this.heldMessage = null;
        this.finish();
        cb();
      },
    });
  }

  private fault<K extends LinkFault['kind']>(kind: K): (LinkFault & { kind: K })[] {
    return this.faults.filter((f) => f.kind === kind && f.dir === this.dir) as (LinkFault & { kind: K })[];
  }

  private fire(f: LinkFault): void {
    this.link.stats.fired.push(f);
  }

  private onMessage(m: Uint8Array): void {
    const i = this.messageIndex++;
    this.link.stats.messages[this.dir]++;
    const drop = this.fault('drop-message').find((f) => f.index === i);
    const dup = this.fault('dup-message').find((f) => f.index === i);
    const swap = this.fault('swap-message').find((f) => f.index === i);
    if (drop !== undefined) {
      this.fire(drop);
    } else if (swap !== undefined) {
      this.fire(swap);
      this.heldMessage = m;
      return;
    } else {
      this.onBytes(m);
      if (dup !== undefined) {
        this.fire(dup);
        this.onBytes(m);
      }
    }
    if (this.heldMessage !== null && swap === undefined) {
      const held = this.heldMessage;
      this.heldMessage = null;
      this.onBytes(held);
    }
    const cut = this.fault('cut-message').find((f) => f.after === i);
    if (cut !== undefined) {
      this.fire(cut);
      this.link.cut();
    }
  }

  private onBytes(bytes: Uint8Array): void {
    if (this.link.closed() || this.stalled) return;
    let b = new Uint8Array(bytes);
    const start = this.offset;
    const end = start + b.length;
    for (const f of this.fault('corrupt')) {
      if (f.at >= start && f.at < end) {
        b[f.at - start] = (b[f.at - start] as number) ^ (1 << (f.bit & 7));
        this.fire(f);
      }
    }
    const stop = [...this.fault('cut-byte'), ...this.fault('stall')].filter((f) => f.at >= start && f.at < end).sort((x, y) => x.at - y.at)[0];
    if (stop !== undefined) b = b.subarray(0, stop.at - start);
    this.offset += b.length;
    this.link.stats.bytes[this.dir] += b.length;
    this.chunkify(b);
    if (stop !== undefined) {
      this.fire(stop);
      if (stop.kind === 'stall') this.stalled = true;
      else this.link.cut();
    }
  }

  private chunkify(b: Uint8Array): void {
    let off = 0;
    const { minChunk, maxChunk } = this.params;
    while (off < b.length) {
      const size = Math.max(1, minChunk + Math.floor(this.rand() * (maxChunk - minChunk + 1)));
      const chunk = b.subarray(off, off + size);
      off += chunk.length;
      this.onChunk(chunk);
    }
  }

  private onChunk(c: Uint8Array): void {
    const i = this.chunkIndex++;
    const drop = this.fault('drop-chunk').find((f) => f.index === i);
    const dup = this.fault('dup-chunk').find((f) => f.index === i);
    const swap = this.fault('swap-chunk').find((f) => f.index === i);
    if (drop !== undefined) {
      this.fire(drop);
    } else if (swap !== undefined) {
      this.fire(swap);
      this.heldChunk = c;
      return;
    } else {
      this.schedule(c);
      if (dup !== undefined) {
        this.fire(dup);
        this.schedule(c);
      }
    }
    if (this.heldChunk !== null) {
      const held = this.heldChunk;
      this.heldChunk = null;
      this.schedule(held);
    }
  }

  /** Delivers in order, each chunk no earlier than latency + jitter + its transmission time. */
  private schedule(c: Uint8Array): void {
    const { latencyMs, jitterMs, bandwidth } = this.params;
    const now = Date.now();
    const at = Math.max(this.nextAt, now + latencyMs + this.rand() * jitterMs) + (bandwidth > 0 ? c.length / bandwidth : 0);
    this.nextAt = at;
    this.queue.push({ at, c });
    this.pump();
  }

  /** One timer at a time over a FIFO queue: timers of different lengths could fire out of order. */
  private pump(): void {
    if (this.timer !== undefined || this.queue.length === 0) return;
    const head = this.queue[0] as { at: number; c: Uint8Array };
    const wait = head.at - Date.now();
    const run = (): void => {
      this.timer = undefined;
      const now = Date.now();
      while (this.queue.length > 0 && (this.queue[0] as { at: number }).at <= now + 0.5) {
        const { c } = this.queue.shift() as { c: Uint8Array };
        if (!this.ended) this.readable.push(c);
      }
      if (this.ending && this.queue.length === 0) this.endNow();
      this.pump();
    };
    this.timer = wait <= 0.5 ? setImmediate(run) : setTimeout(run, Math.ceil(wait));
  }

  /** The sender is done (or the connection broke): end the reader once what is in flight arrived. */
  finish(): void {
    if (this.heldChunk !== null) {
      const held = this.heldChunk;
      this.heldChunk = null;
      if (!this.stalled) this.schedule(held);
    }
    if (this.stalled) return;
    this.ending = true;
    if (this.queue.length === 0) this.endNow();
  }

  endNow(): void {
    if (this.ended) return;
    this.ended = true;
    this.readable.push(null);
  }

  /** The sending process exited: end this direction after what is in flight (at once if stalled). */
  senderExited(): void {
    if (this.stalled) this.endNow();
    else if (!this.writable.writableEnded && !this.writable.destroyed) this.writable.end();
  }

  reset(): void {
    this.stalled = false;
    this.endNow();
    if (!this.writable.destroyed) this.writable.destroy(Object.assign(new Error('connection reset'), { code: 'ECONNRESET' }));
  }
}

export function createLink(params: LinkParams = FAST_LINK, faults: readonly LinkFault[] = []): Link {
  let broken = false;
  const stats: LinkStats = { bytes: { up: 0, down: 0 }, messages: { up: 0, down: 0 }, fired: [], cut: false };
  const pipes: DirectionPipe[] = [];
  const control = {
    stats,
    closed: () => broken,
    cut: () => {
      if (broken) return;
      broken = true;
      stats.cut = true;
      // What is in flight still arrives; then both ends see the stream end.
      for (const p of pipes) {
        p.finish();
        queueMicrotask(() => {
          if (!p.writable.destroyed) p.writable.destroy(Object.assign(new Error('connection reset'), { code: 'ECONNRESET' }));
        });
      }
    },
  };
  const up = new DirectionPipe('up', params, faults, control);
  const down = new DirectionPipe('down', params, faults, control);
  pipes.push(up, down);
  // A write error on a broken link must not crash the process when nobody listens.
  for (const p of pipes) p.writable.on('error', () => undefined);
  return {
    pusher: { input: down.readable, output: up.writable },
    receiver: { input: up.readable, output: down.writable },
    stats,
    close: () => {
      broken = true;
      for (const p of pipes) p.reset();
    },
    receiverExited: () => {
      down.senderExited();
      up.reset();
    },
  };
}

export function describeLink(p: LinkParams): string {
  const chunks = p.minChunk === p.maxChunk ? `${p.minChunk}-byte chunks` : `chunks of ${p.minChunk}..${p.maxChunk} bytes`;
  return `${chunks}, latency ${p.latencyMs}±${p.jitterMs} ms, ${p.bandwidth === 0 ? 'unlimited bandwidth' : `${p.bandwidth} B/ms`}, seed ${p.seed}`;
}

