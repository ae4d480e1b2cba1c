import type { DomainEnvelope } from '@trustplane/events';
import { AGENT } from './agent.js';

/**
 * One node agent as a read model holds it: the row of the `agents` table that both the registry
 * (the API's `tpctl agent list|show`) and the signer (the agent API's authorization) keep. Both
 * fold `agent.*` events with {@link foldAgentRow}, so they can never disagree on an agent.
 * Column names are the tables' (snake_case); times are ISO-8601 text as the events carry them
 * (or as PostgreSQL gives them back through `to_jsonb`). A type alias, not an interface, so that
 * it is assignable to the projections' JSON row type.
 */
export type AgentRow = {
  /** `agt-…`, derived from the cluster and node name. */
  readonly id: string;
  readonly tenant_id: string;
  readonly trust_domain_id: string;
  readonly cluster_id: string;
  readonly cluster_name: string;
  readonly node_name: string;
  /** `spiffe://<td>/agent/<cluster>/<node>`. */
  readonly spiffe_id: string;
  /** `join_token` or `cluster_key`: how the agent last attested. */
  readonly method: string;
  /** Serial of the agent's current X.509-SVID: lowercase hex, whatever case the event used. */
  readonly serial_number: string;
  /**
   * Serial of the SVID it held before the last renewal or re-attestation (lowercase hex), still
   * honoured so that calls in flight on the old SVID do not fail; null after the first attestation.
   */
  readonly previous_serial_number: string | null;
  /** Expiry of the current SVID. */
  readonly expires_at: string;
  /** A banned agent is refused everything and cannot attest again; a later attestation keeps the ban. */
  readonly banned: boolean;
  readonly ban_reason: string | null;
  /** When it last attested. */
  readonly attested_at: string;
  /** Stream sequence of the last event applied. */
  readonly version: number;
  readonly created_at: string;
  readonly updated_at: string;
};

/** The columns of {@link AgentRow}, in table order (both services' `agents` tables). */
export const AGENT_ROW_COLUMNS: readonly (keyof AgentRow & string)[] = [
  'id',
  'tenant_id',
  'trust_domain_id',
  'cluster_id',
  'cluster_name',
  'node_name',
  'spiffe_id',
  'method',
  'serial_number',
  'previous_serial_number',
  'expires_at',
  'banned',
  'ban_reason',
  'attested_at',
  'version',
  'created_at',
  'updated_at',
];

/** The `agents` row an event changes (its agent id), or undefined for events of other aggregates. */
export function agentRowKey(event: DomainEnvelope): string | undefined {
  return event.aggregateType === AGENT ? event.aggregateId : undefined;
}

/** Serial numbers are hex; the read models keep one spelling so that comparisons are plain. */
function serialOf(serialNumber: string): string {
  return serialNumber.toLowerCase();
}

/**
 * Applies one event (stored at stream `sequence`) to an agent's row; undefined = no row. Pure and
 * deterministic, so a rebuild of either read model gives the same rows.
 */
export function foldAgentRow(row: AgentRow | undefined, event: DomainEnvelope, sequence: number): AgentRow | undefined {
  const stamp = { version: sequence, updated_at: event.occurredAt };
  switch (event.type) {
    case 'agent.attested':
      // A re-attestation replaces the SVID facts; a ban (should one precede it) is kept.
      return {
        id: event.aggregateId,
        tenant_id: event.tenant,
        trust_domain_id: event.data.trustDomainId,
        cluster_id: event.data.clusterId,
        cluster_name: event.data.clusterName,
        node_name: event.data.nodeName,
        spiffe_id: event.data.spiffeId,
        method: event.data.method,
        serial_number: serialOf(event.data.serialNumber),
        previous_serial_number: row?.serial_number ?? null,
        expires_at: event.data.expiresAt,
        banned: row?.banned ?? false,
        ban_reason: row?.ban_reason ?? null,
        attested_at: event.occurredAt,
        created_at: row?.created_at ?? event.occurredAt,
        ...stamp,
      };
    case 'agent.renewed':
      return row && { ...row, previous_serial_number: row.serial_number, serial_number: serialOf(event.data.serialNumber), expires_at: event.data.expiresAt, ...stamp };
    case 'agent.banned':
      return row && { ...row, banned: true, ban_reason: event.data.reason, ...stamp };
    default:
      return row;
  }
}
