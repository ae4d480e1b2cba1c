import { auditSpoolDdl } from '@trustplane/api-kit';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `audit_spool`: the auth service's own audit records (its commands), written before the answer is
 * sent and kept until the audit stream has stored them. No API role grants: nothing serves it.
 */
export class AuditSpool1700000000002 implements MigrationInterface {
  name = 'AuditSpool1700000000002';

  constructor(private readonly schema: string = 'auth') {}

  async up(q: QueryRunner): Promise<void> {
    await q.query(auditSpoolDdl(this.schema));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "${this.schema}".audit_spool`);
  }
}
