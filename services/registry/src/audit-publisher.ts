import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { NatsConnection } from '@nats-io/transport-node';
import { AuditPublisher, registerAuditHook } from '@trustplane/api-kit';
import { NATS } from '@trustplane/platform';
import type { Logger } from 'pino';
import { AUTH_ROUTES } from './auth-proxy.js';
import type { RegistryConfig } from './config.js';

/**
 * Every command the registry answers becomes an audit record on the audit stream (the auth
 * service keeps the chain). Forwarded auth routes are audited by the auth service itself.
 */
export function registerRegistryAudit(app: NestFastifyApplication, config: RegistryConfig, logger: Logger): AuditPublisher {
  const publisher = new AuditPublisher(app.get<NatsConnection>(NATS), config.subjectPrefix, logger);
  registerAuditHook(app, { service: 'registry', publisher, skip: (route) => (AUTH_ROUTES as readonly string[]).includes(route) });
  return publisher;
}
