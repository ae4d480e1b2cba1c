import { isolateTenantTable } from '@trustplane/api-kit';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** `deployment_keys`: the state of every deployment key (projected from services/auth's `deploymentkey.*`). */
export class DeploymentKeys1700000000120 implements MigrationInterface {
  name = 'DeploymentKeys1700000000120';

  constructor(
    private readonly schema: string = 'registry',
    private readonly apiRole: string = 'tp_registry_api',
  ) {}

  async up(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(`
      CREATE TABLE ${s}.deployment_keys (
        id text PRIMARY KEY, tenant_id text NOT NULL, trust_domain_id text NOT NULL, deployment_id text NOT NULL,
        state text NOT NULL, fingerprint text NOT NULL, version bigint NOT NULL);
      CREATE INDEX deployment_keys_deployment ON ${s}.deployment_keys (deployment_id, state);
    `);
    await isolateTenantTable(q, this.schema, 'deployment_keys', this.apiRole);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "${this.schema}".deployment_keys`);
  }
}
