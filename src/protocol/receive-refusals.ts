/**
 * The receiver's refusals, worded for the person at the pushing end: each
 * says what is wrong and what to do about it. STATUS carries the message;
 * the code stays stable for programs (spec/errors.json).
 */
import { ProtocolError, RepoError } from '../errors.js';
import type { RepoMode } from '../repo/repo.js';
import { ZERO_CHECKSUM } from '../repo/refs.js';

const show = (c: string): string => (c === ZERO_CHECKSUM ? 'absent' : c);

/** A ref is not where the UPDATE (or the session so far) expected it. */
export function refMoved(ref: string, actual: string, expected: string): RepoError {
  return new RepoError(
    'REPO_REF_CONFLICT',
    `ref ${ref} is ${actual === ZERO_CHECKSUM ? 'absent' : `at ${actual}`}, not ${show(expected)}: it changed since this push began; fetch, check and push again`,
    { name: ref, expected, actual },
  );
}

export function notArchive(path: string, mode: RepoMode): RepoError {
  return new RepoError(
    'REPO_UNSUPPORTED_MODE',
    `${path} is a ${mode} repository; ostree-receive only accepts pushes into archive repositories (ostree init --mode=archive)`,
    { path, mode },
  );
}

export function unchanged(ref: string, commit: string): ProtocolError {
  return new ProtocolError('PROTOCOL_BAD_MESSAGE', `UPDATE: ref ${ref} is already at ${commit}; leave it out of the update`, { ref, commit });
}

/** STATUS messages are capped (spec/messages/status.schema.json: senders truncate to 4096). */
export function statusText(message: string): string {
  const oneLine = message.replace(/\s*\n\s*/g, ' ');
  return oneLine.length <= 4096 ? oneLine : `${oneLine.slice(0, 4093)}...`;
}
