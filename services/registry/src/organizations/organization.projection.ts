import type { DomainEnvelope } from '@trustplane/events';
import { applyRowFold, type Projection, type ProjectionTx, type RowFold } from '@trustplane/eventstore';
import { ORGANIZATION } from '@trustplane/registry-domain';

/** One row of `organizations`. */
export interface OrganizationRow {
  readonly id: string;
  readonly tenant_id: string;
  readonly name: string;
  readonly version: string;
  readonly created_at: string;
  readonly updated_at: string;
}

const organizationFold: RowFold<OrganizationRow> = {
  keyOf: (event) => (event.aggregateType === ORGANIZATION ? event.aggregateId : undefined),
  async load(tx: ProjectionTx, keys) {
    const result = await tx.query<Record<string, unknown>>(
      `SELECT id, tenant_id, name, version::text AS version,
              to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
              to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at
         FROM organizations WHERE id = ANY($1)`,
      [keys],
    );
    return new Map(result.rows.map((row) => [String(row['id']), row as unknown as OrganizationRow]));
  },
  fold(row, event: DomainEnvelope, sequence: number) {
    switch (event.type) {
      case 'organization.created':
        return {
          id: event.aggregateId,
          tenant_id: event.tenant,
          name: event.data.name,
          version: String(sequence),
          created_at: event.occurredAt,
          updated_at: event.occurredAt,
        };
      case 'organization.renamed':
        return row === undefined ? undefined : { ...row, name: event.data.name, version: String(sequence), updated_at: event.occurredAt };
      default:
        return row;
    }
  },
  async save(tx, upserts) {
    if (upserts.length === 0) return;
    await tx.query(
      `INSERT INTO organizations (id, tenant_id, name, version, created_at, updated_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[], $6::timestamptz[])
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at`,
      [
        upserts.map((r) => r.id),
        upserts.map((r) => r.tenant_id),
        upserts.map((r) => r.name),
        upserts.map((r) => r.version),
        upserts.map((r) => r.created_at),
        upserts.map((r) => r.updated_at),
      ],
    );
  },
};

/** The organizations read model. */
export const organizationProjection: Projection = {
  name: 'registry.organizations',
  aggregateTypes: [ORGANIZATION],
  tables: [{ name: 'organizations', orderBy: ['id'] }],
  applyBatch: (tx, events) => applyRowFold(tx, organizationFold, events),
};
