/**
 * REMOTE, the destination of `ostree-push`, in the forms git accepts:
 *
 *   [user@]host:path              scp-like; path relative to the login directory
 *   ssh://[user@]host[:port]/path  URL; /path is absolute, /~/path relative to home
 *   /a/path, ./a:b, file:///path   this machine: the receiver runs over pipes, no ssh
 *   s3://BUCKET/PREFIX            a bucket: the receiver runs here, as for a local path,
 *                                 and publishes into the bucket (src/bucket/)
 *
 * Telling `host:path` from a local path with a colon follows git's rule on
 * POSIX: a ':' before any '/' means ssh. So `backup:repo` is host `backup`,
 * while `./a:b` and `/srv/a:b` are local; so is `C:/x` NOT: it is host `C`
 * (write `./C:/x` for such a local path). `[host]:path` and
 * `user@[host]:path` bracket an IPv6 address or a host holding ':'.
 *
 * A leading `~/` (scp form, or `/~/` in a URL) is dropped: the remote
 * command runs in the login directory, and the path is passed quoted, so
 * the remote shell would not expand `~` anyway. A host or user starting
 * with '-' is refused: ssh would take it as an option (the git
 * CVE-2017-1000117 lesson).
 */
import { UsageError } from '../errors.js';

export type Remote =
  | { kind: 'local'; path: string }
  | { kind: 'ssh'; host: string; path: string; user?: string; port?: number };

function bad(remote: string, why: string): UsageError {
  return new UsageError('PUSH_BAD_REMOTE', `'${remote}' is not a valid REMOTE: ${why}`, { remote });
}

// Control characters (newline, NUL...) have no business in a host, user or path.
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point of this pattern
const CONTROL = /[\u0000-\u001f\u007f]/;

function checkSsh(remote: string, r: { host: string; path: string; user?: string; port?: number }): Remote {
  if (r.host === '') throw bad(remote, 'the host is empty');
  if (r.host.startsWith('-')) throw bad(remote, `the host '${r.host}' starts with '-'`);
  if (/[\s/\\]/.test(r.host) || CONTROL.test(r.host)) throw bad(remote, `the host '${r.host}' contains a space, slash or control character`);
  if (r.user !== undefined) {
    if (r.user === '') throw bad(remote, 'the user name before @ is empty');
    if (r.user.startsWith('-')) throw bad(remote, `the user '${r.user}' starts with '-'`);
    if (/\s/.test(r.user) || CONTROL.test(r.user)) throw bad(remote, 'the user name contains a space or control character');
  }
  let path = r.path;
  if (path.startsWith('~/')) path = path.slice(2);
  if (path === '' || path === '~') throw bad(remote, 'the repository path is empty');
  if (CONTROL.test(path)) throw bad(remote, 'the path contains a control character');
  const out: Remote = { kind: 'ssh', host: r.host, path };
  if (r.user !== undefined) out.user = r.user;
  if (r.port !== undefined) out.port = r.port;
  return out;
}

function parseUrl(remote: string): URL {
  try {
    return new URL(remote);
  } catch {
    throw bad(remote, 'malformed URL');
  }
}

function parseSshUrl(remote: string): Remote {
  // The URL parser accepts ports it then drops (ssh://h:0/) and rejects none we want; check by hand.
  const m = /^ssh:\/\/(?:([^@/]*)@)?(\[[^\]/]*\]|[^:/]*)(?::([^/]*))?(\/.*)?$/.exec(remote);
  if (m === null) throw bad(remote, 'expected ssh://[user@]host[:port]/path');
  const [, user, hostPart = '', portText, pathPart] = m;
  let port: number | undefined;
  if (portText !== undefined && portText !== '') {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw bad(remote, `the port '${portText}' is not a number from 1 to 65535`);
    }
    port = Number(portText);
  }
  const host = hostPart.startsWith('[') ? hostPart.slice(1, -1) : hostPart;
  let path: string;
  try {
    path = decodeURIComponent(pathPart ?? '');
  } catch {
    throw bad(remote, 'the path has a malformed %-escape');
  }
  if (path === '' || path === '/') throw bad(remote, 'the repository path is empty');
  if (path.startsWith('/~/')) path = path.slice(1);
  const r: { host: string; path: string; user?: string; port?: number } = { host, path };
  if (user !== undefined) r.user = decodeURIComponent(user);
  if (port !== undefined) r.port = port;
  return checkSsh(remote, r);
}

function parseFileUrl(remote: string): Remote {
  if (!remote.startsWith('file://')) throw bad(remote, 'a file URL is file:///absolute/path');
  const url = parseUrl(remote);
  if (url.hostname !== '' && url.hostname !== 'localhost') throw bad(remote, `a file URL names this machine only, not '${url.hostname}'`);
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    throw bad(remote, 'the path has a malformed %-escape');
  }
  if (path === '' || path === '/') throw bad(remote, 'the repository path is empty');
  return { kind: 'local', path };
}

/** Parses REMOTE; throws UsageError PUSH_BAD_REMOTE (exit 2) for anything malformed. */
export function parseRemote(remote: string): Remote {
  if (remote === '') throw bad(remote, 'it is empty');
  if (remote.startsWith('ssh://')) return parseSshUrl(remote);
  if (remote.startsWith('file:')) return parseFileUrl(remote);
  // The receiver checks the bucket name and prefix (it says why, as it does for a path that is no repository).
  if (remote.startsWith('s3://')) return { kind: 'local', path: remote };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(remote);
  if (scheme !== null) throw bad(remote, `the scheme '${scheme[1]}://' is not supported (use ssh://, file:// or s3://)`);

  // scp-like form, bracketed host: [host]:path or user@[host]:path.
  const bracket = /^(?:([^@/[]*)@)?\[([^\]/]*)\]:(.*)$/s.exec(remote);
  if (bracket !== null) {
    const [, user, host = '', path = ''] = bracket;
    return checkSsh(remote, user === undefined ? { host, path } : { host, path, user });
  }
  const colon = remote.indexOf(':');
  const slash = remote.indexOf('/');
  if (colon === -1 || (slash !== -1 && slash < colon)) return { kind: 'local', path: remote };
  const hostPart = remote.slice(0, colon);
  const path = remote.slice(colon + 1);
  const at = hostPart.lastIndexOf('@');
  if (at === -1) return checkSsh(remote, { host: hostPart, path });
  return checkSsh(remote, { user: hostPart.slice(0, at), host: hostPart.slice(at + 1), path });
}

/** The remote as a short text for messages and --json ("user@host:22:/srv/repo"). */
export function describeRemote(r: Remote): string {
  if (r.kind === 'local') return r.path;
  const host = r.host.includes(':') ? `[${r.host}]` : r.host;
  const user = r.user === undefined ? '' : `${r.user}@`;
  if (r.port === undefined) return `${user}${host}:${r.path}`;
  return `ssh://${user}${host}:${r.port}/${r.path.startsWith('/') ? r.path.slice(1) : `~/${r.path}`}`;
}
