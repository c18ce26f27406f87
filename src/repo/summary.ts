/**
 * The repository `summary` file (spec/ostree-format.md §6.1, §6.2).
 *
 *   summary = (a(s(taya{sv}))a{sv})
 *   part 0: one entry per ref under refs/heads, sorted by strcmp of the name:
 *           (name, (size of the .commit file as t, host order = LE,
 *                   32-byte commit checksum,
 *                   {ostree.commit.version: s   if the commit has `version` (s),
 *                    ostree.commit.timestamp: t  big-endian}))
 *   part 1: {ostree.summary.mode: s, ostree.summary.last-modified: t BE (now),
 *            ostree.summary.tombstone-commits: b, ostree.summary.indexed-deltas: b true,
 *            ostree.summary.collection-id: s            with [core] collection-id,
 *            ostree.summary.collection-map: a{sa(s(taya{sv}))}  with refs/mirrors refs}
 *   Both `a{sv}` maps are in GVariantDict order (glib-dict-order.ts).
 *   refs/remotes is never listed.
 *
 * Clients resolve refs from the summary whenever one exists, so a receiver
 * that moves refs must rewrite it in the same publish step, and must not
 * leave a `summary.sig` that no longer matches. Not produced here (so a
 * repository using them keeps needing `ostree summary -u`): static deltas
 * (`ostree.static-deltas`), the `ostree-metadata` commit that `summary -u`
 * makes in a repository with a collection id, and `--add-metadata` keys.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { RepoError } from '../errors.js';
import { encode, Variant, type GVValue } from '../gvariant/index.js';
import { fsyncDir, replaceFileDurableSync } from './fsutil.js';
import { glibDictOrder } from './glib-dict-order.js';
import { decodeCommit, readMetadataFile } from './metadata.js';
import { checksumToBytes } from './object-names.js';
import { listRefs } from './refs.js';
import type { KeyFile } from './config.js';
import type { Repo, RepoMode } from './repo.js';

export const SUMMARY_TYPE = '(a(s(taya{sv}))a{sv})';
export const SUMMARY_FILE = 'summary';
export const SUMMARY_SIG_FILE = 'summary.sig';

/** `ostree_repo_mode_to_string`: what `ostree.summary.mode` holds. */
const MODE_STRING: Readonly<Record<RepoMode, string>> = {
  bare: 'bare',
  archive: 'archive-z2',
  'bare-user': 'bare-user',
  'bare-user-only': 'bare-user-only',
  'bare-split-xattrs': 'bare-split-xattrs',
};

export interface SummaryOptions {
  /** The clock for `ostree.summary.last-modified`; default the real time. */
  now?: () => Date;
}

export interface SummaryState {
  hasSummary: boolean;
  hasSignature: boolean;
}

/** What the receiver checks before accepting an update (see assertSummaryWritable). */
export function summaryState(repo: Repo): SummaryState {
  return { hasSummary: existsSync(repo.resolve(SUMMARY_FILE)), hasSignature: existsSync(repo.resolve(SUMMARY_SIG_FILE)) };
}

/**
 * Refuses up front (REPO_SUMMARY_SIGNED) when the repository has a signed
 * summary that this implementation cannot re-sign: updating refs would leave
 * clients a summary that is either stale or unsigned. Call before staging.
 */
export function assertSummaryWritable(repo: Repo, opts: { canSign?: boolean; dropSignature?: boolean } = {}): SummaryState {
  const state = summaryState(repo);
  if (state.hasSignature && opts.canSign !== true && opts.dropSignature !== true) {
    throw new RepoError(
      'REPO_SUMMARY_SIGNED',
      `${repo.path} has a signed summary (summary.sig) and no signing key is configured; refusing to update refs`,
      { path: repo.path },
    );
  }
  return state;
}

function swap64(v: bigint): bigint {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b.readBigUInt64BE();
}

/** strcmp on the UTF-8 bytes (JS string order differs for astral characters). */
function strcmp(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Reads a ref's commit object (its bytes as stored); REPO_OBJECT_MISSING when absent. */
export type CommitBytesReader = (ref: string, checksum: string) => Promise<Uint8Array>;

export function diskCommitReader(repo: Repo): CommitBytesReader {
  return async (name, checksum) => {
    const path = repo.resolve('objects', checksum.slice(0, 2), `${checksum.slice(2)}.commit`);
    try {
      return await readMetadataFile(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new RepoError('REPO_OBJECT_MISSING', `ref ${name} points to commit ${checksum}, which is not in the repository`, { ref: name, checksum });
      }
      throw e;
    }
  };
}

async function refEntry(read: CommitBytesReader, name: string, checksum: string): Promise<GVValue> {
  const bytes = await read(name, checksum);
  const commit = decodeCommit(bytes);
  const meta = new Map<string, Variant>();
  const version = commit.metadata.get('version');
  const values: Record<string, Variant> = {
    // The commit's own big-endian bytes, copied as they are.
    'ostree.commit.timestamp': new Variant('t', swap64(commit.timestamp)),
  };
  if (version !== undefined && version.type === 's') values['ostree.commit.version'] = version;
  for (const key of glibDictOrder(Object.keys(values))) meta.set(key, values[key] as Variant);
  return [name, [BigInt(bytes.byteLength), checksumToBytes(checksum), meta]];
}

async function refMap(read: CommitBytesReader, refs: Array<[string, string]>): Promise<GVValue[]> {
  refs.sort((a, b) => strcmp(a[0], b[0]));
  const entries: GVValue[] = [];
  for (const [name, checksum] of refs) entries.push(await refEntry(read, name, checksum));
  return entries;
}

/** GKeyFile booleans: true/false, 1/0. */
function configBool(config: KeyFile, key: string): boolean {
  const v = config.getString('core', key);
  return v === 'true' || v === '1';
}

/** What a summary is made of, wherever the repository lives (a directory, a bucket). */
export interface SummarySource {
  mode: RepoMode;
  config: KeyFile;
  /** refs/heads: [name, commit checksum]. */
  heads: Array<[string, string]>;
  /** refs/mirrors: [collection-id/name, commit checksum]. */
  mirrors: Array<[string, string]>;
  readCommit: CommitBytesReader;
}

/** The summary bytes `ostree summary -u` would write for this repository now. */
export async function buildSummary(repo: Repo, opts: SummaryOptions = {}): Promise<Uint8Array> {
  return buildSummaryFrom(
    { mode: repo.mode, config: repo.config, heads: [...listRefs(repo, 'heads')], mirrors: [...listRefs(repo, 'mirrors')], readCommit: diskCommitReader(repo) },
    opts,
  );
}

/** The summary bytes for the refs and config of `source`. */
export async function buildSummaryFrom(source: SummarySource, opts: SummaryOptions = {}): Promise<Uint8Array> {
  const heads = await refMap(source.readCommit, [...source.heads]);

  // refs/mirrors/<collection-id>/<ref>: refs of other collections, one map per collection.
  const byCollection = new Map<string, Array<[string, string]>>();
  for (const [path, checksum] of source.mirrors) {
    const slash = path.indexOf('/');
    if (slash < 0) continue; // a file directly in refs/mirrors names no collection
    const id = path.slice(0, slash);
    const list = byCollection.get(id) ?? [];
    list.push([path.slice(slash + 1), checksum]);
    byCollection.set(id, list);
  }
  const collections = new Map<string, GVValue[]>();
  for (const id of [...byCollection.keys()].sort(strcmp)) collections.set(id, await refMap(source.readCommit, byCollection.get(id) ?? []));

  const nowSeconds = BigInt(Math.floor((opts.now?.() ?? new Date()).getTime() / 1000));
  // Insertion order matters where GHashTable buckets collide: last-modified and
  // tombstone-commits do, and ostree's output shows last-modified went in first.
  const values: Record<string, Variant> = {
    'ostree.summary.last-modified': new Variant('t', swap64(nowSeconds)),
    'ostree.summary.mode': new Variant('s', MODE_STRING[source.mode]),
    'ostree.summary.tombstone-commits': new Variant('b', configBool(source.config, 'tombstone-commits')),
    'ostree.summary.indexed-deltas': new Variant('b', true),
  };
  const collectionId = source.config.getString('core', 'collection-id');
  if (collectionId !== undefined && collectionId !== '') values['ostree.summary.collection-id'] = new Variant('s', collectionId);
  if (collections.size > 0) values['ostree.summary.collection-map'] = new Variant('a{sa(s(taya{sv}))}', collections as Map<GVValue, GVValue>);
  const meta = new Map<string, Variant>();
  for (const key of glibDictOrder(Object.keys(values))) meta.set(key, values[key] as Variant);

  return encode(SUMMARY_TYPE, [heads, meta], 'le');
}

export interface WriteSummaryOptions extends SummaryOptions {
  /**
   * Delete an existing `summary.sig`, which the new summary would no longer
   * match. Without it, a signed repository is refused (REPO_SUMMARY_SIGNED).
   */
  dropSignature?: boolean;
}

export interface WriteSummaryResult {
  bytes: Uint8Array;
  droppedSignature: boolean;
}

/**
 * Regenerates `summary` atomically: a temporary file in the repository root,
 * fsynced, renamed over `summary`, directory fsynced; a reader sees the old
 * file or the new one, never a mix. A stale `summary.sig` is removed first
 * (when allowed), so no moment shows a signature beside a summary it does not
 * cover: a verifying client sees at worst a missing signature.
 */
export async function writeSummary(repo: Repo, opts: WriteSummaryOptions = {}): Promise<WriteSummaryResult> {
  const state = assertSummaryWritable(repo, opts.dropSignature === undefined ? {} : { dropSignature: opts.dropSignature });
  const bytes = await buildSummary(repo, opts);
  try {
    if (state.hasSignature) {
      try {
        unlinkSync(repo.resolve(SUMMARY_SIG_FILE));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      fsyncDir(repo.path);
    }
    replaceFileDurableSync(repo.resolve(SUMMARY_FILE), bytes, 0o644);
  } catch (e) {
    throw new RepoError('REPO_SUMMARY_WRITE_FAILED', `${repo.path}: cannot write summary: ${(e as Error).message}`, { path: repo.path }, { cause: e });
  }
  return { bytes, droppedSignature: state.hasSignature };
}
