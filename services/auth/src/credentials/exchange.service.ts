import { createPublicKey } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AuditPublisher, outcomeOf } from '@trustplane/api-kit';
import { uuidv7 } from '@trustplane/events';
import { quoteIdent } from '@trustplane/eventstore';
import { CLOCK, LOGGER, METRICS, PG_POOL, ProblemError, type Clock, type ServiceMetrics } from '@trustplane/platform';
import { Counter } from 'prom-client';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { AuthConfig } from '../config.js';
import { AUTH_CONFIG } from '../tokens.js';
import { AssertionProblem, checkAssertion, decodeAssertion } from './assertion-check.js';
import { CredentialSigner } from './credential-signer.js';

/** What a successful exchange answers. */
export interface ExchangedCredential {
  readonly credential: string;
  readonly expiresAt: string;
  readonly deploymentId: string;
  readonly trustDomainId: string;
  readonly organizationId: string;
}

interface KeyRow {
  readonly tenant_id: string;
  readonly trust_domain_id: string;
  readonly deployment_id: string;
  readonly state: string;
  readonly public_key_pem: string;
}

/**
 * The credential exchange: a deployment-key-signed assertion in, a short-lived control-plane
 * credential out. Every refusal is 401 with its code and writes nothing; only an accepted
 * assertion spends its `jti` (a unique row shared by every replica) and records the key's use.
 */
@Injectable()
export class ExchangeService {
  private readonly schema: string;
  private lastPurge = 0;
  /** Exchanges by outcome: `issued`, or the refusal's code. */
  private readonly exchanges: Counter<'outcome'>;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly signer: CredentialSigner,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly audit: AuditPublisher,
    @Inject(METRICS) metrics: ServiceMetrics,
  ) {
    this.schema = quoteIdent(config.schema);
    this.exchanges = new Counter({
      name: 'tp_auth_credential_exchanges_total',
      help: 'credential exchanges by outcome (issued, or the code of the refusal)',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    });
  }

  async exchange(assertion: string): Promise<ExchangedCredential> {
    const seen: { keyId?: string; key?: KeyRow } = {};
    try {
      const exchanged = await this.run(assertion, seen);
      this.exchanges.inc({ outcome: 'issued' });
      await this.audited(seen, 200, null);
      return exchanged;
    } catch (error) {
      if (!(error instanceof AssertionProblem)) throw error;
      // The assertion itself is never logged: only why it was refused.
      this.logger.info({ code: error.code }, 'credential exchange refused');
      this.exchanges.inc({ outcome: error.code });
      await this.audited(seen, 401, error.code);
      throw new ProblemError(401, error.code, error.message);
    }
  }

  /**
   * An exchange with a known key joins its organization's audit chain (unknown keys have no
   * organization); the record is spooled before the exchange is answered.
   */
  private async audited(seen: { keyId?: string; key?: KeyRow }, status: number, code: string | null): Promise<void> {
    if (seen.key === undefined || seen.keyId === undefined) return;
    await this.audit.publish({
      id: uuidv7(),
      service: 'auth',
      organizationId: seen.key.tenant_id,
      actor: { kind: 'deployment-key', id: seen.keyId },
      action: 'POST /api/v1/auth/deployment-credentials',
      resource: `/api/v1/trust-domains/${seen.key.trust_domain_id}/deployments/${seen.key.deployment_id}/keys/${seen.keyId}`,
      outcome: outcomeOf(status),
      status,
      code,
      occurredAt: this.clock.now().toISOString(),
    });
  }

  private async run(assertion: string, seen: { keyId?: string; key?: KeyRow }): Promise<ExchangedCredential> {
    const now = this.clock.now();
    const decoded = decodeAssertion(assertion);
    // Before the tenant is known: the key is looked up by primary key as the owner role.
    const rows = await this.pool.query<KeyRow>(
      `SELECT k.tenant_id, k.trust_domain_id, k.deployment_id, k.state, k.public_key_pem
         FROM ${this.schema}.deployment_keys k JOIN ${this.schema}.deployments d ON d.id = k.deployment_id
        WHERE k.id = $1`,
      [decoded.keyId],
    );
    const key = rows.rows[0];
    if (key !== undefined) Object.assign(seen, { keyId: decoded.keyId, key });
    if (key === undefined) throw new AssertionProblem('DEPLOYMENT_KEY_UNKNOWN', `no deployment key ${decoded.keyId} (deleted, or never created)`);
    const claims = checkAssertion(decoded, { publicKey: createPublicKey(key.public_key_pem), deploymentId: key.deployment_id }, now);
    if (key.state !== 'active') throw new AssertionProblem('DEPLOYMENT_KEY_DISABLED', `deployment key ${decoded.keyId} is disabled`);
    const spent = await this.pool.query(
      `INSERT INTO ${this.schema}.used_assertions (key_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      [decoded.keyId, claims.jti, claims.expiresAt],
    );
    if ((spent.rowCount ?? 0) === 0) throw new AssertionProblem('ASSERTION_REPLAYED', 'this assertion was already exchanged; sign a fresh one (each jti is single use)');
    const signed = await this.signer.sign({
      deploymentId: key.deployment_id,
      organizationId: key.tenant_id,
      trustDomainId: key.trust_domain_id,
      keyId: decoded.keyId,
      issuedAt: now,
      ttlSeconds: this.config.credentialTtlSeconds,
    });
    await this.pool.query(
      `INSERT INTO ${this.schema}.key_usage (key_id, tenant_id, last_used_at) VALUES ($1, $2, $3)
       ON CONFLICT (key_id) DO UPDATE SET last_used_at = GREATEST(${this.schema}.key_usage.last_used_at, EXCLUDED.last_used_at)`,
      [decoded.keyId, key.tenant_id, now],
    );
    await this.purgeSpent(now);
    this.logger.info({ keyId: decoded.keyId, deploymentId: key.deployment_id, expiresAt: signed.expiresAt.toISOString() }, 'control-plane credential issued');
    return {
      credential: signed.token,
      expiresAt: signed.expiresAt.toISOString(),
      deploymentId: key.deployment_id,
      trustDomainId: key.trust_domain_id,
      organizationId: key.tenant_id,
    };
  }

  /** Forgets spent assertion ids once they could not be accepted anyway (at most once a minute). */
  private async purgeSpent(now: Date): Promise<void> {
    if (now.getTime() - this.lastPurge < 60_000) return;
    this.lastPurge = now.getTime();
    await this.pool.query(`DELETE FROM ${this.schema}.used_assertions WHERE expires_at < $1`, [now]).catch(() => undefined);
  }
}
