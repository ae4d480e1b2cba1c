import { Module, type DynamicModule } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { NatsConnection } from '@nats-io/transport-node';
import { resolveCaSettings } from '@trustplane/ca-domain';
import type { EventLog } from '@trustplane/eventstore';
import {
  createHttpService,
  createLogger,
  createServiceMetrics,
  describeConfig,
  EVENT_LOG,
  initTracing,
  listenHttp,
  NATS,
  PG_POOL,
  PlatformModule,
  ProjectionHost,
  runMigrations,
  systemClock,
  type Clock,
  type ReadinessCheck,
  type ServiceMetrics,
} from '@trustplane/platform';
import { resolve } from 'node:path';
import { loadKek, type KeyManagerPolicy } from '@trustplane/keymanager';
import type { Pool } from 'pg';
import type { MigrationInterface } from 'typeorm';
import type { Logger } from 'pino';
import { CaService, type CaCertificateBuilder } from './ca-service.js';
import { createSignerMetrics, type SignerMetrics } from './metrics.js';
import { signerConfigSchema, type SignerConfig } from './config.js';
import { CustodyPool } from './custody-pool.js';
import { signerMigrations } from './migrations/1700000001000-signer.js';
import { agentApiMigrations } from './migrations/1700000002000-agent-api.js';
import { attestationNonceMigrations } from './migrations/1700000003000-attestation-nonces.js';
import { sealedSecretMigrations } from './migrations/1700000004000-sealed-secrets.js';
import { agentsReadModelMigrations } from './migrations/1700000005000-agents-read-model.js';
import { reportedKeysetsMigrations } from './migrations/1700000006000-reported-keysets.js';
import { federationMigrations } from './migrations/1700000008000-federations.js';
import { AuthorityVerifier } from './authority.js';
import { SecretSealer, sealingKeyFrom } from './sealed-secrets.js';
import { AgentApiServer } from './agent-api/server.js';
import { signerProjection } from './projection.js';
import { SignerResponders } from './responders.js';
import { RotationWorker } from './rotation-worker.js';
import { startSelfHosted, syncAppliedMigrations, type CredentialSource, type SelfHostedLink } from './self-hosted/index.js';

@Module({})
class SignerModule {
  static forRoot(config: SignerConfig, logger: Logger, metrics: ServiceMetrics, clock: Clock, readiness: readonly ReadinessCheck[]): DynamicModule {
    return {
      module: SignerModule,
      imports: [
        PlatformModule.forRoot({
          service: 'signer',
          settings: config,
          logger,
          metrics,
          clock,
          projections: [{ projection: signerProjection, schema: config.schema }],
          readinessChecks: readiness,
        }),
      ],
    };
  }
}

/** Every migration of the signer's schema, in order. */
export function signerSchemaMigrations(schema: string): (new () => MigrationInterface)[] {
  return [
    ...signerMigrations(schema),
    ...agentApiMigrations(schema),
    ...attestationNonceMigrations(schema),
    ...sealedSecretMigrations(schema),
    ...agentsReadModelMigrations(schema),
    ...reportedKeysetsMigrations(schema),
    ...syncAppliedMigrations(schema),
    ...federationMigrations(schema),
  ];
}

/** A running signer. */
export interface SignerServer {
  readonly app: NestFastifyApplication;
  readonly url: string;
  readonly logger: Logger;
  readonly ca: CaService;
  readonly worker: RotationWorker;
  readonly custody: CustodyPool;
  /** The agent-facing gRPC API (mTLS). */
  readonly agentApi: AgentApiServer;
  readonly metrics: SignerMetrics;
  /** Self-hosted mode: the link to the control plane. */
  readonly selfHosted: SelfHostedLink | undefined;
  close(): Promise<void>;
}

/** What a caller (main, tests) may substitute when starting a signer. */
export interface StartSignerOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Builds CA certificates (tests inject failures); default @trustplane/crypto's builder. */
  readonly buildCa?: CaCertificateBuilder;
  /** Self-hosted mode: where the control-plane credential comes from (default: the exchange with the deployment key). */
  readonly credentials?: CredentialSource;
}

/** Migrates, starts key custody, boots, and starts rotating and answering requests. */
export async function startSigner(config: SignerConfig, options: StartSignerOptions = {}): Promise<SignerServer> {
  const logger = options.logger ?? createLogger('signer', config.logLevel);
  const clock = options.clock ?? systemClock;
  initTracing('signer', config.tracing);
  logger.info({ config: describeConfig(signerConfigSchema, config) }, 'starting signer');
  await runMigrations(config.databaseUrl, signerSchemaMigrations(config.schema), `${config.schema}_migrations`);
  const settings = resolveCaSettings({
    caTtlSeconds: config.caTtlSeconds,
    x509SvidTtlSeconds: config.x509SvidTtlSeconds,
    jwtSvidTtlSeconds: config.jwtSvidTtlSeconds,
    keyType: config.keyType,
  });
  const custody = await CustodyPool.start(config, logger);
  const metrics = createServiceMetrics('signer');
  const sealingKey = sealingKeyFrom(await loadKek(resolve(config.kekPath), true));
  // Ready once everything below serves: /readyz answers as soon as the HTTP port listens.
  let serving = false;
  const readiness: ReadinessCheck[] = [
    { name: 'key_custody', check: () => custody.healthy() },
    {
      name: 'signer_requests',
      check: async () => {
        if (!serving) throw new Error('still starting');
      },
    },
  ];
  const app = await createHttpService(SignerModule.forRoot(config, logger, metrics, clock, readiness), { logger, metrics });
  const url = await listenHttp(app, config.host, config.port);

  const pool = app.get<Pool>(PG_POOL);
  const log = app.get<EventLog>(EVENT_LOG);
  const signerMetrics = createSignerMetrics(metrics.registry, pool);
  const sealer = new SecretSealer(pool, config.schema, sealingKey, clock);
  // Managed deployments: the tenant writes the section, the operator's host applies it.
  const keyManagerPolicy: KeyManagerPolicy = { kind: 'confined', pathRoots: config.tenantPathRoots, webhookUrlPrefixes: config.tenantWebhookUrls };
  const ca = new CaService(log, pool, config.schema, custody, {
    settings,
    clock,
    logger,
    metrics: signerMetrics,
    keyManagerPolicy,
    sealer,
    ...(config.mode === 'self-hosted' && config.deploymentId !== undefined ? { selfHostedDeploymentId: config.deploymentId } : {}),
    ...(options.buildCa === undefined ? {} : { buildCa: options.buildCa }),
  });
  const worker = new RotationWorker({ ca, pool, tickMs: config.tickMs, clock, logger, metrics: signerMetrics });
  const responders = new SignerResponders(app.get<NatsConnection>(NATS), config.subjectPrefix, ca, new AuthorityVerifier(log, clock), sealer, () => worker.tick(), signerMetrics, logger, {
    // Without a NATS user of its own (TP_NATS_ALLOW_ANONYMOUS) nobody has a private inbox.
    acceptSharedInbox: config.natsUser === undefined,
  });
  await responders.start();
  worker.start();
  const agentApi = new AgentApiServer({
    host: config.agentHost,
    port: config.agentPort,
    agentSvidTtlSeconds: config.agentSvidTtlSeconds,
    databaseUrl: config.databaseUrl,
    schema: config.schema,
    ca,
    log,
    pool,
    clock,
    logger,
    onReadModelLate: (operation) => signerMetrics.agentReadModelLate.inc({ operation }),
  });
  await agentApi.start();
  // Self-hosted: the inputs come from the control plane's sync stream, recorded in the local log.
  const selfHosted =
    config.mode === 'self-hosted'
      ? await startSelfHosted({
          config,
          ca,
          pool,
          waitForModel: (sequence) => app.get(ProjectionHost).waitForAll(sequence, 15_000),
          clock,
          logger,
          ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
        })
      : undefined;
  serving = true;
  logger.info({ url }, 'signer listening');
  return {
    app,
    url,
    logger,
    ca,
    worker,
    custody,
    agentApi,
    metrics: signerMetrics,
    selfHosted,
    async close() {
      await selfHosted?.close();
      await agentApi.stop();
      await responders.stop();
      await worker.stop();
      await app.close();
      await custody.stop();
    },
  };
}
