import { applyRowFold, tableFold, type Projection, type TableRow } from '@trustplane/eventstore';
import { ORGANIZATION } from '@trustplane/registry-domain';

const organizations = tableFold<TableRow>({
  table: 'organizations',
  columns: ['id', 'tenant_id', 'name', 'version', 'created_at', 'updated_at'],
  keyOf: (event) => (event.aggregateType === ORGANIZATION ? event.aggregateId : undefined),
  fold(row, event, sequence) {
    switch (event.type) {
      case 'organization.created':
        return {
          id: event.aggregateId,
          tenant_id: event.tenant,
          name: event.data.name,
          version: sequence,
          created_at: event.occurredAt,
          updated_at: event.occurredAt,
        };
      case 'organization.renamed':
        return row && { ...row, name: event.data.name, version: sequence, updated_at: event.occurredAt };
      default:
        return row;
    }
  },
});

/** The organizations read model. */
export const organizationProjection: Projection = {
  name: 'registry.organizations',
  aggregateTypes: [ORGANIZATION],
  tables: [{ name: 'organizations', orderBy: ['id'] }],
  applyBatch: (tx, events) => applyRowFold(tx, organizations, events),
};
