// Where tpctl finds its server and token: flags > environment > config file > defaults.
// The config file is YAML with the keys `server` and `token`, at $TPCTL_CONFIG or
// ~/.config/tpctl/config.yaml, written with mode 0600 by `tpctl config set-context`.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { CliError } from './errors.js';

/** The server used when nothing else names one. */
export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** The contents of the config file. */
export interface ConfigFile {
  /** Registry base URL. */
  server?: string;
  /** API token. */
  token?: string;
}

/** Where a resolved setting came from. */
export type SettingSource = 'flag' | 'env' | 'file' | 'default' | 'none';

/** The settings a command runs with. */
export interface Settings {
  /** Registry base URL. */
  server: string;
  /** Where `server` came from. */
  serverSource: SettingSource;
  /** API token, when any. */
  token: string | undefined;
  /** Where `token` came from. */
  tokenSource: SettingSource;
}

const CONFIG_KEYS = new Set(['server', 'token']);

/** The config file path: $TPCTL_CONFIG, else ~/.config/tpctl/config.yaml. */
export function configPath(env: Record<string, string | undefined>, home: string): string {
  const explicit = env['TPCTL_CONFIG'];
  return explicit !== undefined && explicit !== ''
    ? explicit
    : join(home, '.config', 'tpctl', 'config.yaml');
}

/** Parses the config file text; rejects unknown keys and non-string values, naming them. */
export function parseConfigFile(text: string, path: string): ConfigFile {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new CliError(
      'CONFIG_INVALID',
      `${path} is not valid YAML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      {
        cause: error,
      },
    );
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== 'object' || Array.isArray(document))
    throw new CliError(
      'CONFIG_INVALID',
      `${path} must be a mapping with the keys server and token`,
    );
  const config: ConfigFile = {};
  for (const [key, value] of Object.entries(document as Record<string, unknown>)) {
    if (!CONFIG_KEYS.has(key))
      throw new CliError(
        'CONFIG_INVALID',
        `${path}: unknown key "${key}" (expected server, token)`,
      );
    if (value === null || value === undefined) continue;
    if (typeof value !== 'string')
      throw new CliError('CONFIG_INVALID', `${path}: "${key}" must be a string`);
    if (key === 'server') config.server = value;
    else config.token = value;
  }
  if (config.server !== undefined) validateServerUrl(config.server, `${path}: server`);
  return config;
}

/** Checks that a server URL is an absolute http(s) URL. */
export function validateServerUrl(value: string, where: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(
      'INVALID_ARGUMENT',
      `${where} "${value}" is not a URL (e.g. http://127.0.0.1:8080)`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError('INVALID_ARGUMENT', `${where} "${value}" must be an http or https URL`);
  return value;
}

function pick(
  flag: string | undefined,
  env: string | undefined,
  file: string | undefined,
): [string | undefined, SettingSource] {
  if (flag !== undefined && flag !== '') return [flag, 'flag'];
  if (env !== undefined && env !== '') return [env, 'env'];
  if (file !== undefined && file !== '') return [file, 'file'];
  return [undefined, 'none'];
}

/** Resolves server and token: flags > environment (TPCTL_SERVER, TPCTL_TOKEN) > file > default. */
export function resolveSettings(
  flags: { server?: string; token?: string },
  env: Record<string, string | undefined>,
  file: ConfigFile,
): Settings {
  const [server, serverSource] = pick(flags.server, env['TPCTL_SERVER'], file.server);
  const [token, tokenSource] = pick(flags.token, env['TPCTL_TOKEN'], file.token);
  const resolvedServer = server ?? DEFAULT_SERVER;
  const where =
    serverSource === 'flag' ? '--server' : serverSource === 'env' ? 'TPCTL_SERVER' : 'server';
  validateServerUrl(resolvedServer, where);
  return {
    server: resolvedServer,
    serverSource: server === undefined ? 'default' : serverSource,
    token,
    tokenSource,
  };
}

/** Reads the config file; a missing file is an empty config. */
export async function readConfigFile(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError('CONFIG_INVALID', `cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseConfigFile(text, path);
}

/** Merges new values over the current ones (the keys given replace, the others stay). */
export function mergeConfig(current: ConfigFile, update: ConfigFile): ConfigFile {
  const merged: ConfigFile = {};
  const server = update.server ?? current.server;
  const token = update.token ?? current.token;
  if (server !== undefined) merged.server = server;
  if (token !== undefined) merged.token = token;
  return merged;
}

/**
 * Writes the config file with mode 0600 (its directory 0700 when created). The text goes to a
 * fresh 0600 file first and is renamed over the old one, so the token is never readable through
 * an existing file's wider mode and a crash never leaves half a file.
 */
export async function writeConfigFile(
  path: string,
  config: ConfigFile,
  suffix: string,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${suffix}.tmp`;
  try {
    await writeFile(temporary, stringify(config), { mode: 0o600, flag: 'wx' });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new CliError('CONFIG_INVALID', `cannot write ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
