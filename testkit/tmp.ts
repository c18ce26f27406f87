/**
 * Scratch directories for tests: a fresh directory under os.tmpdir(), removed
 * when the test ends (through `t.after`). KEEP_TMP=1 keeps them and prints
 * where they are, for looking at a failed run by hand.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** The subset of TestContext (and SuiteContext) that cleanup needs. */
export interface HasAfter {
  after(fn: () => void | Promise<void>): void;
  diagnostic?(message: string): void;
}

export function keepTmp(): boolean {
  return process.env.KEEP_TMP === '1';
}

/** Makes `<tmpdir>/ostree-push-<prefix>-XXXXXX`, removed after the test. */
export function tmpDir(t: HasAfter | TestContext, prefix = 'test'): string {
  const dir = mkdtempSync(join(tmpdir(), `ostree-push-${prefix.replace(/[^\w.-]/g, '_')}-`));
  t.after(() => {
    if (keepTmp()) {
      t.diagnostic?.(`KEEP_TMP=1: kept ${dir}`);
      return;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Runs `fn` with a fresh scratch directory; the directory goes when the test ends. */
export async function withTmpDir<T>(t: HasAfter | TestContext, fn: (dir: string) => T | Promise<T>, prefix?: string): Promise<T> {
  return await fn(tmpDir(t, prefix));
}
