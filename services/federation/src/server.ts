/**
 * The federation service process: follows the event log into memory and serves the public
 * bundle, JWKS and OIDC discovery documents. It connects as its own read-only bus user and
 * needs no database.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { EventLog } from '@trustplane/eventstore';
import { createLogger, createMetricsRegistry, eventStreamSettings, openNatsSession, runReadinessChecks, type StartedService } from '@trustplane/platform';
import type { NatsConnection } from '@nats-io/transport-node';
import { Counter, Gauge } from 'prom-client';
import type { FederationConfig } from './config.js';
import { BundleDirectory } from './directory.js';
import { BundleFetcher } from './fetcher.js';
import { followLog, type LogFollower } from './follower.js';
import { publicHandler } from './http.js';

/** A running federation service. */
export interface FederationService extends StartedService {
  /** The port the public endpoints listen on (useful with port 0). */
  readonly port: number;
  readonly directory: BundleDirectory;
  /** The poller of external peers; undefined without writer credentials. */
  readonly fetcher: BundleFetcher | undefined;
}

/** Starts the service; the log is followed in the background (/readyz says when it caught up). */
export async function startFederation(config: FederationConfig): Promise<FederationService> {
  const logger = createLogger('federation', config.logLevel);
  const registry = createMetricsRegistry('federation');
  const requests = new Counter({ name: 'tp_federation_requests_total', help: 'public requests by document and status', labelNames: ['route', 'status'], registers: [registry] });
  const refused = new Counter({ name: 'tp_federation_events_refused_total', help: 'events skipped as forged or malformed', registers: [registry] });

  const session = await openNatsSession(config, 'federation', logger);
  const nc: NatsConnection = session.nc;
  const directory = new BundleDirectory(config.publicBaseUrl);

  // The fetcher writes through its own bus user (the publisher's may only read).
  let writer: NatsConnection | undefined;
  let fetcher: BundleFetcher | undefined;
  if (config.writerNatsUser !== undefined) {
    writer = (await openNatsSession({ ...config, natsUser: config.writerNatsUser, natsPassword: config.writerNatsPassword }, 'federation-writer', logger)).nc;
    const log = await EventLog.open(writer, eventStreamSettings(config));
    fetcher = new BundleFetcher({
      log,
      ...(config.webCaFile === undefined ? {} : { webCaPem: readFileSync(config.webCaFile, 'utf8') }),
      minIntervalMs: config.minPollMs,
      maxIntervalMs: config.maxPollMs,
      timeoutMs: config.fetchTimeoutMs,
      onError: (federationId, error) => logger.warn({ federationId, err: error }, 'peer bundle fetch failed'),
    });
  }
  new Gauge({
    name: 'tp_federation_peer_bundle_age_seconds',
    help: 'age of the last recorded bundle of each external peer',
    labelNames: ['federation_id'],
    registers: [registry],
    collect() {
      this.reset();
      const now = Date.now();
      for (const status of fetcher?.statuses() ?? []) {
        if (status.bundleFetchedAt !== null) this.set({ federation_id: status.federationId }, (now - Date.parse(status.bundleFetchedAt)) / 1000);
      }
    },
  });
  new Gauge({
    name: 'tp_federation_peer_fetch_failures',
    help: 'consecutive failed fetches of each external peer',
    labelNames: ['federation_id'],
    registers: [registry],
    collect() {
      this.reset();
      for (const status of fetcher?.statuses() ?? []) this.set({ federation_id: status.federationId }, status.consecutiveFailures);
    },
  });
  new Gauge({
    name: 'tp_federation_trust_domains',
    help: 'trust domains whose bundle is served',
    registers: [registry],
    collect() {
      this.set(directory.size);
    },
  });

  let follower: LogFollower | undefined;
  let stopped = false;
  let followError = 'not started';
  // The stream may not exist yet (the registry or the signer creates it): keep trying.
  const follow = async (): Promise<void> => {
    for (let attempt = 0; !stopped; attempt++) {
      try {
        follower = await followLog(nc, (event) => {
          directory.apply(event);
          fetcher?.apply(event);
        }, {
          stream: config.eventStream,
          subjectPrefix: config.subjectPrefix,
          onRefused: (subject, reason) => {
            refused.inc();
            logger.warn({ subject, reason }, 'event refused');
          },
        });
        if (stopped) await follower.close();
        // Poll only once the log has been replayed: relationships deleted since are not fetched.
        const started = follower;
        const waitCaughtUp = async (): Promise<void> => {
          while (!stopped && !started.caughtUp()) await new Promise((resolve) => setTimeout(resolve, 50));
          if (!stopped) fetcher?.start();
        };
        void waitCaughtUp();
        return;
      } catch (error) {
        followError = error instanceof Error ? error.message : String(error);
        if (attempt % 10 === 0) logger.warn({ err: error }, 'cannot follow the event log yet; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 200 * 2 ** Math.min(attempt, 5))));
      }
    }
  };
  const following = follow();

  const readiness = [
    {
      name: 'nats',
      check: async () => {
        if (nc.isClosed()) throw new Error('NATS connection closed');
        await nc.flush();
      },
    },
    {
      name: 'projection',
      check: async () => {
        if (follower === undefined) throw new Error(`not following the log: ${followError}`);
        if (!follower.caughtUp()) throw new Error('replaying the event log');
      },
    },
  ];
  const handler = publicHandler(
    directory,
    {
      healthz: () => ({ status: 200, body: JSON.stringify({ status: 'ok' }) }),
      readyz: async () => {
        const report = await runReadinessChecks(readiness);
        return { status: report.ready ? 200 : 503, body: JSON.stringify({ status: report.ready ? 'ready' : 'not ready', checks: report.checks }) };
      },
      metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
    },
    (route, status) => requests.inc({ route, status: String(status) }),
  );
  const server: Server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 10_000, headersTimeout: 10_000 }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  logger.info({ port, publicBaseUrl: config.publicBaseUrl }, 'federation publisher listening');

  return {
    logger,
    port,
    directory,
    fetcher,
    async close() {
      stopped = true;
      fetcher?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await following;
      await follower?.close();
      await nc.drain().catch(() => undefined);
      await writer?.drain().catch(() => undefined);
    },
  };
}
