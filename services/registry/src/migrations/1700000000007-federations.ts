import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isolateTenantTable } from './tenant-isolation.js';

/** Tables added by this migration; like every read-model table they carry `tenant_id` under RLS. */
export const FEDERATION_TABLES = ['federations'] as const;

/** The read model of federation relationships (`federation.*`): one row per live relationship. */
export class Federations1700000000007 implements MigrationInterface {
  name = 'Federations1700000000007';

  constructor(
    private readonly schema: string = 'registry',
    private readonly apiRole: string = 'tp_registry_api',
  ) {}

  async up(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(`
      CREATE TABLE ${s}.federations (
        id text PRIMARY KEY, tenant_id text NOT NULL, trust_domain_id text NOT NULL, trust_domain text NOT NULL,
        peer_trust_domain text NOT NULL, peer_kind text NOT NULL, peer_trust_domain_id text,
        bundle_endpoint_url text, profile text, endpoint_spiffe_id text, bootstrap_bundle text,
        refresh_requested_at timestamptz, version bigint NOT NULL,
        created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
      CREATE UNIQUE INDEX federations_pair ON ${s}.federations (tenant_id, trust_domain_id, peer_trust_domain);
    `);
    for (const table of FEDERATION_TABLES) await isolateTenantTable(q, this.schema, table, this.apiRole);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of FEDERATION_TABLES) await q.query(`DROP TABLE IF EXISTS "${this.schema}".${table}`);
  }
}
