/**
 * Writing loose objects into an archive repository without ever exposing a
 * partial one: each object is written to a temp file under `tmp/` (same
 * filesystem), fsynced, then renamed to `objects/XX/rest.ext`. An object that
 * already exists is left alone (same name, same content).
 *
 * This is the builder's writer (fixtures, demo, bench); the receiver has its
 * own staging and publication.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFilez, type ContentSource, type FileMeta } from './filez.js';
import { objectRelPath, type ObjectType } from './object-names.js';

export interface ObjectWriterOptions {
  /** fsync each object before renaming it (default true). */
  fsync?: boolean;
  /** `[archive] zlib-level` (default 6). */
  zlibLevel?: number;
}

export class ObjectWriter {
  /** The directories made already (tmp/ and objects/XX/): one mkdir each, not one per object. */
  private readonly made = new Set<string>();

  constructor(
    readonly root: string,
    readonly options: ObjectWriterOptions = {},
  ) {}

  private tempPath(): string {
    return join(this.root, 'tmp', `ostree-push-build-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  private async mkdirOnce(dir: string): Promise<void> {
    if (this.made.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.made.add(dir);
  }

  private async publish(tmp: string, checksum: string, type: ObjectType): Promise<void> {
    const final = join(this.root, objectRelPath(checksum, type));
    try {
      await stat(final);
      await rm(tmp, { force: true });
      return;
    } catch {
      /* absent: publish */
    }
    await this.mkdirOnce(join(this.root, 'objects', checksum.slice(0, 2)));
    await rename(tmp, final);
  }

  /** Writes a metadata object named by the SHA-256 of its bytes; returns the checksum. */
  async writeMetadata(type: 'commit' | 'dirtree' | 'dirmeta', bytes: Uint8Array): Promise<string> {
    const checksum = createHash('sha256').update(bytes).digest('hex');
    await this.writeNamed(checksum, type, bytes);
    return checksum;
  }

  /** Writes a metadata object under a given name (commitmeta, tombstone-commit). */
  async writeNamed(checksum: string, type: ObjectType, bytes: Uint8Array): Promise<void> {
    const tmp = this.tempPath();
    await this.mkdirOnce(join(this.root, 'tmp'));
    if (this.options.fsync ?? true) {
      const fh = await open(tmp, 'wx', 0o644);
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
    } else {
      await writeFile(tmp, bytes, { flag: 'wx', mode: 0o644 });
    }
    await this.publish(tmp, checksum, type);
  }

  /** Streams a content object to a `.filez`; returns its checksum and size. */
  async writeContent(meta: FileMeta, content: ContentSource): Promise<{ checksum: string; size: number }> {
    const tmp = this.tempPath();
    await this.mkdirOnce(join(this.root, 'tmp'));
    try {
      const w = await writeFilez(tmp, meta, content, {
        fsync: this.options.fsync ?? true,
        ...(this.options.zlibLevel === undefined ? {} : { level: this.options.zlibLevel }),
      });
      await this.publish(tmp, w.checksum, 'file');
      return { checksum: w.checksum, size: w.size };
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
}
