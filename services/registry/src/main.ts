import 'reflect-metadata';
import { ConfigError } from '@trustplane/platform';
import { loadRegistryConfig } from './config.js';
import { startRegistry } from './server.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadRegistryConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`registry: configuration error: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const server = await startRegistry(config);
  const shutdown = (signal: string): void => {
    server.logger.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        server.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

void main();
