/**
 * Start-up time of the processes the suite runs from this repository's
 * TypeScript: our CLIs in conformance.test.ts and the scripted receiver of
 * every pusher case. Through the tsx loader each start costs about half a
 * second of CPU, which dominates a case; bundled once per run into plain
 * ESM with esbuild (already here as tsx's own compiler), a start costs a
 * fifth of that. The bundle is the same source, so what is tested does not
 * change; when esbuild cannot be loaded the commands fall back to tsx.
 *
 * Bundles go under node_modules/.cache/ (so the packages left external
 * resolve from the project's node_modules), in a directory of this process,
 * removed when it exits. Entries keep their file names under `cli/`, so
 * ostree-push finds ostree-receive.js beside it (src/transport/local.ts).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shellQuote } from './process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Esbuild {
  build(options: Record<string, unknown>): Promise<unknown>;
}

/** `node --import tsx FILE`, quoted for sh. */
export function tsxCommand(file: string): string {
  return `${shellQuote(process.execPath)} --import ${shellQuote(import.meta.resolve('tsx'))} ${shellQuote(file)}`;
}

const cache = new Map<string, Promise<string | undefined>>();
let outRoot: string | undefined;

async function build(entries: readonly string[]): Promise<string | undefined> {
  let esbuild: Esbuild;
  try {
    const name = 'esbuild';
    esbuild = (await import(name)) as Esbuild;
  } catch {
    return undefined;
  }
  if (outRoot === undefined) {
    outRoot = join(ROOT, 'node_modules', '.cache', 'ostree-push-conformance', `${process.pid}-${Date.now().toString(36)}`);
    const dir = outRoot;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const outdir = join(outRoot, `b${cache.size}`, 'cli');
  mkdirSync(outdir, { recursive: true });
  try {
    await esbuild.build({
      entryPoints: entries.map((e) => join(ROOT, e)),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outdir,
      logLevel: 'silent',
    });
  } catch {
    return undefined;
  }
  return outdir;
}

/**
 * Commands (sh words, before their arguments) for repository-relative
 * TypeScript entry points: `node BUNDLE.js` when bundling works, else
 * `node --import tsx FILE.ts`. One bundle per distinct list per process.
 */
export async function entryCommands(entries: readonly string[]): Promise<Record<string, string>> {
  const key = entries.join('\0');
  let p = cache.get(key);
  if (p === undefined) {
    p = build(entries);
    cache.set(key, p);
  }
  const outdir = await p;
  const out: Record<string, string> = {};
  for (const e of entries) {
    out[e] = outdir === undefined ? tsxCommand(join(ROOT, e)) : `${shellQuote(process.execPath)} ${shellQuote(join(outdir, basename(e).replace(/\.ts$/, '.js')))}`;
  }
  return out;
}
