/**
 * The receive policy assembled from configuration: the Python ostree-receive's
 * keys, read from the global settings and then a repository's `repos` entry
 * (the entry wins key by key), plus `ref_permissions`.
 *
 *   sign_verify: bool (false)        verify ed25519 signatures of commits to publish
 *   sign_type: 'ed25519'             the only type ostree implements besides a test dummy
 *   sign_trustedkeyfile: path        trusted public keys; null/'': the first of
 *                                    /etc/ostree/ostree-receive-trustedkeyfile.ed25519,
 *                                    $XDG_CONFIG_HOME/ostree/ostree-receive-trustedkeyfile.ed25519
 *                                    ($XDG_CONFIG_HOME unset, empty or relative: ~/.config), as 1.x
 *                                    looks; unlike 1.x, ostree's system-wide trusted keys are not
 *                                    added (they are there to verify OS updates, not pushes)
 *   sign_keyfiles: [path]            secret keys: sign each received commit and the summary
 *   gpg_verify: bool (false)         verify GPG signatures (gpgv)
 *   gpg_trustedkeys: path            keyring; null/'': the first of
 *                                    /etc/ostree/ostree-receive-trustedkeys.gpg,
 *                                    $XDG_CONFIG_HOME/ostree/ostree-receive-trustedkeys.gpg
 *                                    (same rule; /usr/share/ostree/trusted.gpg.d is not added)
 *   gpg_sign: [key id]               sign each received commit and the summary (gpg)
 *   gpg_homedir: path                GnuPG home holding those keys
 *   update: bool (true)              update the repository metadata after refs move, as 1.x:
 *                                    without update_hook, write `summary` (created when there
 *                                    was none; signed when signing keys are set); with it, run
 *                                    the hook instead. false: neither (the summary is left as
 *                                    it is, stale until something else rewrites it)
 *   update_hook: string              replaces the summary update (update-hook.ts); runs only
 *                                    when `update` is on
 *   ref_permissions: {pattern: [action]}  ref-permissions.ts; unset = allow all
 *   recommit: bool (false)           re-commit each pushed commit on the ref's current one,
 *                                    as 1.x always does (src/protocol/receive-recommit.ts)
 *
 * Keys are loaded when the policy is built, before the session starts, so a
 * bad key file ends the receiver with POLICY_KEY_INVALID before anything is
 * received.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { SignSettings, VerifySettings } from './commit-signatures.js';
import { loadPublicKeys, loadSecretKeys } from './ed25519.js';
import { PolicyError } from './errors.js';
import { RefPermissions } from './ref-permissions.js';

export const POLICY_KEYS = [
  'sign_verify',
  'sign_type',
  'sign_trustedkeyfile',
  'sign_keyfiles',
  'gpg_verify',
  'gpg_trustedkeys',
  'gpg_sign',
  'gpg_homedir',
  'update',
  'update_hook',
  'ref_permissions',
  'recommit',
] as const;

export interface ReceivePolicy {
  verify: VerifySettings;
  sign: SignSettings;
  /** Regenerate the summary after refs move (default true). */
  update: boolean;
  updateHook: string | null;
  refPermissions: RefPermissions;
  /** Re-commit each pushed commit as 1.x does (src/protocol/receive-recommit.ts); default false. */
  recommit: boolean;
}

type Raw = Record<string, unknown>;

/** A bad setting: the message opens with what is wrong, `data.key` names the setting (the top-level key). */
function bad(key: string, why: string, data: Record<string, unknown> = {}): PolicyError {
  return new PolicyError('POLICY_CONFIG_INVALID', `${key} ${why}`, { key: key.split('.')[0], ...data });
}

function bool(raw: Raw, key: string, dflt: boolean): boolean {
  const v = raw[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw bad(key, 'must be true or false');
  return v;
}

function str(raw: Raw, key: string): string | null {
  const v = raw[key];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw bad(key, 'must be a string');
  return v;
}

/** A list of strings; a single string is taken as a one-element list, as PyYAML users write it. */
function list(raw: Raw, key: string): string[] {
  const v = raw[key];
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return v === '' ? [] : [v];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) throw bad(key, 'must be a list of non-empty strings');
  return v as string[];
}

function permissions(raw: Raw): RefPermissions {
  const v = raw['ref_permissions'];
  if (v === undefined || v === null) return new RefPermissions(null);
  if (typeof v !== 'object' || Array.isArray(v)) throw bad('ref_permissions', 'must be a mapping of ref pattern to a list of actions');
  const rules: Record<string, string[]> = {};
  for (const [pattern, actions] of Object.entries(v as Raw)) {
    if (!Array.isArray(actions) || actions.some((a) => typeof a !== 'string')) throw bad(`ref_permissions.${pattern}`, 'must be a list of actions (create, move, force, delete)', { pattern });
    rules[pattern] = actions as string[];
  }
  return new RefPermissions(rules);
}

/** The global settings overlaid with one repository's entry, policy keys only. */
export function mergePolicySettings(global: Raw | null | undefined, repo: Raw | null | undefined): Raw {
  const out: Raw = {};
  for (const key of POLICY_KEYS) {
    if (repo !== null && repo !== undefined && key in repo) out[key] = repo[key];
    else if (global !== null && global !== undefined && key in global) out[key] = global[key];
  }
  return out;
}

export interface PolicyEnvironment {
  home?: string;
  /** Where the default trusted-key files are looked for (tests). */
  etc?: string;
  /** The environment read for XDG_CONFIG_HOME (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** $XDG_CONFIG_HOME as the XDG rule reads it (unset, empty or relative: ignored), else ~/.config. */
export function configHome(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const xdg = env['XDG_CONFIG_HOME'];
  return xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, '.config');
}

function firstExisting(paths: string[]): string | null {
  return paths.find((p) => existsSync(p)) ?? null;
}

/** Builds the policy (loading every key file) from merged settings. */
export function buildReceivePolicy(raw: Raw, env: PolicyEnvironment = {}): ReceivePolicy {
  const userDir = join(configHome(env.env, env.home ?? homedir()), 'ostree');
  const etc = env.etc ?? '/etc/ostree';
  const signType = str(raw, 'sign_type') ?? 'ed25519';
  const signVerify = bool(raw, 'sign_verify', false);
  const keyfiles = list(raw, 'sign_keyfiles');
  if (signType !== 'ed25519' && (signVerify || keyfiles.length > 0)) {
    throw bad('sign_type', `'${signType}' is not supported; only ed25519 (ostree's other type, dummy, is for its own tests)`);
  }
  const verify: VerifySettings = {};
  if (signVerify) {
    const name = `ostree-receive-trustedkeyfile.${signType}`;
    const file = str(raw, 'sign_trustedkeyfile') ?? firstExisting([join(etc, name), join(userDir, name)]);
    if (file === null) throw bad('sign_verify', `is on but sign_trustedkeyfile is not set and neither ${join(etc, name)} nor ${join(userDir, name)} exists`);
    verify.ed25519 = { keys: loadPublicKeys(file), file };
  }
  if (bool(raw, 'gpg_verify', false)) {
    const name = 'ostree-receive-trustedkeys.gpg';
    const keyring = str(raw, 'gpg_trustedkeys') ?? firstExisting([join(etc, name), join(userDir, name)]);
    if (keyring === null) throw bad('gpg_verify', `is on but gpg_trustedkeys is not set and neither ${join(etc, name)} nor ${join(userDir, name)} exists`);
    if (!existsSync(keyring)) throw new PolicyError('POLICY_KEY_INVALID', `gpg_trustedkeys keyring ${keyring} does not exist`, { key: 'gpg_trustedkeys', file: keyring });
    verify.gpg = { keyring };
  }
  const sign: SignSettings = {};
  if (keyfiles.length > 0) sign.ed25519 = keyfiles.flatMap((f) => loadSecretKeys(f));
  const gpgIds = list(raw, 'gpg_sign');
  if (gpgIds.length > 0) {
    const gpgHome = str(raw, 'gpg_homedir');
    sign.gpg = gpgHome === null ? { keyIds: gpgIds } : { keyIds: gpgIds, homedir: gpgHome };
  }
  return { verify, sign, update: bool(raw, 'update', true), updateHook: str(raw, 'update_hook'), refPermissions: permissions(raw), recommit: bool(raw, 'recommit', false) };
}
