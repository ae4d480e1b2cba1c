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

  async remember(clusterId: string, nonce: string, retainSeconds: number): Promise<boolean> {
    // One atomic statement decides between racing replicas; a row whose window has passed is
    // taken over. Expiry is judged by the database's clock, so replicas with skewed clocks
    // neither shorten each other's windows nor delete rows another replica still needs.
    const inserted = await this.pool.query(
      `INSERT INTO ${this.table} AS n (cluster_id, nonce, expires_at)
       VALUES ($1, $2, now() + make_interval(secs => $3))
       ON CONFLICT (cluster_id, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE n.expires_at < now()
       RETURNING 1`,
      [clusterId, nonce, retainSeconds],
    );
    // Housekeeping, best effort: a failure here must not fail an attestation already decided.
    await this.pool
      .query(`DELETE FROM ${this.table} WHERE expires_at < now()`)
      .catch(() => undefined);
    return inserted.rowCount === 1;
  }
}
