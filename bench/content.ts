/**
 * Deterministic content for the benchmark's data sets: a seeded PRNG for
 * shapes (sizes, names, kinds) and fast streamed byte sources for contents.
 *
 * Three kinds of file content, as a system tree holds them:
 * - text: word salad cut from a 1 MiB corpus (deflates about 3×, like docs,
 *   scripts, locale data);
 * - binary: 4 KiB blocks, half text half random (deflates about 1.5×, like
 *   executables and libraries);
 * - packed: random bytes (already-compressed images, .gz; deflate gains nothing).
 * Random bytes come from AES-256-CTR over zeros, keyed by the seed: hundreds
 * of MB/s, so generating the data set costs little next to committing it.
 */
import { createCipheriv, createHash } from 'node:crypto';

/** sfc32: small, fast, good enough for shapes; seeded from a string through SHA-256. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string) {
    const h = createHash('sha256').update(seed).digest();
    this.a = h.readUInt32LE(0);
    this.b = h.readUInt32LE(4);
    this.c = h.readUInt32LE(8);
    this.d = h.readUInt32LE(12);
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
}

const WORDS = (
  'the of and to in is for on that with as by this be are from or it at an not which file data system user ' +
  'config value default error option path name version library module function return type string number ' +
  'include define static const struct void int char unsigned long buffer size length index count list table ' +
  'usr share lib bin etc locale doc man info license copyright gnu free software foundation public general'
).split(' ');

let corpusCache: Buffer | undefined;

/** 1 MiB of word salad with lines, the same on every machine. */
export function textCorpus(): Buffer {
  if (corpusCache !== undefined) return corpusCache;
  const r = new Prng('bench-corpus-v1');
  const parts: string[] = [];
  let n = 0;
  while (n < 1 << 20) {
    const w = r.int(12) === 0 ? `${r.pick(WORDS)}_${r.int(1000)}` : r.pick(WORDS);
    const sep = r.int(10) === 0 ? '\n' : ' ';
    parts.push(w, sep);
    n += w.length + 1;
  }
  corpusCache = Buffer.from(parts.join('')).subarray(0, 1 << 20);
  return corpusCache;
}

export type ContentKind = 'text' | 'binary' | 'packed';

const CHUNK = 1 << 16;

function randomStream(seed: string): (n: number) => Buffer {
  const key = createHash('sha256').update(`key:${seed}`).digest();
  const iv = createHash('sha256').update(`iv:${seed}`).digest().subarray(0, 16);
  const c = createCipheriv('aes-256-ctr', key, iv);
  return (n) => c.update(Buffer.alloc(n));
}

/** Streams `size` bytes of `kind` content derived from `seed`, 64 KiB at a time. */
export function contentSource(seed: string, size: number, kind: ContentKind): () => AsyncIterable<Uint8Array> {
  return async function* () {
    const corpus = textCorpus();
    const r = new Prng(`pos:${seed}`);
    const rand = randomStream(seed);
    let left = size;
    while (left > 0) {
      const n = Math.min(CHUNK, left);
      let out: Buffer;
      if (kind === 'packed') {
        out = rand(n);
      } else if (kind === 'text') {
        const at = r.int(corpus.length - n + 1);
        out = Buffer.from(corpus.subarray(at, at + n));
      } else {
        out = Buffer.allocUnsafe(n);
        for (let o = 0; o < n; o += 4096) {
          const m = Math.min(4096, n - o);
          if (r.int(2) === 0) {
            rand(m).copy(out, o);
          } else {
            const at = r.int(corpus.length - m + 1);
            corpus.copy(out, o, at, at + m);
          }
        }
      }
      left -= n;
      yield out;
    }
  };
}
