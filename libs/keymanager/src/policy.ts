/**
 * Who may name what in a KeyManager config section. A managed deployment's section is written
 * by a tenant but applied by the operator's signer, on the operator's host: its file paths
 * (`dir`, `kekPath`, `tokenPath`, `caCertPath`) must stay inside directories the operator
 * configured, and its webhook URL must be one the operator allowed. A self-hosted signer
 * applies sections of its own operator, who keeps full control (`unrestricted`).
 *
 * Two checks: `keyManagerPolicyProblems` is lexical (no I/O; the registry validates with it
 * before storing, the signer again before applying), `confinedPathProblems` resolves symbolic
 * links on the signer host (the signer, right before it applies a section).
 */
import { promises as fs } from 'node:fs';
import { dirname, isAbsolute, join, posix } from 'node:path';
import type { KeyManagerConfig } from './config.js';

/** The operator's rules for tenant-written sections. */
export type KeyManagerPolicy =
  /** The section's author is the operator (self-hosted signer): nothing is confined. */
  | { readonly kind: 'unrestricted' }
  | {
      readonly kind: 'confined';
      /**
       * Directories that file paths must lie in; `{tenant}` in an entry stands for the
       * section's organization id, so tenants sharing a root cannot reach each other's files.
       * Empty: every file path option is refused.
       */
      readonly pathRoots: readonly string[];
      /**
       * URL prefixes a webhook URL must start with (scheme, host and port equal, path under
       * the prefix's path). Empty: webhooks are refused.
       */
      readonly webhookUrlPrefixes: readonly string[];
    };

/** A policy breach: the option (`key`) and why. */
export interface KeyManagerPolicyProblem {
  readonly key: string;
  readonly code: 'CONFIG_NOT_ALLOWED';
  readonly message: string;
}

/** Options of a section that name files on the host. */
export const KEY_MANAGER_PATH_OPTIONS = ['dir', 'kekPath', 'tokenPath', 'caCertPath'] as const;

/** The placeholder of the tenant in a path root. */
const TENANT_PLACEHOLDER = '{tenant}';

function problem(key: string, message: string): KeyManagerPolicyProblem {
  return { key, code: 'CONFIG_NOT_ALLOWED', message };
}

/** The non-empty entries of a comma-separated list. */
function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/**
 * Parses the operator's list of path roots (comma-separated absolute directories, `{tenant}`
 * allowed as a whole path segment). Throws a message naming the bad entry.
 */
export function parsePathRoots(raw: string): readonly string[] {
  const roots = splitList(raw);
  for (const root of roots) {
    if (!isAbsolute(root) || posix.normalize(root) !== root || root === '/' || root.endsWith('/')) {
      throw new Error(`path root ${root} must be an absolute, normalized directory other than /`);
    }
    if (root.split('/').some((segment) => segment.includes(TENANT_PLACEHOLDER) && segment !== TENANT_PLACEHOLDER)) {
      throw new Error(`path root ${root}: ${TENANT_PLACEHOLDER} must be a whole path segment`);
    }
  }
  return Object.freeze(roots);
}

/** Parses the operator's webhook URL allow-list (comma-separated https:// URL prefixes). */
export function parseUrlPrefixes(raw: string): readonly string[] {
  const prefixes = splitList(raw);
  for (const prefix of prefixes) {
    let url: URL;
    try {
      url = new URL(prefix);
    } catch {
      throw new Error(`webhook URL prefix ${prefix} is not a URL`);
    }
    if (url.protocol !== 'https:' || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
      throw new Error(`webhook URL prefix ${prefix} must be an https:// URL without credentials, query or fragment`);
    }
  }
  return Object.freeze(prefixes);
}

/** The roots that apply to one organization. */
function rootsFor(pathRoots: readonly string[], tenant: string): string[] {
  return pathRoots.map((root) => root.split('/').map((s) => (s === TENANT_PLACEHOLDER ? tenant : s)).join('/'));
}

function isWithin(path: string, root: string): boolean {
  return path === root || path.startsWith(`${root}/`);
}

/** Whether `url` lies under `prefix`: same origin, path under the prefix's path (segment-wise). */
export function urlUnderPrefix(url: URL, prefix: string): boolean {
  const allowed = new URL(prefix);
  if (url.protocol !== allowed.protocol || url.host !== allowed.host) return false;
  const base = allowed.pathname.endsWith('/') ? allowed.pathname : `${allowed.pathname}/`;
  return url.pathname === allowed.pathname || url.pathname.startsWith(base);
}

/** The lexical problems of one file path option. */
function pathProblem(key: string, value: string, roots: readonly string[]): KeyManagerPolicyProblem | undefined {
  if (value.includes('\0')) return problem(key, 'must not contain NUL');
  if (!isAbsolute(value)) return problem(key, 'must be an absolute path');
  if (posix.normalize(value) !== value || value.endsWith('/') || value.split('/').includes('..')) {
    return problem(key, 'must be a normalized path (no "..", "." or repeated "/")');
  }
  if (roots.length === 0) return problem(key, 'file paths on the signer host are not allowed for managed deployments');
  if (!roots.some((root) => isWithin(value, root))) return problem(key, `must lie inside ${roots.join(' or ')}`);
  return undefined;
}

/**
 * The lexical policy breaches of a parsed section written by organization `tenant` (empty when
 * it may be applied, or when the policy is unrestricted).
 */
export function keyManagerPolicyProblems(config: KeyManagerConfig, policy: KeyManagerPolicy, tenant: string): KeyManagerPolicyProblem[] {
  if (policy.kind === 'unrestricted') return [];
  const problems: KeyManagerPolicyProblem[] = [];
  const roots = rootsFor(policy.pathRoots, tenant);
  const options = config as unknown as Readonly<Record<string, unknown>>;
  for (const key of KEY_MANAGER_PATH_OPTIONS) {
    const value = options[key];
    if (typeof value !== 'string') continue;
    const found = pathProblem(key, value, roots);
    if (found !== undefined) problems.push(found);
  }
  if (config.kind === 'webhook') {
    if (config.allowInsecureForTests === true) problems.push(problem('allowInsecureForTests', 'is not allowed for managed deployments'));
    let url: URL | undefined;
    try {
      url = new URL(config.webhookURL);
    } catch {
      problems.push(problem('webhookURL', 'is not a URL'));
    }
    if (url !== undefined) {
      if (policy.webhookUrlPrefixes.length === 0) problems.push(problem('webhookURL', 'webhook key managers are not allowed for managed deployments'));
      else if (!policy.webhookUrlPrefixes.some((prefix) => urlUnderPrefix(url, prefix))) {
        problems.push(problem('webhookURL', `must start with one of the allowed webhook URLs (${policy.webhookUrlPrefixes.join(', ')})`));
      }
    }
  }
  return problems;
}

/** The real path of `path`'s deepest existing ancestor, with the missing rest appended. */
async function resolveDeepest(path: string): Promise<string> {
  const missing: string[] = [];
  let current = path;
  for (;;) {
    try {
      return join(await fs.realpath(current), ...missing.reverse());
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || current === dirname(current)) throw error;
      missing.push(current.slice(dirname(current).length + 1));
      current = dirname(current);
    }
  }
}

/**
 * The breaches that only the signer host can see: a path (or one of its existing ancestors)
 * that is a symbolic link resolving outside the roots. Run right before the section is applied;
 * the lexical problems are included.
 */
export async function confinedPathProblems(config: KeyManagerConfig, policy: KeyManagerPolicy, tenant: string): Promise<KeyManagerPolicyProblem[]> {
  const problems = keyManagerPolicyProblems(config, policy, tenant);
  if (policy.kind === 'unrestricted' || problems.length > 0) return problems;
  const roots = await Promise.all(rootsFor(policy.pathRoots, tenant).map((root) => resolveDeepest(root)));
  const options = config as unknown as Readonly<Record<string, unknown>>;
  for (const key of KEY_MANAGER_PATH_OPTIONS) {
    const value = options[key];
    if (typeof value !== 'string') continue;
    let real: string;
    try {
      real = await resolveDeepest(value);
    } catch (error) {
      problems.push(problem(key, `cannot be resolved (${(error as NodeJS.ErrnoException).code ?? 'error'})`));
      continue;
    }
    if (!roots.some((root) => isWithin(real, root))) problems.push(problem(key, 'resolves (through a symbolic link) outside the allowed directories'));
  }
  return problems;
}
