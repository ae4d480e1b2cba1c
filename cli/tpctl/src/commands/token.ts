// `tpctl token create`: through REST (POST /tokens) with a token, or on the host (bootstrap,
// through the event log) when `--org` names the organization.
import type { Command } from 'commander';
import { serviceEnv, type BootstrapTokenRequest } from '../bootstrap.js';
import { CliError } from '../errors.js';
import { positiveInt, scopeList } from '../parse.js';
import type { Invocation } from '../runtime.js';
import { apiPath, type ApiClient } from '../client.js';
import { ApiError } from '../errors.js';
import type { CreatedToken, Token, Whoami } from '../types.js';
import { createdToken, tokenList, whoamiInfo } from '../views.js';

/** The token named `idOrName`: a tok-… id as is, a name looked up (refused when ambiguous). */
export async function resolveToken(client: ApiClient, idOrName: string): Promise<Token> {
  const tokens = await client.list<Token>('/tokens');
  const byId = tokens.find((t) => t.id === idOrName);
  if (byId !== undefined) return byId;
  const named = tokens.filter((t) => t.name === idOrName && !t.revoked);
  if (named.length === 1) return named[0] as Token;
  if (named.length > 1) {
    throw new CliError('INVALID_ARGUMENT', `several tokens are named ${idOrName} (${named.map((t) => t.id).join(', ')}); give the tok-… id`);
  }
  throw new ApiError(404, 'TOKEN_NOT_FOUND', `token ${idOrName} not found`);
}

/** Adds `whoami` to the program. */
export function registerWhoami(program: Command, invocation: Invocation): void {
  program
    .command('whoami')
    .description('show the organization and the API token tpctl calls with')
    .action(async (_flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const me = await (await rt.client()).get<Whoami>(apiPath('whoami'));
      rt.emit(me, () => whoamiInfo(me));
    });
}

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

  group
    .command('list')
    .description("list the organization's API tokens (never their secrets)")
    .action(async (_flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const items = await (await rt.client()).list<Token>('/tokens');
      rt.emit(items, () => tokenList(items, rt.deps.now()));
    });

  group
    .command('revoke')
    .description('revoke an API token (only with a token holding all of its scopes)')
    .argument('<token>', 'tok-… id or token name')
    .action(async (idOrName: string, _flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const client = await rt.client();
      const token = await resolveToken(client, idOrName);
      await client.delete(apiPath('tokens', token.id));
      rt.emit({ id: token.id, name: token.name, revoked: true }, () => `Token ${token.name} (${token.id}) revoked.\n`);
    });
}
