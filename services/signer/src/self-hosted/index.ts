import { readFileSync } from 'node:fs';
import { EventLog } from '@trustplane/eventstore';
import { eventStreamSettings, openNatsSession, type Clock } from '@trustplane/platform';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { CaService } from '../ca-service.js';
import type { SignerConfig } from '../config.js';
import { AssertionExchange, type CredentialSource } from './credentials.js';
import { SyncMirror } from './mirror.js';
import { SyncClient } from './sync-client.js';

export { AssertionExchange, type CredentialSource, type HeldCredential } from './credentials.js';
export { SyncClient } from './sync-client.js';
export { syncAppliedMigrations } from './migration.js';

/** A running self-hosted link. */
export interface SelfHostedLink {
  readonly client: SyncClient;
  close(): Promise<void>;
}

/** What starting the self-hosted link needs from the signer. */
export interface SelfHostedDeps {
  readonly config: SignerConfig;
  readonly ca: CaService;
  readonly pool: Pool;
  readonly waitForModel: (sequence: number) => Promise<void>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Default: the credential exchange with the deployment key (tests may substitute). */
  readonly credentials?: CredentialSource;
}

/**
 * Starts the self-hosted signer's link to the control plane: a second NATS connection to this
 * installation's own bus as its registry user (the mirror appends the control plane's state as
 * registry events there), the credential exchange with the deployment key, and the sync client.
 */
export async function startSelfHosted(deps: SelfHostedDeps): Promise<SelfHostedLink> {
  const { config, logger } = deps;
  if (config.deploymentId === undefined || config.controlPlaneUrl === undefined || config.deploymentKeyId === undefined || config.mirrorNatsUser === undefined) {
    throw new Error('self-hosted mode needs TP_SIGNER_DEPLOYMENT_ID, TP_SIGNER_DEPLOYMENT_KEY_ID, TP_SIGNER_CONTROL_PLANE_URL and TP_SIGNER_MIRROR_NATS_USER');
  }
  const { nc } = await openNatsSession({ ...config, natsUser: config.mirrorNatsUser, natsPassword: config.mirrorNatsPassword }, 'signer-sync-mirror', logger);
  const log = await EventLog.open(nc, eventStreamSettings(config));
  const privateKeyPem = config.deploymentPrivateKey ?? readFileSync(config.deploymentPrivateKeyFile ?? '', 'utf8');
  const credentials =
    deps.credentials ??
    new AssertionExchange({ controlPlaneUrl: config.controlPlaneUrl, deploymentId: config.deploymentId, keyId: config.deploymentKeyId, privateKeyPem, clock: deps.clock });
  const mirror = new SyncMirror({ log, pool: deps.pool, schema: config.schema, deploymentId: config.deploymentId, clock: deps.clock, logger });
  const client = new SyncClient({
    controlPlaneUrl: config.controlPlaneUrl,
    deploymentId: config.deploymentId,
    credentials,
    mirror,
    ca: deps.ca,
    pool: deps.pool,
    schema: config.schema,
    waitForModel: deps.waitForModel,
    reportIntervalMs: config.reportIntervalMs,
    clock: deps.clock,
    logger,
  });
  await client.start();
  logger.info({ deploymentId: config.deploymentId, controlPlane: config.controlPlaneUrl }, 'self-hosted: following the control plane');
  return {
    client,
    async close() {
      await client.stop();
      await nc.drain().catch(() => undefined);
    },
  };
}
