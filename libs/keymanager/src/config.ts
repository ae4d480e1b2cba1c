/**
 * The KeyManager config section: parsed and validated once (unknown keys rejected, every error
 * names its key), then turned into a KeyManager by openKeyManager().
 */
import { KeyManagerError } from './errors.js';
import { DiskKeyManager } from './disk.js';
import { MemoryKeyManager } from './memory.js';
import { WebhookKeyManager, webhookEndpointProblems } from './webhook.js';
import type { Clock, KeyManager } from './types.js';

/** `memory`: keys in process memory (tests). */
export interface MemoryKeyManagerConfig {
  readonly kind: 'memory';
}

/** `disk`: keys sealed under a KEK file. */
export interface DiskKeyManagerConfig {
  readonly kind: 'disk';
  /** Directory of sealed key files. */
  readonly dir: string;
  /** KEK file (32 bytes, mode 0600). */
  readonly kekPath: string;
  /** Create the KEK file if missing. */
  readonly createKek?: boolean;
}

/** `webhook`: the Key Manager Extension contract. */
export interface WebhookKeyManagerConfig {
  readonly kind: 'webhook';
  /** Base URL (https:// unless allowInsecureForTests). */
  readonly webhookURL: string;
  /** none | bearer. */
  readonly authType?: 'none' | 'bearer';
  /** Bearer token file. */
  readonly tokenPath?: string;
  /**
   * The bearer token itself (instead of tokenPath). Never stored as such: a token given through
   * the API is sealed by the signer and handed to the custody child over its private channel.
   */
  readonly token?: string;
  /** Go duration, default "30s". */
  readonly timeout?: string;
  /** CA to trust for the webhook's certificate. */
  readonly caCertPath?: string;
  /** Allow http:// (tests only). */
  readonly allowInsecureForTests?: boolean;
}

/** One KeyManager config section. */
export type KeyManagerConfig =
  MemoryKeyManagerConfig | DiskKeyManagerConfig | WebhookKeyManagerConfig;

const ALLOWED: Readonly<Record<KeyManagerConfig['kind'], readonly string[]>> = {
  memory: ['kind'],
  disk: ['kind', 'dir', 'kekPath', 'createKek'],
  webhook: [
    'kind',
    'webhookURL',
    'authType',
    'tokenPath',
    'token',
    'timeout',
    'caCertPath',
    'allowInsecureForTests',
  ],
};

/**
 * Validates an untrusted config section (e.g. parsed YAML/JSON) and returns a frozen typed copy.
 * @throws KeyManagerError CONFIG_INVALID naming the offending key.
 */
export function parseKeyManagerConfig(input: unknown, where = 'keyManager'): KeyManagerConfig {
  const bad = (key: string, why: string): never => {
    throw new KeyManagerError('CONFIG_INVALID', `${where}.${key}: ${why}`);
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new KeyManagerError('CONFIG_INVALID', `${where}: must be an object`);
  }
  const obj = input as Record<string, unknown>;
  const kind = obj.kind;
  if (kind !== 'memory' && kind !== 'disk' && kind !== 'webhook') {
    return bad('kind', `must be memory, disk or webhook, got ${JSON.stringify(kind)}`);
  }
  for (const key of Object.keys(obj)) {
    if (!ALLOWED[kind].includes(key)) bad(key, `unknown key for kind ${kind}`);
  }
  const str = (key: string, required: boolean): string | undefined => {
    const v = obj[key];
    if (v === undefined) return required ? bad(key, 'required') : undefined;
    if (typeof v !== 'string' || v === '') return bad(key, 'must be a non-empty string');
    return v;
  };
  const bool = (key: string): boolean | undefined => {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') return bad(key, 'must be a boolean');
    return v;
  };
  switch (kind) {
    case 'memory':
      return Object.freeze({ kind });
    case 'disk': {
      const createKek = bool('createKek');
      return Object.freeze({
        kind,
        dir: str('dir', true) as string,
        kekPath: str('kekPath', true) as string,
        ...(createKek === undefined ? {} : { createKek }),
      });
    }
    case 'webhook': {
      const authType = str('authType', false);
      if (authType !== undefined && authType !== 'none' && authType !== 'bearer')
        bad('authType', 'must be none or bearer');
      const out: Record<string, unknown> = { kind, webhookURL: str('webhookURL', true) };
      if (authType !== undefined) out.authType = authType;
      for (const key of ['tokenPath', 'timeout', 'caCertPath']) {
        const v = str(key, false);
        if (v !== undefined) out[key] = v;
      }
      const token = str('token', false);
      if (token !== undefined) {
        if (token.length > 4096 || !/^[\x21-\x7e]+$/.test(token))
          bad('token', 'must be at most 4096 visible ASCII characters');
        if (out.tokenPath !== undefined) bad('token', 'give token or tokenPath, not both');
        out.token = token;
      }
      const insecure = bool('allowInsecureForTests');
      if (insecure !== undefined) out.allowInsecureForTests = insecure;
      if (authType === 'bearer' && out.tokenPath === undefined && out.token === undefined)
        bad('tokenPath', 'required when authType is bearer (or a token)');
      const [problem] = webhookEndpointProblems(out as unknown as WebhookKeyManagerConfig);
      if (problem !== undefined) bad(problem.key, problem.message);
      return Object.freeze(out) as unknown as WebhookKeyManagerConfig;
    }
    default: {
      const never: never = kind;
      return bad('kind', `unsupported ${String(never)}`);
    }
  }
}

/**
 * Builds the KeyManager a config section describes. Disk stores are opened (keys unsealed);
 * a webhook is started, and when discovery fails it is still returned, not ready, unless
 * `requireReady` is set (then the typed error is thrown).
 */
export async function openKeyManager(
  config: KeyManagerConfig,
  options: { clock?: Clock; requireReady?: boolean } = {},
): Promise<KeyManager> {
  const clock = options.clock;
  switch (config.kind) {
    case 'memory':
      return new MemoryKeyManager({ clock });
    case 'disk':
      return DiskKeyManager.open({
        dir: config.dir,
        kekPath: config.kekPath,
        createKek: config.createKek,
        clock,
      });
    case 'webhook': {
      const km = new WebhookKeyManager({ ...config, clock });
      try {
        await km.start();
      } catch (err) {
        if (options.requireReady === true) {
          await km.close();
          throw err;
        }
      }
      return km;
    }
    default: {
      const never: never = config;
      throw new KeyManagerError(
        'CONFIG_INVALID',
        `unsupported key manager ${JSON.stringify(never)}`,
      );
    }
  }
}
