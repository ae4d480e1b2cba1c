// `tpctl token create`: through REST (POST /tokens) with a token, or on the host (bootstrap,
// through the event log) when `--org` names the organization.
import type { Command } from 'commander';
import { serviceEnv, type BootstrapTokenRequest } from '../bootstrap.js';
import { CliError } from '../errors.js';
import { positiveInt, scopeList } from '../parse.js';
import type { Invocation } from '../runtime.js';
import type { CreatedToken } from '../types.js';
import { createdToken } from '../views.js';

/** Flags of `token create`. */
export interface TokenCreateFlags {
  /** `--scopes a,b` */
  scopes: string[];
  /** `--name` */
  name?: string;
  /** `--ttl-days` */
  ttlDays?: number;
  /** `--org t-…`: selects the host-local path. */
  org?: string;
}

/** The default token name: `tpctl-<UTC timestamp>`, e.g. `tpctl-20300101T000000Z`. */
export function defaultTokenName(now: Date): string {
  return `tpctl-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
}

/** The body of `POST /tokens`. */
export function tokenCreateBody(
  flags: TokenCreateFlags,
  now: Date,
): { name: string; scopes: string[]; ttlDays?: number } {
  const body: { name: string; scopes: string[]; ttlDays?: number } = {
    name: flags.name ?? defaultTokenName(now),
    scopes: flags.scopes,
  };
  if (flags.ttlDays !== undefined) body.ttlDays = flags.ttlDays;
  return body;
}

/** The request of the host-local `bootstrapToken`. */
export function bootstrapTokenRequest(
  flags: TokenCreateFlags & { org: string },
  now: Date,
): BootstrapTokenRequest {
  if (!/^t-[0-9a-z]+$/.test(flags.org))
    throw new CliError('INVALID_ARGUMENT', `--org "${flags.org}" is not an organization id (t-…)`);
  const request: BootstrapTokenRequest = {
    organizationId: flags.org,
    name: flags.name ?? defaultTokenName(now),
    scopes: flags.scopes,
  };
  if (flags.ttlDays !== undefined) request.ttlDays = flags.ttlDays;
  return request;
}

/** Adds the `token` group to the program. */
export function registerToken(program: Command, invocation: Invocation): void {
  const group = program.command('token').description('manage API tokens');

  group
    .command('create')
    .description('create an API token (with --org: on the registry host, without a token)')
    .requiredOption(
      '--scopes <scopes>',
      'comma-separated scopes, e.g. trust-domains:read,entries:write',
      scopeList,
    )
    .option('--name <name>', 'token name (default tpctl-<time>)')
    .option('--ttl-days <days>', 'lifetime in days (default: no expiry)', positiveInt)
    .option(
      '--org <organization-id>',
      'bootstrap on the host: write through the event log for this organization (t-…)',
    )
    .action(async (flags: TokenCreateFlags, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const now = rt.deps.now();
      if (flags.org !== undefined) {
        const request = bootstrapTokenRequest({ ...flags, org: flags.org }, now);
        const bootstrap = await rt.deps.loadBootstrap();
        const token = await bootstrap.bootstrapToken(serviceEnv(rt.deps.env), request);
        rt.emit(token, () => createdToken({ ...token, name: request.name }));
        return;
      }
      const client = await rt.client();
      const token = await client.post<CreatedToken>('/tokens', tokenCreateBody(flags, now));
      rt.emit(token, () => createdToken(token));
    });
}
