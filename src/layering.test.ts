/**
 * The layering, from the import graph of the product (every non-test module
 * under src/, which is what `npm run build` compiles and `npm pack` ships):
 * it imports only src/, spec/, Node's built-ins and the runtime dependencies,
 * never test support (testkit/), tools (tools/), sim/, conformance/ or a
 * development dependency; and the folders of src/ import each other without a
 * circle. What lies outside src/ (sim/, conformance/, testkit/, tools/,
 * bench/, tests included) reaches src/repo and src/protocol only through
 * their public indexes, src/repo/index.ts and src/protocol/index.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SRC = join(ROOT, 'src');

/** Non-test modules under `dir`: what the build compiles. */
function productModules(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...productModules(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.child.ts')) out.push(path);
  }
  return out.sort();
}

/** Every TypeScript file under `dir`, tests included. */
function allModules(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') out.push(...allModules(path));
    } else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out.sort();
}

/** The folders of src/ whose modules are reached from outside src/ only through their index.ts. */
const INDEXED = ['repo', 'protocol'];

/**
 * For a module outside src/ importing `spec`: the module of an indexed
 * folder it reaches past that folder's index (`src/repo/refs.js`), or
 * undefined when the import is fine.
 */
function pastIndex(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const rel = relative(ROOT, resolve(dirname(from), spec)).split(sep);
  if (rel[0] !== 'src' || rel.length < 3 || !INDEXED.includes(rel[1] as string)) return undefined;
  return rel.length === 3 && rel[2] === 'index.js' ? undefined : rel.join('/');
}

/** Every module specifier a source file imports: static, side-effect, re-export and dynamic. */
function importSpecifiers(source: string): string[] {
  const specs: string[] = [];
  const pattern = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of source.matchAll(pattern)) specs.push((m[1] ?? m[2] ?? m[3]) as string);
  return specs;
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`). */
function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
}

/** The src/ folder a module is in ('.' for src/ itself). */
function folderOf(path: string): string {
  const rel = relative(SRC, path).split(sep);
  return rel.length === 1 ? '.' : (rel[0] as string);
}

/** Each circle of the folder graph, as the folders of one strongly connected component (Tarjan). */
function folderCircles(edges: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) circles.push(component.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return circles.sort((a, b) => a.join().localeCompare(b.join()));
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
const runtimeDeps = new Set(Object.keys(pkg.dependencies ?? {}));
const devDeps = new Set(Object.keys(pkg.devDependencies ?? {}));
const builtins = new Set(builtinModules);

describe('layering of the product (src/, non-test)', () => {
  const modules = productModules(SRC);
  const graph = modules.map((path) => ({ path, specs: importSpecifiers(readFileSync(path, 'utf8')) }));

  it('finds the product modules and their imports', () => {
    assert.ok(modules.length > 50, `only ${modules.length} modules found under src/`);
    assert.ok(graph.some((m) => m.specs.includes('ssh2')), 'no import of ssh2 found: the import scan is broken');
  });

  it('imports only src/, spec/, Node built-ins and runtime dependencies', () => {
    const bad: string[] = [];
    for (const { path, specs } of graph) {
      for (const spec of specs) {
        const where = relative(ROOT, path);
        if (spec.startsWith('.')) {
          const target = relative(ROOT, resolve(dirname(path), spec)).split(sep)[0];
          if (target !== 'src' && target !== 'spec') bad.push(`${where} imports ${spec} (${target}/ is not the product)`);
        } else if (!spec.startsWith('node:') && !builtins.has(spec)) {
          const name = packageName(spec);
          if (devDeps.has(name)) bad.push(`${where} imports ${spec} (a development dependency)`);
          else if (!runtimeDeps.has(name)) bad.push(`${where} imports ${spec} (not a dependency)`);
        }
      }
    }
    assert.deepEqual(bad, []);
  });

  it('has no circle among the folders of src/', () => {
    const edges = new Map<string, Set<string>>();
    for (const { path, specs } of graph) {
      const from = folderOf(path);
      if (!edges.has(from)) edges.set(from, new Set());
      for (const spec of specs) {
        if (!spec.startsWith('.')) continue;
        const target = resolve(dirname(path), spec);
        if (relative(ROOT, target).split(sep)[0] !== 'src') continue;
        const to = folderOf(target);
        if (to !== from) edges.get(from)?.add(to);
      }
    }
    assert.deepEqual(folderCircles(edges), []);
  });

  it('has no circle among the modules of src/ (type-only imports included)', () => {
    const edges = new Map<string, Set<string>>();
    for (const { path, specs } of graph) {
      const from = relative(SRC, path);
      edges.set(from, new Set());
      for (const spec of specs) {
        if (!spec.startsWith('.')) continue;
        const to = relative(SRC, resolve(dirname(path), spec)).replace(/\.js$/, '.ts');
        if (!to.startsWith('..')) edges.get(from)?.add(to);
      }
    }
    assert.deepEqual(folderCircles(edges), []);
  });
});

describe('the code outside src/', () => {
  const dirs = ['sim', 'conformance', 'testkit', 'tools', 'bench'].filter((d) => existsSync(join(ROOT, d)));
  const modules = dirs.flatMap((d) => allModules(join(ROOT, d)));

  it('finds the modules outside src/', () => {
    assert.ok(modules.length > 30, `only ${modules.length} modules found outside src/`);
  });

  it(`reaches ${INDEXED.map((f) => `src/${f}`).join(' and ')} only through their index`, () => {
    const bad: string[] = [];
    for (const path of modules) {
      for (const spec of importSpecifiers(readFileSync(path, 'utf8'))) {
        const past = pastIndex(path, spec);
        if (past !== undefined) bad.push(`${relative(ROOT, path)} imports ${past}`);
      }
    }
    assert.deepEqual(bad, []);
  });
});

describe('the layering checks themselves', () => {
  it('read every form of import', () => {
    const source = [
      "import a from 'node:fs';",
      "import { b } from '../testkit/tmp.js';",
      "import type { C } from './c.js';",
      "import './side.js';",
      "export { d } from '../d.js';",
      "const e = await import('fast-check');",
      "import {\n  f,\n} from 'ssh2';",
    ].join('\n');
    assert.deepEqual(importSpecifiers(source), ['node:fs', '../testkit/tmp.js', './c.js', './side.js', '../d.js', 'fast-check', 'ssh2']);
  });

  it('tell an import through an index from one past it', () => {
    const from = join(ROOT, 'sim', 'runner.ts');
    assert.equal(pastIndex(from, '../src/repo/refs.js'), 'src/repo/refs.js');
    assert.equal(pastIndex(join(ROOT, 'bench', 'x', 'y.ts'), '../../src/protocol/receiver.js'), 'src/protocol/receiver.js');
    assert.equal(pastIndex(from, '../src/repo/sub/index.js'), 'src/repo/sub/index.js');
    assert.equal(pastIndex(from, '../src/repo/index.js'), undefined);
    assert.equal(pastIndex(from, '../src/protocol/index.js'), undefined);
    assert.equal(pastIndex(from, '../src/wire/constants.js'), undefined);
    assert.equal(pastIndex(from, '../src/errors.js'), undefined);
    assert.equal(pastIndex(from, './invariants.js'), undefined);
    assert.equal(pastIndex(from, 'ssh2'), undefined);
  });

  it('find a folder circle', () => {
    const edges = new Map([
      ['cli', new Set(['protocol'])],
      ['protocol', new Set(['policy', 'repo'])],
      ['policy', new Set(['protocol'])],
      ['repo', new Set<string>()],
    ]);
    assert.deepEqual(folderCircles(edges), [['policy', 'protocol']]);
    edges.set('policy', new Set());
    assert.deepEqual(folderCircles(edges), []);
  });
});
