import pino, { type Logger } from 'pino';
import type { LoggerService } from '@nestjs/common';

/** Paths pino censors in every log line: credentials, tokens and key material. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.password',
  '*.token',
  '*.secret',
  '*.privateKey',
  '*.private_key',
  '*.privateKeyPem',
  '*.kek',
  '*.d',
  'password',
  'token',
  'secret',
  'privateKey',
  'natsPassword',
];

/** Creates the service logger (JSON lines on stdout, secrets censored). */
export function createLogger(service: string, level: string): Logger {
  return pino({
    name: service,
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** Adapts pino to Nest's LoggerService so framework messages share the format. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string): void {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}
