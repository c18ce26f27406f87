/**
 * known_hosts, as OpenSSH reads it (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"):
 *
 *   [@marker] hostpatterns keytype base64-key [comment]
 *
 * - hostpatterns: comma-separated patterns with `*` and `?` wildcards and
 *   `!` negation, or one hashed name `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`;
 * - the name looked up is `host` on port 22, `[host]:port` on any other port;
 * - markers: `@revoked` (this key must be refused for the hosts named) and
 *   `@cert-authority` (host certificates: not supported here, so ignored).
 *
 * The verdict is strict: the key is accepted only when an entry for the name
 * holds it and no @revoked entry does. No entry at all is "unknown", entries
 * without this key are "changed"; both are refusals, reported with the
 * key's fingerprint in OpenSSH's form (`SHA256:` + unpadded base64).
 * Unparseable lines are skipped, as OpenSSH does.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

type HostMatcher = { kind: 'hashed'; salt: Buffer; hash: Buffer } | { kind: 'patterns'; patterns: string[] };

export interface KnownHostEntry {
  file: string;
  line: number;
  marker?: 'revoked' | 'cert-authority';
  hosts: HostMatcher;
  keyType: string;
  /** The public key blob (SSH wire format), decoded from base64. */
  key: Buffer;
}

export type HostKeyVerdict =
  | { status: 'ok'; entry: KnownHostEntry }
  | { status: 'unknown'; knownTypes: string[] }
  | { status: 'changed'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry };

export function parseKnownHosts(text: string, file = 'known_hosts'): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const fields = (lines[i] ?? '').trim().split(/[ \t]+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) continue;
    let marker: KnownHostEntry['marker'];
    if (fields[0].startsWith('@')) {
      const m = fields.shift();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue;
    }
    const [hostField, keyType, keyText] = fields;
    if (hostField === undefined || keyType === undefined || keyText === undefined) continue;
    if (!/^[A-Za-z0-9+/]+=*$/.test(keyText)) continue;
    const key = Buffer.from(keyText, 'base64');
    // The blob starts with its own type name; a mismatch means a broken line.
    if (blobKeyType(key) !== keyType) continue;
    let hosts: HostMatcher;
    if (hostField.startsWith('|1|')) {
      const [, , salt, hash] = hostField.split('|');
      if (salt === undefined || hash === undefined) continue;
      hosts = { kind: 'hashed', salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
      if (hosts.hash.length !== 20) continue;
    } else if (hostField.startsWith('|')) {
      continue; // an unknown hash scheme
    } else {
      hosts = { kind: 'patterns', patterns: hostField.split(',').filter((p) => p !== '') };
    }
    const entry: KnownHostEntry = { file, line: i + 1, hosts, keyType, key };
    if (marker !== undefined) entry.marker = marker;
    entries.push(entry);
  }
  return entries;
}

/** The name known_hosts stores for a host and port: `host`, or `[host]:port` off port 22. */
export function knownHostName(host: string, port = 22): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

function globMatch(pattern: string, name: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(name);
}

export function matchesHost(entry: KnownHostEntry, name: string): boolean {
  const h = entry.hosts;
  if (h.kind === 'hashed') {
    const got = createHmac('sha1', h.salt).update(name).digest();
    return timingSafeEqual(got, h.hash);
  }
  let matched = false;
  for (const p of h.patterns) {
    const negated = p.startsWith('!');
    if (globMatch((negated ? p.slice(1) : p).toLowerCase(), name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** Checks a server's host key against the entries; never "ok" for an unknown or changed key. */
export function checkHostKey(entries: readonly KnownHostEntry[], host: string, port: number, key: Buffer): HostKeyVerdict {
  const name = knownHostName(host, port);
  const forHost = entries.filter((e) => e.marker !== 'cert-authority' && matchesHost(e, name));
  const revoked = forHost.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked !== undefined) return { status: 'revoked', entry: revoked };
  const plain = forHost.filter((e) => e.marker === undefined);
  const hit = plain.find((e) => e.key.equals(key));
  if (hit !== undefined) return { status: 'ok', entry: hit };
  const type = blobKeyType(key);
  const sameType = plain.find((e) => e.keyType === type);
  if (sameType !== undefined) return { status: 'changed', entry: sameType };
  return { status: 'unknown', knownTypes: [...new Set(plain.map((e) => e.keyType))] };
}

/** The key type named at the start of an SSH public key blob (uint32 length + name), or '' when malformed. */
export function blobKeyType(blob: Buffer): string {
  if (blob.length < 4) return '';
  const n = blob.readUInt32BE(0);
  if (n === 0 || n > 64 || 4 + n > blob.length) return '';
  return blob.subarray(4, 4 + n).toString('latin1');
}

/** OpenSSH's fingerprint: `SHA256:` and the unpadded base64 of the blob's SHA-256. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** A known_hosts line for a key, plain or hashed (what `ssh-keyscan [-H]` prints). */
export function knownHostsLine(host: string, port: number, blob: Buffer, options: { hashed?: boolean; salt?: Buffer } = {}): string {
  const name = knownHostName(host, port);
  let field = name;
  if (options.hashed === true) {
    const salt = options.salt ?? randomBytes(20);
    field = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
  }
  return `${field} ${blobKeyType(blob)} ${blob.toString('base64')}`;
}

/**
 * Host key algorithms to offer, the types known_hosts already holds for the
 * name first: like OpenSSH, so a server with several host keys shows the
 * one we can check rather than one we would have to call unknown.
 */
export function preferredHostKeyAlgorithms(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const all = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  const name = knownHostName(host, port);
  const known = new Set(entries.filter((e) => e.marker === undefined && matchesHost(e, name)).map((e) => e.keyType));
  const isKnown = (alg: string) => known.has(alg) || (alg.startsWith('rsa-sha2-') && known.has('ssh-rsa'));
  return [...all.filter(isKnown), ...all.filter((a) => !isKnown(a))];
}
