/**
 * Peak memory of writing and verifying a large content object.
 *
 *   npx tsx bench/verify-memory.ts [size-MiB]     (default 1024 = 1 GiB)
 *
 * Builds a `.filez` from a streamed pseudo-random source (never in memory),
 * verifies it from the file and again through the Writable verifier, and
 * prints peak RSS (process.resourceUsage().maxRSS). The design target is
 * well under 100 MB whatever the size: content is deflated, inflated and
 * hashed chunk by chunk.
 *
 * Each verification also runs alone in a fresh child process
 * (`--verify-only file|writable PATH CHECKSUM`), so its peak is not mixed
 * with the writer's: that figure is the one the target speaks of. Run the
 * compiled script (`npm run build:bench`, then `node dist/bench/verify-memory.js`)
 * to leave tsx's own memory out.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pseudoRandomContent } from '../testkit/ostree-trees.js';
import { writeFilez, createObjectVerifier, verifyObjectFile } from '../src/repo/index.js';

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

async function verifyOnly(how: string, path: string, checksum: string): Promise<void> {
  const before = process.resourceUsage().maxRSS;
  if (how === 'file') {
    await verifyObjectFile(path, { checksum, type: 'file' }); // throws REPO_CORRUPT_OBJECT on a mismatch
  } else {
    const v = createObjectVerifier({ checksum, type: 'file' });
    await pipeline(createReadStream(path), v);
    await v.result;
  }
  console.log(JSON.stringify({ how, loadedKiB: before, peakKiB: process.resourceUsage().maxRSS }));
}

if (process.argv[2] === '--verify-only') {
  await verifyOnly(process.argv[3]!, process.argv[4]!, process.argv[5]!);
  process.exit(0);
}

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
  // The same verifications, each alone in a fresh process (same loader as this one).
  const self = fileURLToPath(import.meta.url);
  for (const how of ['file', 'writable']) {
    const out = execFileSync(process.execPath, [...process.execArgv, self, '--verify-only', how, path, w.checksum], { encoding: 'utf8' });
    const { loadedKiB, peakKiB } = JSON.parse(out.trim().split('\n').pop()!) as { loadedKiB: number; peakKiB: number };
    console.log(`verify (${how}) alone in a fresh process: peak RSS ${mb(peakKiB)} (${mb(loadedKiB)} of it before verifying)`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
