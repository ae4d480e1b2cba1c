/**
 * `/healthz`, `/readyz` and Prometheus `/metrics` on plain node:http, for processes that do not
 * run the Nest platform module (the node agent must stay small). Same answers as the module's
 * controllers: readiness from {@link runReadinessChecks}, 200 or 503 with every check's result.
 */
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { runReadinessChecks, type ReadinessCheck } from './health.js';

/** A Prometheus registry with the process metrics and the `service` label every service has. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** What the health server serves. */
export interface HealthServerOptions {
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
  readonly registry: Registry;
  readonly readiness: readonly ReadinessCheck[];
}

/** A running health server. */
export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the health and metrics endpoint. */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const json = { 'content-type': 'application/json' };
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') {
      response.writeHead(405).end();
    } else if (path === '/healthz') {
      response.writeHead(200, json).end(JSON.stringify({ status: 'ok' }));
    } else if (path === '/readyz') {
      runReadinessChecks(options.readiness).then((report) =>
        response
          .writeHead(report.ready ? 200 : 503, json)
          .end(JSON.stringify({ status: report.ready ? 'ready' : 'not ready', checks: report.checks })),
      );
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        () => response.writeHead(500).end(),
      );
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : options.port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
