import { ConfigError } from './config.js';

/** What a service's start function returns. */
export interface StartedService {
  readonly logger: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
  close(): Promise<void>;
}

/**
 * The body of every service's main.ts: load the config (a bad key exits 78, EX_CONFIG, naming
 * it), start, and on SIGTERM/SIGINT close gracefully (drain consumers, close connections) and
 * exit 0 — or 1 when shutting down failed.
 */
export function runService<Config>(name: string, loadConfig: () => Config, start: (config: Config) => Promise<StartedService>): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: configuration error: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  start(config).then(
    (server) => {
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
    },
    (error: unknown) => {
      process.stderr.write(`${name}: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
