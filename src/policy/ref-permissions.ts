/**
 * Per-ref permissions: which refs a push to this repository may create,
 * move, force or delete (configuration key `ref_permissions`, a mapping of
 * ref pattern → list of actions).
 *
 *   pattern  ref components separated by '/'; `*` in a component matches any
 *            run of characters within that one component (so `*` alone is one
 *            whole component); a component `**` matches any number of
 *            components, none included.
 *   actions  create  the ref does not exist yet (from = 64 zeros)
 *            move    a fast-forward of an existing ref
 *            force   a non-fast-forward update (implies move)
 *            delete  the ref is removed (to = 64 zeros)
 *
 * What a ref may do is the union over every pattern it matches, so the order
 * of the mapping does not matter. Unset (null) allows everything, as the
 * Python receiver does; once set, a ref no pattern matches may not change.
 */
import { ZERO_CHECKSUM } from '../repo/refs.js';
import { PolicyError } from './errors.js';

export const REF_ACTIONS = ['create', 'move', 'force', 'delete'] as const;
export type RefAction = (typeof REF_ACTIONS)[number];

interface Rule {
  pattern: string;
  re: RegExp;
  allow: ReadonlySet<RefAction>;
}

function componentRegex(c: string): string {
  return c
    .split('*')
    .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]*');
}

/** A pattern as a regular expression over the whole ref name. */
export function compileRefPattern(pattern: string): RegExp {
  const parts = pattern.split('/');
  if (pattern === '' || parts.some((p) => p === '' || (p.includes('**') && p !== '**'))) {
    throw new PolicyError('POLICY_CONFIG_INVALID', `ref_permissions: bad ref pattern '${pattern}' (components separated by '/', none empty; '**' only as a whole component)`, { key: 'ref_permissions', pattern });
  }
  let re = '';
  let sep = '';
  // `**/**` means the same as `**`.
  const squeezed = parts.filter((p, i) => !(p === '**' && parts[i - 1] === '**'));
  squeezed.forEach((p, i) => {
    const last = i === squeezed.length - 1;
    if (p !== '**') {
      re += sep + componentRegex(p);
      sep = '/';
    } else if (i === 0) {
      // Leading **: zero or more whole components, each with its slash.
      re += last ? '(?:[^/]+(?:/[^/]+)*)?' : '(?:[^/]+/)*';
      sep = '';
    } else {
      // Later **: zero or more "/component" after what came before.
      re += '(?:/[^/]+)*';
    }
  });
  return new RegExp(`^${re}$`);
}

export class RefPermissions {
  private readonly rules: Rule[] | null;

  /** null: every action on every ref is allowed. */
  constructor(rules: Readonly<Record<string, readonly string[]>> | null) {
    this.rules =
      rules === null
        ? null
        : Object.entries(rules).map(([pattern, actions]) => {
            const allow = new Set<RefAction>();
            for (const a of actions) {
              if (!(REF_ACTIONS as readonly string[]).includes(a)) {
                throw new PolicyError('POLICY_CONFIG_INVALID', `ref_permissions: '${pattern}': unknown action '${a}' (one of ${REF_ACTIONS.join(', ')})`, { key: 'ref_permissions', pattern, action: a });
              }
              allow.add(a as RefAction);
            }
            if (allow.has('force')) allow.add('move');
            return { pattern, re: compileRefPattern(pattern), allow };
          });
  }

  get restricted(): boolean {
    return this.rules !== null;
  }

  /** The rules as configured (pattern → actions), or null when unrestricted: what INFO advertises. */
  get configured(): Record<string, RefAction[]> | null {
    if (this.rules === null) return null;
    return Object.fromEntries(this.rules.map((r) => [r.pattern, REF_ACTIONS.filter((a) => r.allow.has(a))]));
  }

  allows(ref: string, action: RefAction): boolean {
    if (this.rules === null) return true;
    return this.rules.some((r) => r.allow.has(action) && r.re.test(ref));
  }

  /** Throws POLICY_REF_DENIED unless `action` on `ref` is allowed. */
  check(ref: string, action: RefAction): void {
    if (this.allows(ref, action)) return;
    const matching = (this.rules ?? []).filter((r) => r.re.test(ref)).map((r) => r.pattern);
    const why = matching.length === 0 ? 'no ref_permissions pattern matches it' : `the patterns matching it (${matching.join(', ')}) do not allow ${action}`;
    throw new PolicyError('POLICY_REF_DENIED', `ref ${ref}: this repository does not allow a push to ${action} it: ${why}`, { ref, action, patterns: matching });
  }
}

/** The action an UPDATE entry asks for before its history is known ('force' is decided at DONE). */
export function updateAction(from: string, to: string): RefAction {
  if (from === ZERO_CHECKSUM) return 'create';
  if (to === ZERO_CHECKSUM) return 'delete';
  return 'move';
}
