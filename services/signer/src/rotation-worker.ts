import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import type { CaService } from './ca-service.js';

/** Advisory lock key of the signer's rotation leader (one active rotator per database). */
const ROTATION_LOCK_KEY = 7_310_001;

/**
 * Checks every served deployment's CA schedule on a fixed tick and runs what is due. Only the
 * instance holding the Postgres advisory lock rotates; the others stand by and take over when
 * the leader's session ends.
 */
export class RotationWorker {
  private timer: NodeJS.Timeout | undefined;
  private lockClient: PoolClient | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly ca: CaService,
    private readonly pool: Pool,
    private readonly tickMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.schedule(0);
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
    await this.running;
    if (this.lockClient !== undefined) {
      await this.lockClient.query('SELECT pg_advisory_unlock($1)', [ROTATION_LOCK_KEY]).catch(() => undefined);
      this.lockClient.release();
      this.lockClient = undefined;
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.tick()
        .catch((error: unknown) => this.logger.error({ err: error }, 'rotation pass failed'))
        .finally(() => this.schedule(this.tickMs));
    }, delayMs);
  }

  private async pass(): Promise<void> {
    if (!(await this.isLeader())) return;
    for (const deployment of await this.ca.servedDeployments()) {
      try {
        await this.ca.syncKeyManager(deployment);
        await this.ca.rotate(deployment);
      } catch (error) {
        this.logger.error({ err: error, deploymentId: deployment.deploymentId }, 'rotation failed for deployment');
      }
    }
  }

  private async isLeader(): Promise<boolean> {
    if (this.lockClient !== undefined) return true;
    const client = await this.pool.connect();
    const result = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [ROTATION_LOCK_KEY]);
    if (result.rows[0]?.locked === true) {
      this.lockClient = client;
      client.on('error', () => {
        this.lockClient = undefined;
      });
      this.logger.info('rotation leader');
      return true;
    }
    client.release();
    return false;
  }
}
