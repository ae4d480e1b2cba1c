import type { MigrationInterface, QueryRunner } from 'typeorm';
import { eventstoreTablesSql } from '@trustplane/eventstore';

/** Registry schema: bookkeeping tables and the organizations read model. */
export class Initial1700000000000 implements MigrationInterface {
  name = 'Initial1700000000000';

  constructor(private readonly schema: string = 'registry') {}

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(eventstoreTablesSql(this.schema));
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS "${this.schema}".organizations (
        id text PRIMARY KEY,
        tenant_id text NOT NULL,
        name text NOT NULL,
        version bigint NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS "${this.schema}".organizations`);
  }
}
