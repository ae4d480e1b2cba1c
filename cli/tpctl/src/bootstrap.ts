// The host-local bootstrap path: `tpctl org create` and `tpctl token create --org …` run on the
// registry's host, with the services' environment, and write through the event log instead of
// the REST API (a fresh install answers 401 until a token exists). This file is the only wiring
// to @trustplane/registry; it is loaded lazily so REST commands never load the service code.
import { ApiError, CliError } from './errors.js';

/** What `bootstrapToken` is asked for. */
export interface BootstrapTokenRequest {
  /** The organization (`t-…`) the token belongs to. */
  organizationId: string;
  /** Token name. */
  name: string;
  /** Granted scopes. */
  scopes: string[];
  /** Lifetime in days; none = no expiry. */
  ttlDays?: number;
}

/** A token made on the host; `token` is the secret, shown once. */
export interface BootstrappedToken {
  /** Token id. */
  id: string;
  /** The bearer secret. */
  token: string;
  /** Granted scopes. */
  scopes: string[];
  /** RFC 3339 expiry, or null. */
  expiresAt: string | null;
}

/** The two functions @trustplane/registry exports for host-local bootstrap. */
export interface BootstrapPort {
  /** Creates an organization through the event log. */
  bootstrapOrganization(
    env: Record<string, string | undefined>,
    name: string,
  ): Promise<{ id: string; name: string }>;
  /** Creates an API token through the event log. */
  bootstrapToken(
    env: Record<string, string | undefined>,
    request: BootstrapTokenRequest,
  ): Promise<BootstrappedToken>;
}

/** tpctl's own environment variables, which the services' config would refuse as unknown TP_ keys. */
export const TPCTL_ENV_KEYS: readonly string[] = ['TPCTL_SERVER', 'TPCTL_TOKEN'];

/**
 * The environment handed to the registry's bootstrap: the process's, minus tpctl's own keys
 * (the registry validates every TP_… key and stops on unknown ones, such as TPCTL_SERVER).
 */
export function serviceEnv(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  const copy: Record<string, string | undefined> = { ...env };
  for (const key of TPCTL_ENV_KEYS) delete copy[key];
  return copy;
}

/** Gives a bootstrap failure a stable code: the error's own string `code`, else BOOTSTRAP_FAILED. */
export function bootstrapError(error: unknown): Error {
  if (error instanceof CliError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code))
    return new ApiError(0, code, message);
  return new CliError('BOOTSTRAP_FAILED', message, { cause: error });
}

function guarded<A extends unknown[], R>(
  fn: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await fn(...args);
    } catch (error) {
      throw bootstrapError(error);
    }
  };
}

/** Loads the registry's bootstrap functions (and with them the service code) on first use. */
export async function loadBootstrap(): Promise<BootstrapPort> {
  let registry: typeof import('@trustplane/registry');
  try {
    registry = await import('@trustplane/registry');
  } catch (error) {
    throw new CliError(
      'BOOTSTRAP_UNAVAILABLE',
      'org create and token create write through the event log on the registry host: run them with ' +
        'the tpctl of the TrustPlane installation there (node_modules/.bin/tpctl after npm ci and ' +
        `the build); this tpctl cannot load @trustplane/registry (${(error as Error).message})`,
      { cause: error },
    );
  }
  // The assignment checks the registry's signatures against the port at compile time.
  const port: BootstrapPort = {
    bootstrapOrganization: registry.bootstrapOrganization,
    bootstrapToken: registry.bootstrapToken,
  };
  return {
    bootstrapOrganization: guarded(port.bootstrapOrganization),
    bootstrapToken: guarded(port.bootstrapToken),
  };
}
