import { readFileSync } from 'node:fs';
import { isBusCredentialsEnv } from '@trustplane/bus';
import { parse as parseYaml } from 'yaml';

/** A configuration value failed validation; `key` names the setting. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly code: 'CONFIG_UNKNOWN_KEY' | 'CONFIG_INVALID' | 'CONFIG_MISSING' | 'CONFIG_FILE_UNREADABLE',
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
  }
}

/** How one setting is read: its environment variable, parser and default. */
export interface Field<T> {
  /** Environment variable holding the value. */
  readonly env: string;
  /** Parses the raw string; throws a message string (or Error) on bad input. */
  readonly parse: (raw: string) => T;
  /** Value when unset; required when absent. */
  readonly default?: T;
  /** Masked in `describeConfig` output. */
  readonly secret?: boolean;
  /** One line for operators. */
  readonly description: string;
}

type Schema = Record<string, Field<unknown>>;
/** The typed, frozen config object a schema produces. */
export type ConfigOf<S extends Schema> = { readonly [K in keyof S]: S[K] extends Field<infer T> ? T : never };

/** Field builders. */
export const field = {
  string(env: string, description: string, options: { default?: string; secret?: boolean; pattern?: RegExp } = {}): Field<string> {
    return {
      env,
      description,
      ...(options.default === undefined ? {} : { default: options.default }),
      ...(options.secret === undefined ? {} : { secret: options.secret }),
      parse: (raw) => {
        if (raw.length === 0) throw new Error('must not be empty');
        if (options.pattern !== undefined && !options.pattern.test(raw)) {
          throw new Error(`must match ${String(options.pattern)}`);
        }
        return raw;
      },
    };
  },
  url(env: string, description: string, options: { default?: string; protocols: readonly string[]; secret?: boolean }): Field<string> {
    return {
      env,
      description,
      ...(options.default === undefined ? {} : { default: options.default }),
      ...(options.secret === undefined ? {} : { secret: options.secret }),
      parse: (raw) => {
        let url: URL;
        try {
          url = new URL(raw);
        } catch {
          throw new Error(`"${redactUrl(raw)}" is not a URL`);
        }
        if (!options.protocols.includes(url.protocol.replace(/:$/, ''))) {
          throw new Error(`protocol must be one of ${options.protocols.join(', ')}`);
        }
        return raw;
      },
    };
  },
  int(env: string, description: string, options: { default?: number; min: number; max: number }): Field<number> {
    return {
      env,
      description,
      ...(options.default === undefined ? {} : { default: options.default }),
      parse: (raw) => {
        if (!/^-?\d+$/.test(raw)) throw new Error(`"${raw}" is not an integer`);
        const value = Number(raw);
        if (value < options.min || value > options.max) {
          throw new Error(`must be between ${options.min} and ${options.max}`);
        }
        return value;
      },
    };
  },
  bool(env: string, description: string, options: { default?: boolean } = {}): Field<boolean> {
    return {
      env,
      description,
      ...(options.default === undefined ? {} : { default: options.default }),
      parse: (raw) => {
        if (raw === 'true' || raw === '1') return true;
        if (raw === 'false' || raw === '0') return false;
        throw new Error(`"${raw}" is not a boolean (true/false)`);
      },
    };
  },
  oneOf<const V extends string>(env: string, description: string, values: readonly V[], options: { default?: V } = {}): Field<V> {
    return {
      env,
      description,
      ...(options.default === undefined ? {} : { default: options.default }),
      parse: (raw) => {
        if (!(values as readonly string[]).includes(raw)) throw new Error(`"${raw}" is not one of ${values.join(', ')}`);
        return raw as V;
      },
    };
  },
  /** A comma-separated list, checked by `parse` (which throws a message naming the bad entry); empty by default. */
  list(env: string, description: string, parse: (raw: string) => readonly string[]): Field<readonly string[]> {
    return { env, description, default: Object.freeze([]), parse };
  },
  optional<T>(inner: Field<T>): Field<T | undefined> {
    return { ...inner, default: undefined, parse: inner.parse } as Field<T | undefined>;
  },
};

/** Where values come from and which unknown keys are errors. */
export interface ConfigSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Environment prefixes this service owns: any variable with one of them that the schema
   * does not declare is rejected (a typo must not silently fall back to a default).
   */
  readonly ownedPrefixes: readonly string[];
  /** Prefixes inside owned ones that belong to other services (e.g. `TP_SIGNER_`). */
  readonly foreignPrefixes?: readonly string[];
  /** Optional YAML/JSON file whose keys are the schema's keys (env wins). */
  readonly file?: string;
}

/**
 * Parses and validates configuration once, at boot. Unknown keys are rejected, every
 * error names the failing key, and the result is frozen.
 */
export function loadConfig<S extends Schema>(schema: S, sources: ConfigSources): ConfigOf<S> {
  const declaredEnv = new Set(Object.values(schema).map((f) => f.env));
  for (const name of Object.keys(sources.env)) {
    const owned = sources.ownedPrefixes.some((p) => name.startsWith(p));
    // The local stack's per-user NATS credentials (TP_NATS_<USER>_PASSWORD …) are no setting of any service.
    const foreign = (sources.foreignPrefixes ?? []).some((p) => name.startsWith(p)) || isBusCredentialsEnv(name);
    if (owned && !foreign && !declaredEnv.has(name)) {
      throw new ConfigError('CONFIG_UNKNOWN_KEY', name, 'unknown configuration key');
    }
  }
  const fileValues = sources.file === undefined ? {} : readConfigFile(sources.file);
  for (const key of Object.keys(fileValues)) {
    if (!(key in schema)) throw new ConfigError('CONFIG_UNKNOWN_KEY', key, `unknown key in ${sources.file}`);
  }
  const result: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    const fromEnv = sources.env[spec.env];
    const fromFile = fileValues[key];
    const raw = fromEnv ?? (fromFile === undefined ? undefined : String(fromFile));
    const label = fromEnv !== undefined ? spec.env : key;
    if (raw === undefined) {
      if (!('default' in spec)) throw new ConfigError('CONFIG_MISSING', spec.env, 'is required');
      result[key] = spec.default;
      continue;
    }
    try {
      result[key] = spec.parse(raw);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ConfigError('CONFIG_INVALID', label, reason);
    }
  }
  return Object.freeze(result) as ConfigOf<S>;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('CONFIG_FILE_UNREADABLE', path, error instanceof Error ? error.message : String(error));
  }
  const parsed: unknown = parseYaml(text);
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError('CONFIG_INVALID', path, 'must hold a mapping of keys to values');
  }
  return parsed as Record<string, unknown>;
}

/** Masks the password of a URL (for logs and error messages). */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return raw.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}

/** The config with secrets masked, for a start-up log line. */
export function describeConfig<S extends Schema>(schema: S, config: ConfigOf<S>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    const value = (config as Record<string, unknown>)[key];
    out[key] = spec.secret ? '***' : typeof value === 'string' ? redactUrl(value) : value;
  }
  return out;
}
