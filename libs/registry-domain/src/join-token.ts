import { randomBytes } from 'node:crypto';
import { accept, assertNever, DomainError, reject, type Decider, type JoinTokenCreated, type JoinTokenUsed } from '@trustplane/events';
import { hashTokenSecret, tokenSecretMatches } from './api-token.js';
import { isJoinTokenId } from './ids.js';
import { validateNodeName } from './agent.js';

/** Aggregate type of join tokens. */
export const JOIN_TOKEN = 'jointoken';
/** Default lifetime of a join token, in seconds. */
export const JOIN_TOKEN_DEFAULT_TTL_SECONDS = 3600;
/** Allowed lifetime of a join token, in seconds (inclusive). */
export const JOIN_TOKEN_TTL_BOUNDS = Object.freeze({ min: 60, max: 86_400 });
const JOIN_TOKEN_PREFIX = 'tpjt_';
const JOIN_TOKEN_ID_LENGTH = 'jt-'.length + 10;
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Events of a join token. */
export type JoinTokenEvent = JoinTokenCreated | JoinTokenUsed;

/** State of one join token. */
export type JoinTokenState =
  | { readonly phase: 'absent' }
  | {
      readonly phase: 'issued' | 'used';
      readonly trustDomainId: string;
      readonly clusterId: string;
      readonly salt: string;
      readonly hash: string;
      readonly expiresAt: string;
      /** The agent that spent the token, once used. */
      readonly agentId: string | null;
    };

/** Commands of a join token. The secret's salt and hash come from {@link mintJoinToken}. */
export type JoinTokenCommand =
  | {
      readonly kind: 'create';
      readonly trustDomainId: string;
      readonly clusterId: string;
      readonly salt: string;
      readonly hash: string;
      /** Lifetime in seconds; {@link JOIN_TOKEN_DEFAULT_TTL_SECONDS} when undefined. */
      readonly ttlSeconds: number | undefined;
    }
  | { readonly kind: 'use'; readonly agentId: string; readonly nodeName: string; readonly now: Date };

/** A freshly minted join token: the string shown once, and what is stored. */
export interface MintedJoinToken {
  /** `tpjt_<jt-id>_<43-character base64url secret>`; shown once, never stored. */
  readonly token: string;
  /** Hex salt. */
  readonly salt: string;
  /** Hex SHA-256(salt ‖ secret). */
  readonly hash: string;
}

/** Makes the token string `tpjt_<jt-id>_<secret>` (256 random bits) and its salted hash. */
export function mintJoinToken(id: string, random: (n: number) => Buffer = randomBytes): MintedJoinToken {
  const secret = random(32).toString('base64url');
  const salt = random(16).toString('hex');
  return { token: `${JOIN_TOKEN_PREFIX}${id}_${secret}`, salt, hash: hashTokenSecret(salt, secret) };
}

/** Splits a presented join token into its id and secret, or undefined when malformed. */
export function parseJoinToken(presented: string): { readonly id: string; readonly secret: string } | undefined {
  if (!presented.startsWith(JOIN_TOKEN_PREFIX) || presented.length > 200) return undefined;
  const rest = presented.slice(JOIN_TOKEN_PREFIX.length);
  const id = rest.slice(0, JOIN_TOKEN_ID_LENGTH);
  // The secret is base64url and may itself contain `_`, so split at the fixed id length.
  if (rest[JOIN_TOKEN_ID_LENGTH] !== '_') return undefined;
  const secret = rest.slice(JOIN_TOKEN_ID_LENGTH + 1);
  if (!isJoinTokenId(id) || !SECRET_PATTERN.test(secret)) return undefined;
  return { id, secret };
}

/** Constant-time check of a presented secret against the stored salt and hash. */
export function joinTokenMatches(secret: string, salt: string, hash: string): boolean {
  return tokenSecretMatches(secret, salt, hash);
}

/** The join token aggregate: issued once, spent once (single use rests on optimistic concurrency). */
export const joinTokenDecider: Decider<JoinTokenState, JoinTokenCommand, JoinTokenEvent> = {
  aggregateType: JOIN_TOKEN,
  initialState: () => ({ phase: 'absent' }),
  evolve(state, event) {
    switch (event.type) {
      case 'jointoken.created':
        return {
          phase: 'issued',
          trustDomainId: event.data.trustDomainId,
          clusterId: event.data.clusterId,
          salt: event.data.salt,
          hash: event.data.hash,
          expiresAt: event.data.expiresAt,
          agentId: null,
        };
      case 'jointoken.used':
        return state.phase === 'absent' ? state : { ...state, phase: 'used', agentId: event.data.agentId };
      default:
        return assertNever(event, 'join token event');
    }
  },
  decide(command, state, { now }) {
    switch (command.kind) {
      case 'create': {
        if (state.phase !== 'absent') return reject(new DomainError('JOIN_TOKEN_EXISTS', 'join token already exists', 'conflict'));
        const ttl = command.ttlSeconds ?? JOIN_TOKEN_DEFAULT_TTL_SECONDS;
        if (!Number.isInteger(ttl) || ttl < JOIN_TOKEN_TTL_BOUNDS.min || ttl > JOIN_TOKEN_TTL_BOUNDS.max) {
          return reject(
            new DomainError(
              'JOIN_TOKEN_TTL_INVALID',
              `ttlSeconds must be an integer between ${JOIN_TOKEN_TTL_BOUNDS.min} and ${JOIN_TOKEN_TTL_BOUNDS.max}`,
            ),
          );
        }
        if (!/^[0-9a-f]{32}$/.test(command.salt) || !/^[0-9a-f]{64}$/.test(command.hash)) {
          return reject(new DomainError('JOIN_TOKEN_HASH_INVALID', 'salt must be 16 hex bytes and hash a hex SHA-256'));
        }
        const expiresAt = new Date(now.getTime() + ttl * 1000).toISOString();
        return accept({
          type: 'jointoken.created',
          schemaVersion: 1,
          data: { trustDomainId: command.trustDomainId, clusterId: command.clusterId, hash: command.hash, salt: command.salt, expiresAt },
        });
      }
      case 'use': {
        if (state.phase === 'absent') return reject(new DomainError('JOIN_TOKEN_NOT_FOUND', 'join token not found', 'not_found'));
        if (state.phase === 'used') return reject(new DomainError('JOIN_TOKEN_USED', 'join token has already been used', 'conflict'));
        if (command.now.getTime() >= Date.parse(state.expiresAt)) {
          return reject(new DomainError('JOIN_TOKEN_EXPIRED', `join token expired at ${state.expiresAt}`, 'forbidden'));
        }
        const nodeError = validateNodeName(command.nodeName);
        if (nodeError !== undefined) return reject(nodeError);
        return accept({
          type: 'jointoken.used',
          schemaVersion: 1,
          data: { agentId: command.agentId, nodeName: command.nodeName, usedAt: command.now.toISOString() },
        });
      }
      default:
        return assertNever(command, 'join token command');
    }
  },
};
