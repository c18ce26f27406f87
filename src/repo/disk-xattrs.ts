/**
 * Extended attributes of a directory tree on disk. Node has no xattr API, so
 * they are read with one `getfattr -R` run (package `attr`) over the whole
 * tree. `ostree commit` records every xattr it can list (all namespaces, not
 * just user.*), sorted by name and with empty values dropped (spec/ostree-format.md
 * §4.3); we ask getfattr for the same (`-m -`) and leave sorting and dropping
 * to xattrsFromRecord.
 *
 * Output shape (`-e hex`, `--absolute-names`, `-h` so symlinks are not followed):
 *   # file: <path with \ooo octal escapes>
 *   user.name=0x68656c6c6f
 *   <blank line>
 */
import { execFile, execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

let available: boolean | undefined;

/** True when `getfattr` can be run. */
export function hasGetfattr(): boolean {
  if (available === undefined) {
    try {
      execFileSync('getfattr', ['--version'], { stdio: 'ignore' });
      available = true;
    } catch {
      available = false;
    }
  }
  return available;
}

/** Undoes getfattr's quoting: `\ooo` octal escapes and `\\`. Works on bytes so UTF-8 survives. */
function unquote(s: string): string {
  const src = Buffer.from(s, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const b = src[i] as number;
    if (b === 0x5c && i + 3 < src.length && /^[0-7]{3}$/.test(src.subarray(i + 1, i + 4).toString('latin1'))) {
      out.push(parseInt(src.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else if (b === 0x5c && src[i + 1] === 0x5c) {
      out.push(0x5c);
      i += 1;
    } else {
      out.push(b);
    }
  }
  return Buffer.from(out).toString('utf8');
}

/** Absolute path → (xattr name → value) for every file in `dir` that has any. */
export async function readTreeXattrs(dir: string): Promise<Map<string, Record<string, Uint8Array>>> {
  const root = resolve(dir);
  const { stdout } = await run('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root], {
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  }).catch((e: { stdout?: string; code?: number }) => {
    // getfattr exits 1 when some file could not be read but still prints the rest.
    if (typeof e.stdout === 'string') return { stdout: e.stdout };
    throw e;
  });
  const result = new Map<string, Record<string, Uint8Array>>();
  let current: Record<string, Uint8Array> | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = {};
      result.set(unquote(line.slice('# file: '.length)), current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current === undefined || eq <= 0) continue;
    const name = unquote(line.slice(0, eq));
    const v = line.slice(eq + 1);
    current[name] = v.startsWith('0x') ? new Uint8Array(Buffer.from(v.slice(2), 'hex')) : new Uint8Array(0);
  }
  return result;
}
