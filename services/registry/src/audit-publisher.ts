import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { NatsConnection } from '@nats-io/transport-node';
import { AuditPublisher, PgAuditSpool, registerAuditHook } from '@trustplane/api-kit';
import { NATS, PG_POOL } from '@trustplane/platform';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { AUTH_ROUTES } from './auth-proxy.js';
import type { RegistryConfig } from './config.js';

/**
 * Every command the registry answers becomes an audit record on the audit stream (the auth
 * service keeps the chain). Forwarded auth routes are audited by the auth service itself. Records
 * are spooled in the registry's schema before the answer is sent and published from there, so
 * neither an unreachable audit stream nor a crash loses one.
 */
export function registerRegistryAudit(app: NestFastifyApplication, config: RegistryConfig, logger: Logger): AuditPublisher {
  const spool = new PgAuditSpool(app.get<Pool>(PG_POOL), config.schema);
  const publisher = new AuditPublisher(app.get<NatsConnection>(NATS), config.subjectPrefix, logger, undefined, spool);
  publisher.start();
  registerAuditHook(app, { service: 'registry', publisher, skip: (route) => (AUTH_ROUTES as readonly string[]).includes(route) });
  return publisher;
}
