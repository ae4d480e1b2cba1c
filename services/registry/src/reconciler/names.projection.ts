import { applyRowFold, tableFold, type Projection, type TableRow } from '@trustplane/eventstore';
import { TRUST_DOMAIN_NAME } from '@trustplane/registry-domain';

/** The row id of a reservation: name keys are per organization, so the tenant is part of it. */
export function reservationRowId(tenant: string, nameKey: string): string {
  return `${tenant}/${nameKey}`;
}

const reservations = tableFold<TableRow>({
  table: 'trust_domain_names',
  columns: ['id', 'tenant_id', 'name', 'trust_domain_id', 'reserved_at'],
  keyOf: (e) => (e.aggregateType === TRUST_DOMAIN_NAME ? reservationRowId(e.tenant, e.aggregateId) : undefined),
  fold(row, e) {
    switch (e.type) {
      case 'trustdomainname.reserved':
        return {
          id: reservationRowId(e.tenant, e.aggregateId),
          tenant_id: e.tenant,
          name: e.data.name,
          trust_domain_id: e.data.trustDomainId,
          reserved_at: e.occurredAt,
        };
      case 'trustdomainname.released':
        return undefined;
      default:
        return row;
    }
  },
});

/**
 * Who holds each trust domain name (`trustdomainname.*`): the reconciler's view of reservations,
 * fed from sequence 1 by its own consumer so that reservations made before it existed count too.
 */
export const namesProjection: Projection = {
  name: 'registry.names',
  aggregateTypes: [TRUST_DOMAIN_NAME],
  tables: [{ name: 'trust_domain_names', orderBy: ['id'] }],
  applyBatch: (tx, events) => applyRowFold(tx, reservations, events),
};
