import { quoteIdent } from '@trustplane/eventstore';
import type { Clock } from '@trustplane/platform';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { CaService, ServedDeployment } from '../ca-service.js';
import { isAuthClientError } from '@trustplane/auth-client';
import { withSlash, type CredentialSource } from './credentials.js';
import type { SyncMirror } from './mirror.js';
import { reportedAgents, reportedKeysets, type SignerReport } from './report.js';
import { parseSyncMessage, type SyncMessage } from './wire.js';

/** What the sync client needs. */
export interface SyncClientOptions {
  readonly controlPlaneUrl: string;
  readonly deploymentId: string;
  readonly credentials: CredentialSource;
  readonly mirror: SyncMirror;
  readonly ca: CaService;
  readonly pool: Pool;
  readonly schema: string;
  /** Resolves once the signer's read model has applied `sequence` of the local log. */
  readonly waitForModel: (sequence: number) => Promise<void>;
  readonly reportIntervalMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

const BACKOFF_MS = [250, 500, 1_000, 2_000, 5_000, 10_000];

/**
 * The self-hosted signer's link to the control plane: one long-lived stream
 * (`GET /api/v1/sync/stream?after=<applied position>`), each state recorded in the local log
 * (SyncMirror) and its position stored; and reports (`POST /api/v1/sync/report`) of the public CA
 * keysets, agents and status after every applied state, every CA change and periodically. A
 * lost stream, an expired credential or a refused exchange is retried with backoff; the signer
 * keeps serving agents from what it applied last.
 */
export class SyncClient {
  private stopped = false;
  private readonly aborter = new AbortController();
  private streamLoop: Promise<void> | undefined;
  private reportTimer: NodeJS.Timeout | undefined;
  private lastReport = '';
  private reporting: Promise<void> = Promise.resolve();
  private applied = 0;
  /** Set once the first state was applied (the trust domain and deployment exist locally). */
  private deployment: ServedDeployment | undefined;

  constructor(private readonly options: SyncClientOptions) {}

  private get table(): string {
    return `${quoteIdent(this.options.schema)}.sync_applied`;
  }

  /** The last position applied (also after a restart). */
  get appliedPosition(): number {
    return this.applied;
  }

  async start(): Promise<void> {
    const row = await this.options.pool.query<{ position: string }>(`SELECT position FROM ${this.table} WHERE id = 'control-plane'`);
    this.applied = Number(row.rows[0]?.position ?? 0);
    this.streamLoop = this.run();
    const tick = (): void => {
      if (this.stopped) return;
      this.reportTimer = setTimeout(() => {
        void this.report(true).finally(tick);
      }, this.options.reportIntervalMs);
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.aborter.abort();
    clearTimeout(this.reportTimer);
    await this.streamLoop?.catch(() => undefined);
    await this.reporting.catch(() => undefined);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const ended = await this.follow(failures > 0);
        failures = ended === 'CREDENTIAL_EXPIRED' ? 0 : failures;
        if (ended === 'CREDENTIAL_EXPIRED') continue;
      } catch (error) {
        if (this.stopped) return;
        const level = isAuthClientError(error, 'EXCHANGE_REFUSED') ? 'warn' : 'error';
        this.options.logger[level]({ err: error, failures }, 'control-plane sync interrupted; retrying');
      }
      const delay = BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)] ?? 10_000;
      failures += 1;
      await sleep(delay, this.aborter.signal);
    }
  }

  /** Follows one stream until it ends; returns the end reason. */
  private async follow(freshCredential: boolean): Promise<string> {
    const { credential } = await this.options.credentials.current(freshCredential);
    const url = new URL(`api/v1/sync/stream?after=${this.applied}`, withSlash(this.options.controlPlaneUrl));
    const response = await fetch(url, { headers: { authorization: `Bearer ${credential}` }, signal: this.aborter.signal });
    if (response.status !== 200 || response.body === null) {
      const body = await response.text().catch(() => '');
      throw new Error(`sync stream answered ${response.status}: ${body.slice(0, 200)}`);
    }
    this.options.logger.info({ after: this.applied }, 'control-plane sync stream open');
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'CLOSED';
      buffered += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.length > 16 * 1024 * 1024) throw new Error('sync message too large');
        const message = parseSyncMessage(line);
        if (message.type === 'end') return message.reason;
        await this.handle(message);
      }
      if (buffered.length > 16 * 1024 * 1024) throw new Error('sync message too large');
    }
  }

  private async handle(message: Exclude<SyncMessage, { type: 'end' }>): Promise<void> {
    if (message.type === 'heartbeat') {
      if (this.deployment !== undefined) await this.report(false);
      return;
    }
    const sequence = await this.options.mirror.apply(message.state);
    if (sequence > 0) await this.options.waitForModel(sequence);
    this.applied = message.position;
    await this.options.pool.query(
      `INSERT INTO ${this.table} (id, position, applied_at) VALUES ('control-plane', $1, $2)
       ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position, applied_at = EXCLUDED.applied_at`,
      [message.position, this.options.clock.now()],
    );
    this.deployment = {
      tenant: message.state.trustDomain.organizationId,
      deploymentId: message.state.deployment.id,
      trustDomainId: message.state.trustDomain.id,
      trustDomain: message.state.trustDomain.name,
    };
    this.options.logger.info({ position: message.position, appended: sequence > 0 }, 'control-plane state applied');
    await this.report(false);
  }

  /** Reports when something changed (or always, when `periodic`). Serialized; failures are logged. */
  report(periodic: boolean): Promise<void> {
    this.reporting = this.reporting.then(() => this.sendReport(periodic)).catch((error: unknown) => this.options.logger.warn({ err: error }, 'report to the control plane failed'));
    return this.reporting;
  }

  private async sendReport(periodic: boolean): Promise<void> {
    const deployment = this.deployment;
    if (deployment === undefined || this.stopped) return;
    const keysets = reportedKeysets(await this.options.ca.keysets(deployment));
    const body: SignerReport = {
      appliedPosition: this.applied,
      keysets,
      agents: await reportedAgents(this.options.pool, this.options.schema, deployment.trustDomainId),
      status: keysets.some((k) => k.state === 'active') ? { state: 'serving', detail: '' } : { state: 'degraded', detail: 'no active CA yet' },
    };
    const text = JSON.stringify(body);
    if (!periodic && text === this.lastReport) return;
    const { credential } = await this.options.credentials.current();
    const response = await fetch(new URL('api/v1/sync/report', withSlash(this.options.controlPlaneUrl)), {
      method: 'POST',
      headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
      body: text,
      signal: AbortSignal.timeout(15_000),
    });
    const answer = await response.text();
    if (response.status !== 200) throw new Error(`report answered ${response.status}: ${answer.slice(0, 300)}`);
    this.lastReport = text;
  }

  /** The deployment once the first state was applied (tests). */
  get served(): ServedDeployment | undefined {
    return this.deployment;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
