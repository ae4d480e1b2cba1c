/**
 * The node agent process: attests the node (or restores its identity), syncs entries from the
 * signer over mutual TLS, and serves the SPIFFE Workload API on the configured socket, with
 * /healthz, /readyz and /metrics on TP_AGENT_HEALTH_PORT.
 */
import { hostname } from 'node:os';
import pino from 'pino';
import { bootstrapTrustProblem, loadAgentConfig, type AgentConfig } from './config.js';
import {
  AgentCore,
  readBundlePem,
  readClusterKey,
  type AgentCoreSettings,
} from './core/agent-core.js';
import { AgentStateError } from './core/state-store.js';
import { startHealthServer } from './core/health.js';
import { UnixWorkloadAttestor } from './attestation/unix-attestor.js';
import { WorkloadApiServer } from './workload/server.js';
import { WorkloadApiStats } from './workload/stats.js';
import { applyAgentV8Settings } from './v8-tuning.js';

/** Exit code for configuration errors (EX_CONFIG). */
const EX_CONFIG = 78;

function fail(message: string): never {
  process.stderr.write(`agent: configuration error: ${message}\n`);
  process.exit(EX_CONFIG);
}

function coreSettings(config: AgentConfig, logger: pino.Logger): AgentCoreSettings {
  const required = <T>(value: T | undefined, key: string): T =>
    value === undefined ? fail(`${key} is required`) : value;
  const serverAddress = required(config.serverAddress, 'TP_AGENT_SERVER_ADDRESS');
  const trustDomainId = required(config.trustDomainId, 'TP_AGENT_TRUST_DOMAIN_ID');
  const trustDomain = required(config.trustDomain, 'TP_AGENT_TRUST_DOMAIN');
  const nodeName = config.nodeName ?? hostname().toLowerCase();
  let clusterKey: AgentCoreSettings['clusterKey'];
  if (config.clusterKeyPath !== undefined) {
    const clusterId = required(config.clusterId, 'TP_AGENT_CLUSTER_ID');
    try {
      clusterKey = { clusterId, privateKey: readClusterKey(config.clusterKeyPath) };
    } catch (error) {
      fail(`TP_AGENT_CLUSTER_KEY_PATH: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const trustProblem = bootstrapTrustProblem(config);
  if (trustProblem !== undefined) fail(trustProblem);
  let bootstrapBundlePem: string | undefined;
  if (config.trustBundlePath !== undefined) {
    try {
      bootstrapBundlePem = readBundlePem(config.trustBundlePath);
    } catch (error) {
      fail(`TP_AGENT_TRUST_BUNDLE_PATH: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return {
    serverAddress,
    trustDomainId,
    trustDomain,
    nodeName,
    ...(config.joinToken === undefined ? {} : { joinToken: config.joinToken }),
    ...(clusterKey === undefined ? {} : { clusterKey }),
    ...(bootstrapBundlePem === undefined ? {} : { bootstrapBundlePem }),
    dataDir: config.dataDir,
    logger,
  };
}

async function main(): Promise<void> {
  applyAgentV8Settings();
  let config: AgentConfig;
  try {
    config = loadAgentConfig();
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  const logger = pino({
    name: 'agent',
    level: config.logLevel,
    redact: {
      paths: ['joinToken', '*.joinToken', 'privateKey', '*.privateKey', 'token', '*.token'],
      censor: '[redacted]',
    },
  });
  const settings = coreSettings(config, logger);
  if (config.insecureBootstrap) {
    logger.warn(
      'TP_AGENT_INSECURE_BOOTSTRAP=true: a first attestation trusts the signer without verifying it',
    );
  }
  const core = new AgentCore(settings);
  const stats = new WorkloadApiStats();
  let serving = false;
  const workload = new WorkloadApiServer({
    socketPath: config.socketPath,
    source: core,
    logger,
    stats,
    jwtCacheSize: config.jwtCacheSize,
    maxConnections: config.maxConnections,
    attestor: new UnixWorkloadAttestor({
      procRoot: config.procRoot,
      passwdPath: config.passwdPath,
      groupPath: config.groupPath,
      hashExecutables: config.hashExecutables,
      onWarning: (message, details) => logger.debug(details, message),
    }),
  });
  const health = await startHealthServer({
    host: config.healthHost,
    port: config.healthPort,
    core,
    workloadStats: stats,
    serving: () => serving,
  });
  logger.info({ port: health.port }, 'health endpoint listening');

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    core.stop();
    Promise.all([workload.stop(), health.close()]).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  try {
    await core.start();
  } catch (error) {
    if (error instanceof AgentStateError) {
      // No silent re-attestation over a state that could not be read: stay up, not ready
      // (/readyz names the file, /metrics counts it), until an operator restores the file or
      // removes the data directory's agent-state.json and agent-key.pem to attest this node anew.
      logger.fatal(
        { code: error.code, file: error.file },
        `refusing to start: ${error.message}; restore it, or delete it and its key to attest this node again`,
      );
      return;
    }
    const e = error as { code?: number; details?: string; message?: string };
    logger.fatal({ code: e.code, message: e.details ?? e.message }, 'node attestation refused');
    process.exit(1);
  }
  await workload.start();
  serving = true;
  logger.info({ spiffeId: core.spiffeId, endpoint: workload.endpoint }, 'agent ready');
}

void main();
