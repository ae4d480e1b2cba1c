import type { DomainEnvelope } from '@trustplane/events';
import { API_TOKEN } from './api-token.js';

/**
 * One API token as the services that authenticate requests hold it: the `api_tokens` row the
 * registry and services/auth both fold from `apitoken.*` with {@link foldApiTokenRow}, so a token
 * is valid (or revoked) everywhere alike. Only the salted hash of the secret is kept.
 */
export type ApiTokenRow = {
  /** `tok-…`. */
  readonly id: string;
  readonly tenant_id: string;
  readonly name: string;
  readonly scopes: readonly string[];
  /** Hex salt and hex SHA-256(salt ‖ secret). */
  readonly salt: string;
  readonly hash: string;
  readonly expires_at: string | null;
  readonly revoked: boolean;
  readonly created_at: string;
  readonly updated_at: string;
};

/** Columns of the `api_tokens` table, in order. */
export const API_TOKEN_ROW_COLUMNS: readonly (keyof ApiTokenRow & string)[] = [
  'id',
  'tenant_id',
  'name',
  'scopes',
  'salt',
  'hash',
  'expires_at',
  'revoked',
  'created_at',
  'updated_at',
];

/** The row an event changes: the token's id for `apitoken.*`. */
export function apiTokenRowKey(event: DomainEnvelope): string | undefined {
  return event.aggregateType === API_TOKEN ? event.aggregateId : undefined;
}

/** Applies one event to a token's row. */
export function foldApiTokenRow(row: ApiTokenRow | undefined, event: DomainEnvelope): ApiTokenRow | undefined {
  switch (event.type) {
    case 'apitoken.created':
      return {
        id: event.aggregateId,
        tenant_id: event.tenant,
        name: event.data.name,
        scopes: event.data.scopes,
        salt: event.data.salt,
        hash: event.data.hash,
        expires_at: event.data.expiresAt,
        revoked: false,
        created_at: event.occurredAt,
        updated_at: event.occurredAt,
      };
    case 'apitoken.revoked':
      return row && { ...row, revoked: true, updated_at: event.occurredAt };
    default:
      return row;
  }
}
