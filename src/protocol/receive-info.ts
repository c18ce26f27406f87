/**
 * What the receiver says about itself and its store (spec/protocol.md
 * section 12.1, 12.3, 12.5 and 12.6): INFO within one body, with its
 * signature policy when it has one, and ANSWER to QUERY.
 *
 * INFO is one message with a 16-bit body length, so a repository with more
 * refs than fit (about 870 short names) lists the longest prefix of its refs
 * in name order that fits, and says so with `refs-truncated: true`. That is
 * safe for a version-0 pusher: for a ref it was not told about it sends
 * `from` = 64 zeros, and the compare-and-swap refuses the UPDATE, so nothing
 * is overwritten. A pusher with `query` asks about the refs it will push.
 *
 * ANSWER comes from objects/ and refs/heads only: staging of this or any
 * other session is never a "have", and a claimed have is still covered by
 * the closure check at DONE.
 */
import { WireError } from '../errors.js';
import { Variant } from '../gvariant/index.js';
import { readRef } from '../repo/refs.js';
import type { Repo } from '../repo/repo.js';
import { MAX_BODY_SIZE } from '../wire/constants.js';
import { type AnswerMessage, encodeInfo, type InfoMessage, type QueryMessage } from '../wire/messages.js';
import { parsePushedName } from './receive-object.js';
import type { InfoPolicy } from '../policy/info-policy.js';

/** The extensions this receiver implements, as INFO lists them. */
export const OFFERED_CAPABILITIES = ['query', 'report', 'delete'] as const;

export interface InfoBody {
  message: InfoMessage;
  truncated: boolean;
  /** Refs the repository has (listed or not). */
  total: number;
}

function policyVariant(policy: InfoPolicy): Variant | null {
  const p = new Map<string, Variant>();
  if (policy.signVerify.length > 0) p.set('sign-verify', new Variant('as', [...policy.signVerify]));
  if (policy.gpgVerify) p.set('gpg-verify', new Variant('b', true));
  if (policy.allowForce !== undefined) p.set('force', new Variant('b', policy.allowForce));
  if (policy.refPermissions !== undefined) {
    p.set('ref-permissions', new Variant('a{sas}', new Map(Object.entries(policy.refPermissions).map(([k, v]) => [k, [...v]]))));
  }
  if (policy.collectionId !== undefined) p.set('collection-id', new Variant('s', policy.collectionId));
  if (policy.recommit === true) p.set('recommit', new Variant('b', true));
  return p.size === 0 ? null : new Variant('a{sv}', p);
}

function build(mode: number, refs: [string, string][], extensions: boolean, truncated: boolean, policy?: InfoPolicy): InfoMessage {
  const extra = new Map<string, Variant>();
  if (extensions) extra.set('capabilities', new Variant('as', [...OFFERED_CAPABILITIES]));
  const p = extensions && policy !== undefined ? policyVariant(policy) : null;
  if (p !== null) extra.set('policy', p);
  if (truncated) extra.set('refs-truncated', new Variant('b', true));
  return { type: 'INFO', mode, refs: new Map(refs), extra };
}

function fits(m: InfoMessage): boolean {
  try {
    return encodeInfo(m).length <= MAX_BODY_SIZE;
  } catch (e) {
    if (e instanceof WireError && e.code === 'WIRE_BODY_TOO_LARGE') return false;
    throw e;
  }
}

/**
 * INFO for these refs: all of them, or the longest name-ordered prefix that
 * fits one body. Refs give way to the policy (a pusher with `query` asks for
 * the refs left out), except ref permissions too large to fit with no ref at
 * all: those are left out, so the pusher predicts nothing about them.
 */
export function infoBody(mode: number, refs: ReadonlyMap<string, string>, extensions: boolean, advertised?: InfoPolicy): InfoBody {
  let policy = advertised;
  if (policy?.refPermissions !== undefined && !fits(build(mode, [], extensions, true, policy))) {
    const { refPermissions: _dropped, ...rest } = policy;
    policy = rest;
  }
  const all = build(mode, [...refs], extensions, false, policy);
  if (fits(all)) return { message: all, truncated: false, total: refs.size };
  const sorted = [...refs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // Binary search for the largest prefix that fits (the size grows with the
  // count); no entry is smaller than 66 bytes, so the answer is below 1,000.
  let lo = 0;
  let hi = Math.min(sorted.length, Math.ceil(MAX_BODY_SIZE / 66));
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(build(mode, sorted.slice(0, mid), extensions, true, policy))) lo = mid;
    else hi = mid - 1;
  }
  return { message: build(mode, sorted.slice(0, lo), extensions, true, policy), truncated: true, total: refs.size };
}

/** ANSWER to one QUERY, from the store and the refs alone. */
export async function answerQuery(repo: Repo, q: Pick<QueryMessage, 'objects' | 'refs'>): Promise<AnswerMessage> {
  const have: boolean[] = [];
  for (const name of q.objects) {
    let held = false;
    try {
      const o = parsePushedName(name);
      held = repo.held.has(o.checksum, o.type);
    } catch {
      held = false; // a name we cannot parse is never held
    }
    have.push(held);
  }
  const refs = new Map<string, string>();
  for (const name of q.refs) {
    let c: string | null = null;
    try {
      c = readRef(repo, name);
    } catch {
      c = null;
    }
    if (c !== null) refs.set(name, c);
  }
  return { type: 'ANSWER', have, refs, extra: new Map() };
}
