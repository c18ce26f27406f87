/**
 * The ostree-receive configuration file: YAML, validated against
 * spec/receive-config.schema.json.
 *
 * Where, as ostree-receive 1.x looks: $OSTREE_RECEIVE_CONF when set and
 * non-empty, alone (then it must exist: 1.x skips a missing one and runs on
 * defaults, which would silently drop a signature policy); else
 * /etc/ostree/ostree-receive.conf, then $XDG_CONFIG_HOME/ostree/ostree-receive.conf
 * ($XDG_CONFIG_HOME empty, relative or unset: ~/.config), each read when it
 * exists and merged key by key: a top-level key of the later (user) file
 * replaces the earlier's whole (`repos` too, as 1.x does). Each file is
 * validated on its own and errors name it. No file: the defaults (no root,
 * no force, no dry run, no signature policy, every ref allowed).
 *
 * Keys, as the Python ostree-receive names them: `root`, `force`, `dry_run`,
 * `log_level`, and the receive-policy keys of src/policy/policy.ts
 * (`update`, `update_hook`, `ref_permissions`, `sign_*`, `gpg_*`), plus
 * the limits of receive-limits-config.ts (`idle_timeout`, `session_timeout`,
 * `max_push_bytes`, `max_push_objects`, `max_receivers`, `min_free_space`),
 * `repos`: per-repository entries, keyed by path, whose keys replace the
 * top-level ones for that repository (key by key; a list or mapping is
 * replaced whole); when several entries name one repository the first
 * applies, as in 1.x. The policy keys are kept raw here and built into a
 * ReceivePolicy by receivePolicyFor, which loads the key files.
 *
 * `root` confines repositories (resolveRepoPath): a relative path resolves
 * inside it; `..` components are refused outright; the real path (symlinks
 * followed) must be root itself or below it, so neither an absolute path
 * elsewhere nor a symlink pointing out gets through.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type Ajv2020Module from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { createRequire } from 'node:module';
import schema from '../../spec/receive-config.schema.json' with { type: 'json' };
import type * as Yaml from 'yaml';

/**
 * The YAML parser is loaded when there is a file to parse: most receivers
 * run without one, and loading it adds about 25 ms to the start of every push.
 */
function yaml(): typeof Yaml {
  return createRequire(import.meta.url)('yaml') as typeof Yaml;
}
import { OstreePushError, RepoError } from '../errors.js';
import { PolicyError } from '../policy/errors.js';
import { limitsFrom, LIMIT_KEYS, type LimitSettings } from './receive-limits-config.js';
import { buildReceivePolicy, configHome, mergePolicySettings, POLICY_KEYS, type PolicyEnvironment, type ReceivePolicy } from '../policy/policy.js';

export type LogLevel = 'debug' | 'info' | 'warning' | 'error' | 'critical';

/** The settings the CLI itself applies (the policy keys are in `policy`); the limits only when set. */
export interface RepoSettings extends LimitSettings {
  force: boolean;
  dryRun: boolean;
  logLevel: LogLevel;
}

/** The receive-policy keys present in one part of the file, as written (validated by the schema). */
export type RawPolicySettings = Record<string, unknown>;

export interface RepoEntry {
  path: string;
  overrides: Partial<RepoSettings>;
  policy: RawPolicySettings;
}

export interface ReceiveConfig extends RepoSettings {
  /** The last file read (the most specific), or null for the defaults. */
  file: string | null;
  /** Which file set each top-level key, when more than one was read (fileOf). */
  keyFiles?: Readonly<Record<string, string>>;
  root: string | null;
  /** The top-level receive-policy keys. */
  policy: RawPolicySettings;
  repos: RepoEntry[];
}

export const DEFAULT_CONFIG: ReceiveConfig = Object.freeze({
  file: null,
  root: null,
  force: false,
  dryRun: false,
  logLevel: 'info',
  policy: {},
  repos: [],
});

/** The config error type: area "config", codes CONFIG_*. */
export class ConfigError extends OstreePushError {}

type AjvClass = typeof Ajv2020Module.default;
let validator: ValidateFunction | undefined;

/** ajv's compiler, loaded when there is a file to check (as the YAML parser): about 85 files at every start otherwise. */
function ajv2020(): AjvClass {
  const m = createRequire(import.meta.url)('ajv/dist/2020.js') as { default?: AjvClass };
  return m.default ?? (m as unknown as AjvClass);
}

function validate(value: unknown): ErrorObject | undefined {
  validator ??= new (ajv2020())({ allErrors: false, strict: true, allowUnionTypes: true }).compile(schema);
  return validator(value) ? undefined : (validator.errors?.[0] ?? undefined);
}

function keyPath(e: ErrorObject): string {
  const parts = e.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const extra = e.params['additionalProperty'];
  if (typeof extra === 'string') parts.push(extra);
  return parts.length === 0 ? '(top level)' : parts.join('.');
}

function explain(e: ErrorObject): string {
  switch (e.keyword) {
    case 'additionalProperties':
      return 'is not a known key';
    case 'type':
      return `must be ${String(e.params['type']).replace(/,(?=[^,]*$)/, ' or ').replace(/,/g, ', ')}`;
    case 'enum': {
      // Listed once each: log_level accepts both cases, the upper one is shown.
      const all = (e.params['allowedValues'] as unknown[]).filter((v): v is string => typeof v === 'string');
      const shown = all.filter((v) => v === v.toUpperCase() || !all.includes(v.toUpperCase()));
      return shown.length === 1 ? `must be ${String(shown[0])}` : `must be one of ${shown.join(', ')}`;
    }
    default:
      return e.message ?? 'is invalid';
  }
}

export const ETC_CONFIG = '/etc/ostree/ostree-receive.conf';

/** The paths searched, in the order they are applied (a later file's key wins). */
export function configPaths(env: NodeJS.ProcessEnv = process.env, home: string = homedir(), etc: string = ETC_CONFIG): string[] {
  const fromEnv = env['OSTREE_RECEIVE_CONF'];
  if (fromEnv !== undefined && fromEnv !== '') return [fromEnv];
  return [etc, join(configHome(env, home), 'ostree', 'ostree-receive.conf')];
}

/** The file that set a top-level key (for messages), else the last file read. */
export function fileOf(config: ReceiveConfig, key: string): string | null {
  return config.keyFiles?.[key] ?? config.file;
}

function settingsFrom(raw: Record<string, unknown>): Partial<RepoSettings> {
  const out: Partial<RepoSettings> = {};
  if (typeof raw['force'] === 'boolean') out.force = raw['force'];
  if (typeof raw['dry_run'] === 'boolean') out.dryRun = raw['dry_run'];
  if (typeof raw['log_level'] === 'string') out.logLevel = raw['log_level'].toLowerCase() as LogLevel;
  return { ...out, ...limitsFrom(raw) };
}

function policyFrom(raw: Record<string, unknown>): RawPolicySettings {
  const out: RawPolicySettings = {};
  for (const key of POLICY_KEYS) if (key in raw) out[key] = raw[key];
  return out;
}

/** Parses and validates one file's text into its top-level mapping; errors name the file and the key. */
function parseRaw(text: string, file: string): Record<string, unknown> {
  let raw: unknown;
  try {
    // YAML 1.1, as PyYAML reads it: `force: yes` is a boolean in files written for the Python receiver.
    raw = yaml().parse(text, { version: '1.1', uniqueKeys: true, prettyErrors: false });
  } catch (e) {
    const detail = e instanceof yaml().YAMLParseError ? e.message.split('\n')[0] : String(e);
    throw new ConfigError('CONFIG_INVALID', `${file}: not valid YAML: ${detail}`, { file }, { cause: e });
  }
  const err = validate(raw);
  if (err !== undefined) {
    const key = keyPath(err);
    throw new ConfigError('CONFIG_INVALID', `${file}: ${key} ${explain(err)}`, { file, key, keyword: err.keyword });
  }
  const obj = (raw ?? {}) as Record<string, unknown>;
  const root = obj['root'];
  if (typeof root === 'string' && root !== '' && !isAbsolute(root)) {
    throw new ConfigError('CONFIG_INVALID', `${file}: root must be an absolute path, not '${root}'`, { file, key: 'root' });
  }
  return obj;
}

function configFrom(obj: Record<string, unknown>, file: string): ReceiveConfig {
  const root = typeof obj['root'] === 'string' && obj['root'] !== '' ? obj['root'] : null;
  const repos = Object.entries((obj['repos'] ?? {}) as Record<string, Record<string, unknown> | null>).map(([path, o]) => ({
    path,
    overrides: settingsFrom(o ?? {}),
    policy: policyFrom(o ?? {}),
  }));
  return { ...DEFAULT_CONFIG, ...settingsFrom(obj), file, root, policy: policyFrom(obj), repos };
}

/** Parses and validates one file's text; errors name the file and the key. */
export function parseReceiveConfig(text: string, file: string): ReceiveConfig {
  return configFrom(parseRaw(text, file), file);
}

/**
 * Loads the configuration that applies (see the header): every file of
 * configPaths that exists, merged key by key, the later winning; the
 * defaults when none exists. `etc` replaces /etc/ostree/ostree-receive.conf (tests).
 */
export function loadReceiveConfig(env: NodeJS.ProcessEnv = process.env, home: string = homedir(), etc: string = ETC_CONFIG): ReceiveConfig {
  const paths = configPaths(env, home, etc);
  const explicit = env['OSTREE_RECEIVE_CONF'] !== undefined && env['OSTREE_RECEIVE_CONF'] !== '';
  const merged: Record<string, unknown> = {};
  const keyFiles: Record<string, string> = {};
  let last: string | null = null;
  for (const file of paths) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && !explicit) continue;
      const why = code === 'ENOENT' ? 'no such file (named by OSTREE_RECEIVE_CONF)' : (e as Error).message;
      throw new ConfigError('CONFIG_UNREADABLE', `${file}: cannot read the configuration: ${why}`, { file }, { cause: e });
    }
    for (const [key, value] of Object.entries(parseRaw(text, file))) {
      merged[key] = value;
      keyFiles[key] = file;
    }
    last = file;
  }
  if (last === null) return { ...DEFAULT_CONFIG };
  const config = configFrom(merged, last);
  return Object.values(keyFiles).some((f) => f !== last) ? { ...config, keyFiles } : config;
}

function outside(config: ReceiveConfig, requested: string, why: string): ConfigError {
  return new ConfigError('CONFIG_REPO_OUTSIDE_ROOT', `repository '${requested}' is outside the configured root ${String(config.root)}: ${why}`, {
    requested,
    root: config.root,
  });
}

function within(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * The real path of the repository a client asked for, confined to `root`
 * when one is configured. Throws CONFIG_REPO_OUTSIDE_ROOT for an escape and
 * returns the resolved path of one that does not exist (opening it reports that).
 */
export function resolveRepoPath(config: ReceiveConfig, requested: string, cwd: string = process.cwd()): string {
  if (requested === '') throw new RepoError('REPO_NOT_FOUND', 'the repository path is empty', { requested });
  const root = config.root;
  if (root !== null && requested.split('/').includes('..')) throw outside(config, requested, "'..' is not allowed");
  const base = root ?? cwd;
  const wanted = resolve(base, requested);
  let realRoot: string | undefined;
  if (root !== null) {
    try {
      realRoot = realpathSync(root);
    } catch (e) {
      throw new ConfigError('CONFIG_INVALID', `${String(fileOf(config, 'root'))}: root ${root} does not exist or cannot be resolved`, { file: fileOf(config, 'root'), key: 'root' }, { cause: e });
    }
    // Checked before touching the path, so nothing outside root is probed.
    if (!within(resolve(root), wanted) && !within(realRoot, wanted)) throw outside(config, requested, 'not below it');
  }
  // A path that does not exist yet is resolved through its deepest existing
  // ancestor, so a symlinked parent cannot lead out either; opening it then
  // fails with the repository layer's own "not a repository" error.
  let existing = wanted;
  const rest: string[] = [];
  let real: string;
  for (;;) {
    try {
      real = join(realpathSync(existing), ...rest);
      break;
    } catch (e) {
      const parent = dirname(existing);
      if (parent === existing) throw new RepoError('REPO_NOT_FOUND', `repository '${requested}' cannot be resolved`, { requested }, { cause: e });
      rest.unshift(basename(existing));
      existing = parent;
    }
  }
  if (realRoot !== undefined && !within(realRoot, real)) throw outside(config, requested, `it resolves to ${real} (a symlink leads out)`);
  return real;
}

/** The `repos` entry that names this repository (its real path): the first in file order, as 1.x takes it (none or one). */
function entriesFor(config: ReceiveConfig, realRepoPath: string, cwd: string): RepoEntry[] {
  const first = config.repos.find((entry) => {
    try {
      return realpathSync(resolve(config.root ?? cwd, entry.path)) === realRepoPath;
    } catch {
      return false; // an entry for a repository that does not exist (yet) applies to nothing
    }
  });
  return first === undefined ? [] : [first];
}

/** The settings for one repository (its real path): the top-level values, then its `repos` entry. */
export function settingsFor(config: ReceiveConfig, realRepoPath: string, cwd: string = process.cwd()): RepoSettings {
  const out: RepoSettings = { force: config.force, dryRun: config.dryRun, logLevel: config.logLevel };
  for (const { field } of LIMIT_KEYS) if (config[field] !== undefined) Object.assign(out, { [field]: config[field] });
  for (const entry of entriesFor(config, realRepoPath, cwd)) Object.assign(out, entry.overrides);
  return out;
}

/** The raw receive-policy keys for one repository: the top level, replaced key by key by its `repos` entry. */
export function policySettingsFor(config: ReceiveConfig, realRepoPath: string, cwd: string = process.cwd()): RawPolicySettings {
  return entriesFor(config, realRepoPath, cwd).reduce((merged, entry) => mergePolicySettings(merged, entry.policy), mergePolicySettings(config.policy, null));
}

/**
 * The receive policy for one repository, its key files loaded. A setting the
 * schema cannot judge (a ref pattern, a key file, a missing default key
 * file) fails here as the policy's own error, one line, prefixed with the
 * configuration file and, when a `repos` entry set the key, that entry.
 */
export function receivePolicyFor(config: ReceiveConfig, realRepoPath: string, env: PolicyEnvironment = {}, cwd: string = process.cwd()): ReceivePolicy {
  try {
    return buildReceivePolicy(policySettingsFor(config, realRepoPath, cwd), env);
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    // A policy error about one setting names it in data.key, and its message opens with it ("sign_verify is on but…").
    const key = typeof e.data['key'] === 'string' ? e.data['key'] : undefined;
    const set = key !== undefined && (POLICY_KEYS as readonly string[]).includes(key) ? entriesFor(config, realRepoPath, cwd).filter((r) => key in r.policy) : [];
    const entry = set.at(-1);
    const file = fileOf(config, entry === undefined && key !== undefined ? key : 'repos');
    const where = `${file ?? '(defaults)'}: ${entry === undefined ? '' : `repos.${entry.path}.`}`;
    throw new PolicyError(e.code, `${where}${e.message}`.replace(/\s*\n\s*/g, ' '), { ...e.data, file }, { cause: e });
  }
}
