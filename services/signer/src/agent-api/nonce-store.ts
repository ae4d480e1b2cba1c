/**
 * The Postgres-backed {@link AssertionNonceStore}: one row per accepted nonce, so every signer
 * instance refuses an assertion that any instance has already accepted.
 */
import { quoteIdent } from '@trustplane/eventstore';
import type { Pool } from 'pg';
import type { AssertionNonceStore } from './attestation.js';

export class PostgresNonceStore implements AssertionNonceStore {
  private readonly table: string;

  constructor(
    private readonly pool: Pool,
    schema: string,
  ) {
    this.table = `${quoteIdent(schema)}.attestation_nonces`;
  }

  async remember(clusterId: string, nonce: string, expiresAt: Date, now: Date): Promise<boolean> {
    // The insert wins or loses atomically; a leftover row whose window has passed is taken over.
    const inserted = await this.pool.query(
      `INSERT INTO ${this.table} AS n (cluster_id, nonce, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (cluster_id, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE n.expires_at <= $4
       RETURNING 1`,
      [clusterId, nonce, expiresAt, now],
    );
    await this.pool.query(`DELETE FROM ${this.table} WHERE expires_at <= $1`, [now]);
    return inserted.rowCount === 1;
  }
}
