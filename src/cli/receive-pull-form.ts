/**
 * Which form of ostree-receive the arguments are, without loading the pull
 * form's modules (receive-pull.ts, and through it an HTTP client): a
 * session of the push protocol never needs them.
 */

/** True when these arguments are the 1.x form: no --repo, and some word that is not an option. */
export function isPullForm(argv: readonly string[]): boolean {
  if (argv.some((a) => a === '--repo' || a.startsWith('--repo='))) return false;
  return argv.some((a) => a === '--' || !a.startsWith('-'));
}
