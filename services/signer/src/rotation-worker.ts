import { afterFailure, DEFAULT_ROTATION_BACKOFF, mayRetry, type RetryBackoff, type RetryState } from '@trustplane/ca-domain';
import type { Clock } from '@trustplane/platform';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import type { CaService } from './ca-service.js';
import type { SignerMetrics } from './metrics.js';

/** Advisory lock key of the signer's rotation leader (one active rotator per database). */
const ROTATION_LOCK_KEY = 7_310_001;
/** How long stop() waits for a pass in progress before it lets go. */
const STOP_WAIT_MS = 5_000;

/** What the rotation worker needs. */
export interface RotationWorkerOptions {
  readonly ca: CaService;
  readonly pool: Pool;
  readonly tickMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: SignerMetrics;
  /** Backoff of a deployment whose rotation work failed; default 1 s doubling to 5 min. */
  readonly backoff?: RetryBackoff;
}

/**
 * Checks every served deployment's CA schedule on a fixed tick and runs what is due. Only the
 * instance holding the Postgres advisory lock rotates; the others stand by and take over when
 * the leader's session ends. A deployment whose work fails is retried with exponential backoff
 * (per deployment, on the injected clock), so a CA that cannot be built is not retried every tick.
 */
export class RotationWorker {
  private timer: NodeJS.Timeout | undefined;
  private lockClient: PoolClient | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly retries = new Map<string, RetryState>();
  private readonly backoff: RetryBackoff;

  constructor(private readonly options: RotationWorkerOptions) {
    this.backoff = options.backoff ?? DEFAULT_ROTATION_BACKOFF;
  }

  start(): void {
    this.schedule(0);
  }

  /** Whether this instance currently holds the leader lock. */
  isLeading(): boolean {
    return this.lockClient !== undefined;
  }

  /** Runs one pass now (also used by tests and after operator commands). */
  async tick(): Promise<void> {
    if (this.running !== undefined) return this.running;
    this.running = this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.running !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)));
      await Promise.race([this.running.catch(() => undefined), gaveUp]);
      clearTimeout(timer);
    }
    const client = this.lockClient;
    if (client !== undefined) {
      this.lockClient = undefined;
      this.options.metrics.rotationLeader.set(0);
      try {
        await client.query('SELECT pg_advisory_unlock($1)', [ROTATION_LOCK_KEY]);
        client.release();
      } catch (error) {
        // The session is gone (and the lock with it): let the pool destroy the client.
        client.release(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.tick()
        .catch((error: unknown) => this.options.logger.error({ err: error }, 'rotation pass failed'))
        .finally(() => this.schedule(this.options.tickMs));
    }, delayMs);
  }

  /**
   * Every instance keeps its custody children in line with the deployments it serves (applies
   * new key-manager sections, stops the children of deleted deployments); the leader also runs
   * the rotation work that is due.
   */
  private async pass(): Promise<void> {
    if (this.stopped) return;
    const { ca, clock, logger, metrics } = this.options;
    const deployments = await ca.servedDeployments();
    await ca.retireDeployments(deployments);
    for (const deployment of deployments) {
      await ca.applyKeyManager(deployment).catch((error: unknown) => logger.error({ err: error, deploymentId: deployment.deploymentId }, 'applying the key-manager section failed'));
    }
    if (this.stopped || !(await this.isLeader())) return;
    for (const deployment of deployments) {
      const retry = this.retries.get(deployment.deploymentId);
      if (!mayRetry(retry, clock.now())) continue;
      try {
        await ca.moveOntoKeyManager(deployment);
        await ca.rotate(deployment);
        this.retries.delete(deployment.deploymentId);
      } catch (error) {
        const next = afterFailure(retry, clock.now(), this.backoff);
        this.retries.set(deployment.deploymentId, next);
        metrics.rotationFailures.inc();
        logger.error(
          { err: error, deploymentId: deployment.deploymentId, failures: next.failures, retryAt: next.notBefore.toISOString() },
          'rotation failed for deployment; backing off',
        );
      }
    }
    // Trust domains with self-hosted deployments: their bundle follows what those report.
    await ca.publishReportedBundles().catch((error: unknown) => logger.error({ err: error }, 'publishing bundles from reported keysets failed'));
  }

  /**
   * Holds (or takes) the advisory lock on a dedicated pooled session. The session is checked
   * on every pass; when it has ended, the client is handed back to the pool as broken (the pool
   * destroys it) and leadership is given up until the lock is taken again. A client is never
   * dropped without release: a dropped one stays counted by the pool forever.
   */
  private async isLeader(): Promise<boolean> {
    const held = this.lockClient;
    if (held !== undefined) {
      try {
        await held.query('SELECT 1');
        return true;
      } catch (error) {
        this.loseLeadership(held, error);
        return false;
      }
    }
    const client = await this.options.pool.connect();
    // Listen from the first moment: a session that ends while checked out emits 'error' on the
    // client, and an unheard 'error' ends the process.
    let broken: Error | undefined;
    const onError = (error: Error): void => {
      if (this.lockClient === client) this.loseLeadership(client, error);
      else broken = error;
    };
    const onEnd = (): void => {
      if (this.lockClient === client) this.loseLeadership(client, new Error('leader session ended'));
    };
    client.on('error', onError);
    client.on('end', onEnd);
    const handBack = (error?: Error): void => {
      client.off('error', onError);
      client.off('end', onEnd);
      client.release(error);
    };
    let locked: boolean;
    try {
      const result = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [ROTATION_LOCK_KEY]);
      locked = result.rows[0]?.locked === true;
    } catch (error) {
      handBack(broken ?? (error instanceof Error ? error : new Error(String(error))));
      throw error;
    }
    if (!locked || broken !== undefined) {
      handBack(broken);
      return false;
    }
    this.lockClient = client;
    this.options.metrics.rotationLeader.set(1);
    this.options.logger.info('rotation leader');
    return true;
  }

  private loseLeadership(client: PoolClient, cause: unknown): void {
    if (this.lockClient !== client) return;
    this.lockClient = undefined;
    this.options.metrics.rotationLeader.set(0);
    this.options.metrics.leaderSessionsLost.inc();
    this.options.logger.warn({ err: cause }, 'rotation leader lost its database session; standing by');
    client.release(cause instanceof Error ? cause : new Error(String(cause)));
  }
}
