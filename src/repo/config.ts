/**
 * A small reader for the GKeyFile ("INI") format of an OSTree repository's
 * `config` (spec/ostree-format.md §1.1):
 *
 *   [core]
 *   repo_version=1
 *   mode=archive-z2
 *
 * Enough of GKeyFile for the files ostree writes: `#` comments and blank lines,
 * `[group]` headers, `key=value` entries. As in GLib, leading whitespace of a
 * line is skipped, the key loses its trailing whitespace, the value loses its
 * leading whitespace but keeps its trailing whitespace (so `repo_version=1  `
 * is not `1`, and ostree refuses it too), a repeated key keeps its last value,
 * and a repeated group is merged. Values keep GKeyFile's escapes (`\s \n \t
 * \r \\`) undone by `getString`. Localised keys (`name[fr]`) are kept as
 * literal keys; list values are not split (nothing here needs them).
 */
import { RepoError } from '../errors.js';

export class KeyFile {
  /** group → key → raw (still escaped) value, in file order. */
  readonly groups = new Map<string, Map<string, string>>();

  has(group: string, key: string): boolean {
    return this.groups.get(group)?.has(key) ?? false;
  }

  getRaw(group: string, key: string): string | undefined {
    return this.groups.get(group)?.get(key);
  }

  /** The unescaped value, or undefined when the group or key is absent. */
  getString(group: string, key: string): string | undefined {
    const raw = this.getRaw(group, key);
    return raw === undefined ? undefined : unescapeValue(raw, group, key);
  }
}

function bad(message: string, data: Record<string, unknown>): RepoError {
  return new RepoError('REPO_BAD_CONFIG', message, data);
}

export function parseKeyFile(text: string): KeyFile {
  const kf = new KeyFile();
  let current: Map<string, string> | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] ?? '';
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const trimmed = line.replace(/^[ \t\f\v]+/, '');
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (trimmed.startsWith('[')) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: a group name may not hold control characters
      const m = /^\[([^\][\x00-\x1f]+)\][ \t]*$/.exec(trimmed);
      if (m === null) throw bad(`config line ${i + 1}: malformed group header`, { line: i + 1 });
      const name = m[1] as string;
      current = kf.groups.get(name);
      if (current === undefined) {
        current = new Map();
        kf.groups.set(name, current);
      }
      continue;
    }
    const eq = trimmed.indexOf('=');
    if (eq < 0) throw bad(`config line ${i + 1}: expected key=value`, { line: i + 1 });
    if (current === undefined) throw bad(`config line ${i + 1}: key before any [group]`, { line: i + 1 });
    const key = trimmed.slice(0, eq).replace(/[ \t]+$/, '');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: a key may not hold control characters
    if (key === '' || /[\x00-\x1f\]=[]/.test(key.replace(/\[[^\]]*\]$/, ''))) {
      throw bad(`config line ${i + 1}: invalid key`, { line: i + 1 });
    }
    current.set(key, trimmed.slice(eq + 1).replace(/^[ \t]+/, ''));
  }
  return kf;
}

function unescapeValue(raw: string, group: string, key: string): string {
  return raw.replace(/\\(.?)/g, (_all, c: string) => {
    switch (c) {
      case 's':
        return ' ';
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case '\\':
        return '\\';
      default:
        throw bad(`config [${group}] ${key}: invalid escape '\\${c}'`, { group, key });
    }
  });
}
