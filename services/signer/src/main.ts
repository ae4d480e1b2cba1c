import 'reflect-metadata';
import { ConfigError } from '@trustplane/platform';
import { loadSignerConfig, type SignerConfig } from './config.js';
import { startSigner } from './server.js';

async function main(): Promise<void> {
  let config: SignerConfig;
  try {
    config = loadSignerConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`signer: configuration error: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const server = await startSigner(config);
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
