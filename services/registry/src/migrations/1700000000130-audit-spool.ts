import { auditSpoolDdl } from '@trustplane/api-kit';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `audit_spool`: audit records written before the answer is sent and kept until the audit stream
 * has stored them (the registry's own PostgreSQL; no API role grants: nothing serves it).
 */
export class AuditSpool1700000000130 implements MigrationInterface {
  name = 'AuditSpool1700000000130';

  constructor(private readonly schema: string = 'registry') {}

  async up(q: QueryRunner): Promise<void> {
    await q.query(auditSpoolDdl(this.schema));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "${this.schema}".audit_spool`);
  }
}
