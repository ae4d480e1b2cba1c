import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  accept,
  assertNever,
  DomainError,
  reject,
  type ApiScope,
  type ApiTokenCreated,
  type ApiTokenRevoked,
  type Decider,
} from '@trustplane/events';
import { parseResourceId } from '@trustplane/spiffe';
import { checkTextField, refuseIdLikeName } from './text.js';

/** Aggregate type of API tokens. */
export const API_TOKEN = 'apitoken';
/** Every scope, in display order. */
export const API_SCOPES: readonly ApiScope[] = ['trust-domains:read', 'trust-domains:write', 'entries:read', 'entries:write', 'tokens:write', 'admin', 'deployments:write', 'audit:read'];
/** Longest token lifetime. */
export const API_TOKEN_MAX_TTL_DAYS = 3650;
/** Longest token name. */
export const API_TOKEN_NAME_MAX = 100;
const TOKEN_PREFIX = 'tp_';
const TOKEN_ID_LENGTH = 'tok-'.length + 10;

/** Events of an API token. */
export type ApiTokenEvent = ApiTokenCreated | ApiTokenRevoked;
/** State of one API token. */
export type ApiTokenState = { readonly phase: 'absent' | 'revoked' } | { readonly phase: 'active'; readonly scopes: readonly ApiScope[] };
/**
 * The authority behind a token command: the scopes of the token that sent it, or `host` for the
 * host-local bootstrap (which may grant anything).
 */
export type TokenAuthority = { readonly kind: 'token'; readonly scopes: readonly ApiScope[] } | { readonly kind: 'host' };

/** Commands of an API token. The secret's salt and hash are computed by the caller. */
export type ApiTokenCommand =
  | {
      readonly kind: 'create';
      readonly name: string;
      readonly scopes: readonly string[];
      readonly ttlDays: number | undefined;
      readonly salt: string;
      readonly hash: string;
      readonly authority: TokenAuthority;
    }
  | { readonly kind: 'revoke'; readonly authority: TokenAuthority };

/**
 * Every scope a set of scopes grants: `admin` grants every scope (every route, and minting or
 * revoking any token); any other scope grants only itself (a write scope does not grant read).
 */
export function impliedScopes(held: readonly ApiScope[]): ReadonlySet<ApiScope> {
  return new Set(held.includes('admin') ? API_SCOPES : held);
}

/** True when `held` grants every scope of `wanted`. */
export function scopesCover(held: readonly ApiScope[], wanted: readonly ApiScope[]): boolean {
  const granted = impliedScopes(held);
  return wanted.every((scope) => granted.has(scope));
}

function authorityCovers(authority: TokenAuthority, wanted: readonly ApiScope[]): boolean {
  return authority.kind === 'host' || scopesCover(authority.scopes, wanted);
}

function escalation(action: string, wanted: readonly ApiScope[], authority: TokenAuthority): DomainError {
  const held = authority.kind === 'token' ? authority.scopes.join(', ') : '';
  return new DomainError(
    'TOKEN_SCOPE_ESCALATION',
    `a token can only ${action} tokens whose scopes are a subset of its own (this token has ${held}; the other has ${wanted.join(', ')})`,
    'forbidden',
  );
}

/** A freshly minted token: the string shown once, and what is stored. */
export interface MintedToken {
  readonly token: string;
  readonly salt: string;
  readonly hash: string;
}

/** Hex SHA-256 of salt ‖ secret. */
export function hashTokenSecret(salt: string, secret: string): string {
  return createHash('sha256').update(Buffer.from(salt, 'hex')).update(secret, 'utf8').digest('hex');
}

/** Makes the token string `tp_<token id>_<secret>` (256 random bits) and its salted hash. */
export function mintToken(tokenId: string, random: (n: number) => Buffer = randomBytes): MintedToken {
  const secret = random(32).toString('base64url');
  const salt = random(16).toString('hex');
  return { token: `${TOKEN_PREFIX}${tokenId}_${secret}`, salt, hash: hashTokenSecret(salt, secret) };
}

/** Splits a presented token into its id and secret, or undefined when malformed. */
export function parseToken(presented: string): { tokenId: string; secret: string } | undefined {
  if (!presented.startsWith(TOKEN_PREFIX) || presented.length > 200) return undefined;
  // `tok-` + 10 characters, then `_`, then the base64url secret (which may itself hold `_`).
  const rest = presented.slice(TOKEN_PREFIX.length);
  const tokenId = rest.slice(0, TOKEN_ID_LENGTH);
  if (rest[TOKEN_ID_LENGTH] !== '_') return undefined;
  const secret = rest.slice(TOKEN_ID_LENGTH + 1);
  if (!parseResourceId('apiToken', tokenId).ok || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return undefined;
  return { tokenId, secret };
}

/** Constant-time check of a presented secret against the stored salt and hash. */
export function tokenSecretMatches(secret: string, salt: string, hash: string): boolean {
  const presented = Buffer.from(hashTokenSecret(salt, secret), 'hex');
  const stored = Buffer.from(hash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

/** The API token aggregate. */
export const apiTokenDecider: Decider<ApiTokenState, ApiTokenCommand, ApiTokenEvent> = {
  aggregateType: API_TOKEN,
  initialState: () => ({ phase: 'absent' }),
  evolve(_state, event) {
    switch (event.type) {
      case 'apitoken.created':
        return { phase: 'active', scopes: event.data.scopes };
      case 'apitoken.revoked':
        return { phase: 'revoked' };
      default:
        return assertNever(event, 'token event');
    }
  },
  decide(command, state, { now }) {
    switch (command.kind) {
      case 'create': {
        if (state.phase !== 'absent') return reject(new DomainError('TOKEN_EXISTS', 'token already exists', 'conflict'));
        const name = checkTextField('TOKEN_NAME_INVALID', 'name', command.name, { maxLength: API_TOKEN_NAME_MAX, minLength: 1 });
        if (name instanceof DomainError) return reject(name);
        const idLike = refuseIdLikeName('TOKEN_NAME_INVALID', 'name', name);
        if (idLike !== undefined) return reject(idLike);
        if (command.scopes.length === 0) return reject(new DomainError('TOKEN_SCOPES_REQUIRED', `at least one scope is required (${API_SCOPES.join(', ')})`));
        const unknown = command.scopes.filter((s) => !(API_SCOPES as readonly string[]).includes(s));
        if (unknown.length > 0) {
          return reject(new DomainError('TOKEN_SCOPE_UNKNOWN', `unknown scope ${unknown.join(', ')}; known: ${API_SCOPES.join(', ')}`));
        }
        const wanted = API_SCOPES.filter((s) => command.scopes.includes(s));
        if (!authorityCovers(command.authority, wanted)) return reject(escalation('create', wanted, command.authority));
        if (command.ttlDays !== undefined && (!Number.isInteger(command.ttlDays) || command.ttlDays < 1 || command.ttlDays > API_TOKEN_MAX_TTL_DAYS)) {
          return reject(new DomainError('TOKEN_TTL_INVALID', `ttlDays must be an integer between 1 and ${API_TOKEN_MAX_TTL_DAYS}`));
        }
        const expiresAt = command.ttlDays === undefined ? null : new Date(now.getTime() + command.ttlDays * 86_400_000).toISOString();
        return accept({ type: 'apitoken.created', schemaVersion: 1, data: { name, scopes: wanted, salt: command.salt, hash: command.hash, expiresAt } });
      }
      case 'revoke':
        if (state.phase === 'absent') return reject(new DomainError('TOKEN_NOT_FOUND', 'token not found', 'not_found'));
        if (state.phase !== 'active') return accept();
        if (!authorityCovers(command.authority, state.scopes)) return reject(escalation('revoke', state.scopes, command.authority));
        return accept({ type: 'apitoken.revoked', schemaVersion: 1, data: {} });
      default:
        return assertNever(command, 'token command');
    }
  },
};
