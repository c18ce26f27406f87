/** The line `--version` prints on each command. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `PROG VERSION`: the version of the package this file belongs to (the
 * nearest package.json above it, from src/ under tsx as from dist/ when
 * installed).
 */
export function versionLine(prog: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'ostree-push' && typeof pkg.version === 'string') return `${prog} ${pkg.version}`;
    } catch {
      // no package.json here, or not ours: keep climbing
    }
    if (dirname(dir) === dir) return `${prog} (unknown version)`;
  }
}
