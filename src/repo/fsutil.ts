/**
 * Durable file operations. A rename is atomic for readers, but after a crash
 * it survives only if the directory holding the new name was fsynced, and the
 * renamed file's bytes only if the file was fsynced before the rename.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync, constants } from 'node:fs';
import { dirname, join } from 'node:path';

/** fsync by path, opened read-only (enough for fsync on Linux) with `flags`. */
function fsyncPath(path: string, flags: number): void {
  const fd = openSync(path, constants.O_RDONLY | flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function fsyncDir(dir: string): void {
  fsyncPath(dir, constants.O_DIRECTORY);
}

/**
 * Makes every file already written on the file system holding `path` durable,
 * in one call: syncfs(2), which Node does not expose, through coreutils'
 * `sync -f` (coreutils 8.24 and later; it reports write-back errors on Linux
 * 5.8 and later). ostree does the same once per transaction. false when
 * `sync -f` is not available or failed: the caller then fsyncs file by file.
 */
export function syncFileSystem(path: string): boolean {
  const r = spawnSync('sync', ['-f', path], { stdio: 'ignore', timeout: 10 * 60 * 1000 });
  return r.error === undefined && r.status === 0;
}

/** syncFileSystem without blocking: resolves true when `sync -f` succeeded, never rejects. */
export function syncFileSystemAsync(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('sync', ['-f', path], { stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('close', (code) => resolve(code === 0));
  });
}

/** fsync of one file by path (a symlink in its place is not followed). */
export function fsyncFile(path: string): void {
  fsyncPath(path, constants.O_NOFOLLOW);
}

export function randomSuffix(): string {
  return randomBytes(6).toString('hex');
}

/** Writes bytes to a new file `path` (O_EXCL), fsynced. */
export function writeNewFileSync(path: string, data: string | Uint8Array, mode = 0o644): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `path` atomically: temp file in the same directory (a name starting
 * with '.', which no ref or object name can), fsync, rename, fsync directory.
 */
export function replaceFileDurableSync(path: string, data: string | Uint8Array, mode = 0o644): void {
  const dir = dirname(path);
  const tmp = join(dir, `.tmp-${process.pid}-${randomSuffix()}`);
  writeNewFileSync(tmp, data, mode);
  try {
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* best effort */
    }
    throw e;
  }
  fsyncDir(dir);
}
