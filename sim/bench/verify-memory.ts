/**
 * Peak memory of writing and verifying a large content object.
 *
 *   npx tsx sim/bench/verify-memory.ts [size-MiB]     (default 1024 = 1 GiB)
 *
 * Builds a `.filez` from a streamed pseudo-random source (never in memory),
 * verifies it from the file and again through the Writable verifier, and
 * prints peak RSS (process.resourceUsage().maxRSS). The design target is
 * well under 100 MB whatever the size: content is deflated, inflated and
 * hashed chunk by chunk.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pseudoRandomContent } from '../../src/testkit/ostree-trees.js';
import { writeFilez } from '../../src/repo/filez.js';
import { createObjectVerifier, verifyObjectFile } from '../../src/repo/verify.js';

const mib = Number(process.argv[2] ?? 1024);
const size = mib * 1024 * 1024;
const mb = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;

const atStart = process.resourceUsage().maxRSS;
const dir = await mkdtemp(join(tmpdir(), 'verify-memory-'));
try {
  const path = join(dir, 'big.filez');
  const t0 = Date.now();
  // Half compressible (repeated text), half not, so both deflate paths run.
  const random = pseudoRandomContent('bench', size / 2);
  async function* content(): AsyncGenerator<Uint8Array> {
    const text = Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(1490)).subarray(0, 65536);
    for (let n = 0; n < size / 2; n += text.length) yield text.subarray(0, Math.min(text.length, size / 2 - n));
    yield* random();
  }
  const w = await writeFilez(path, { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: '', xattrs: [] }, content(), { fsync: false });
  const t1 = Date.now();
  const afterWrite = process.resourceUsage().maxRSS;
  const r = await verifyObjectFile(path, { checksum: w.checksum, type: 'file' });
  const t2 = Date.now();
  const v = createObjectVerifier({ checksum: w.checksum, type: 'file' });
  await pipeline(createReadStream(path), v);
  await v.result;
  const t3 = Date.now();
  const fileSize = (await stat(path)).size;
  console.log(`content ${mb(size / 1024)} → .filez ${mb(fileSize / 1024)}, checksum ${w.checksum}`);
  console.log(`write ${((t1 - t0) / 1000).toFixed(1)} s, verify (file) ${((t2 - t1) / 1000).toFixed(1)} s, verify (Writable) ${((t3 - t2) / 1000).toFixed(1)} s, contentSize ${r.contentSize}`);
  console.log(`peak RSS (maxRSS): after loading ${mb(atStart)}, after writing ${mb(afterWrite)}, at the end ${mb(process.resourceUsage().maxRSS)}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
