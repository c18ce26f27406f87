/**
 * Ref names, with the rules of `ostree refs --create` and `commit --branch`
 * (spec/ostree-format.md §1.4): the name is one or more components joined by '/',
 * each matching `[\w\d][-._\w\d]*` where GRegex's `\w` is Unicode-aware.
 *
 * Checked against ostree 2022.7 (see refs.test.ts): `\w` there is exactly the
 * Unicode letters (L*), numbers (N*, so '٣', 'Ⅻ', '²') and '_'; combining
 * marks (M*), connector punctuation other than '_' (Pc), format characters
 * such as U+200B, controls, NUL, spaces and invalid UTF-8 are refused.
 *
 * Deviations, all stricter than ostree:
 * - ostree parses `REMOTE:name` and a trailing `^` on the command line; this
 *   validator sees a bare name, so ':' and '^' are simply invalid.
 * - ostree has no length rule of its own and fails only when the file system
 *   does (a component over 255 bytes: "File name too long"). Here a component
 *   is at most 255 bytes of UTF-8 and the whole name at most 1024 bytes.
 * - A lone UTF-16 surrogate (which cannot come from valid UTF-8) is refused.
 */
import { RepoError } from '../errors.js';

export const MAX_REF_COMPONENT_BYTES = 255;
export const MAX_REF_NAME_BYTES = 1024;

const COMPONENT_RE = /^[\p{L}\p{N}_][-.\p{L}\p{N}_]*$/u;

/** The "ref does not exist" value of the protocol (defined with the wire's constants) and of updateRefs. */
export { ZERO_CHECKSUM } from '../wire/constants.js';

/** Why `name` is not a valid ref name, or undefined when it is. */
export function refNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'not a string';
  if (name === '') return 'empty';
  if (/[\uD800-\uDFFF]/u.test(name)) return 'not valid Unicode (lone surrogate)';
  if (Buffer.byteLength(name, 'utf8') > MAX_REF_NAME_BYTES) return `longer than ${MAX_REF_NAME_BYTES} bytes`;
  for (const c of name.split('/')) {
    if (c === '') return 'empty component';
    if (!COMPONENT_RE.test(c)) return `invalid component '${c.slice(0, 80)}'`;
    if (Buffer.byteLength(c, 'utf8') > MAX_REF_COMPONENT_BYTES) return `component longer than ${MAX_REF_COMPONENT_BYTES} bytes`;
  }
  return undefined;
}

export function isValidRefName(name: unknown): name is string {
  return refNameProblem(name) === undefined;
}

export function assertRefName(name: unknown): asserts name is string {
  const why = refNameProblem(name);
  if (why !== undefined) {
    const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 200)) : String(name);
    throw new RepoError('REPO_BAD_REF_NAME', `invalid ref name ${shown}: ${why}`, { name: typeof name === 'string' ? name.slice(0, 1100) : null, reason: why });
  }
}

const CHECKSUM_RE = /^[0-9a-f]{64}$/;

/**
 * A ref file's bytes → checksum: exactly 64 lowercase hex digits and '\n'
 * (ostree writes 65 bytes); a missing newline is tolerated, anything else is
 * REPO_BAD_REF.
 */
export function parseRefFile(bytes: Uint8Array, name: string): string {
  let text = Buffer.from(bytes).toString('latin1');
  if (text.length === 65 && text.endsWith('\n')) text = text.slice(0, 64);
  if (!CHECKSUM_RE.test(text)) {
    throw new RepoError('REPO_BAD_REF', `ref ${name} does not hold a checksum`, { name, length: bytes.byteLength });
  }
  return text;
}
