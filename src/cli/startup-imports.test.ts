/**
 * What each command loads before it does anything: the modules its entry
 * point reaches by static imports (`import type` and `import()` excluded).
 * Loading a module costs start-up time on every run, so what only some runs
 * need (the pull form, a dry run's signature lines) is imported when used,
 * and the pusher's protocol engine loads while ssh connects
 * (push-command.ts), not before.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Static, side-effect and re-export specifiers; not `import type`, not `export type`, not `import()`. */
function staticSpecifiers(source: string): string[] {
  const specs: string[] = [];
  const pattern = /(?:^|[\s;])(import|export)(\s+type\b)?\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(pattern)) {
    if (m[2] !== undefined) continue;
    specs.push((m[3] ?? m[4]) as string);
  }
  return specs;
}

/** Every module (repository-relative, or `node:x`) the entry point loads at start. */
function startupGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (path: string): void => {
    const rel = relative(ROOT, path);
    if (seen.has(rel)) return;
    seen.add(rel);
    if (!path.endsWith('.ts')) return;
    for (const spec of staticSpecifiers(readFileSync(path, 'utf8'))) {
      if (spec.startsWith('node:')) seen.add(spec);
      else if (spec.startsWith('.')) {
        const target = resolve(dirname(path), spec);
        const ts = target.replace(/\.js$/, '.ts');
        visit(existsSync(ts) ? ts : target);
      }
    }
  };
  visit(join(ROOT, entry));
  return seen;
}

test('ostree-push loads neither the pull form, nor the protocol engine and its validators, nor the signature report at start', () => {
  const graph = startupGraph('src/cli/ostree-push.ts');
  assert.ok(graph.has('src/protocol/push-plan.ts'), 'the walker follows imports');
  for (const lazy of ['src/cli/push-pull-form.ts', 'src/repo/http-serve.ts', 'node:http', 'src/protocol/pusher.ts', 'src/protocol/validators.generated.ts', 'src/cli/push-signatures.ts']) {
    assert.equal(graph.has(lazy), false, `${lazy} is loaded at start`);
  }
});

test('ostree-receive --repo loads not the pull form (1.x form) at start', () => {
  const graph = startupGraph('src/cli/ostree-receive.ts');
  assert.ok(graph.has('src/protocol/receiver.ts'), 'the walker follows imports');
  for (const lazy of ['src/cli/receive-pull.ts', 'src/protocol/pull.ts', 'node:http']) assert.equal(graph.has(lazy), false, `${lazy} is loaded at start`);
});
