/**
 * The public surface of the repository layer: what code outside src/ (the
 * simulator, the conformance suite, the test kit, tools and benchmarks) may
 * use. Modules inside src/ import the module they need directly; everything
 * else imports from here only (src/layering.test.ts checks it), so the
 * modules behind it can be split, merged or renamed freely.
 */
export { Repo, type RepoMode } from './repo.js';
export { openRepoForWriting } from './open-for-writing.js';
export { listRefs, readRef, ZERO_CHECKSUM } from './refs.js';
export { objectBasename, objectRelPath, parseObjectBasename, parseObjectRelPath, type ObjectName, type ObjectType } from './object-names.js';
export { decodeCommit, decodeDirtree, encodeCommitmeta, readMetadataFile, type Commit, type Dirtree } from './metadata.js';
export { writeFilez } from './filez.js';
export { closure, difference, parentChain } from './traverse.js';
export { ObjectSet } from './object-set.js';
export { ObjectList } from './object-list.js';
export { publicationLevels } from './publish-levels.js';
export { createObjectVerifier, verifyObject, verifyObjectFile, verifyStream } from './verify.js';
export { commitTree, initArchiveRepo, setRef, type DirNode, type FileNode, type TreeNode, type XattrRecord } from './builder.js';
/** The names a receive leaves while it runs, which the simulator's invariants look for when it ends. */
export { LOCK_REL, acquireLock } from './lock.js';
export { JOURNAL_REL } from './ref-journal.js';
export { STAGING_PREFIX } from './staging.js';
/** A summary from given refs, as `ostree summary -u` writes it (the bucket simulator's expected summaries). */
export { buildSummaryFrom } from './summary.js';
