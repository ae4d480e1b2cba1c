import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { DataSource, type MigrationInterface } from 'typeorm';

/** What is needed to reach NATS. */
export interface NatsSettings {
  readonly natsUrl: string;
  readonly natsUser: string | undefined;
  readonly natsPassword: string | undefined;
}

/** Connects to NATS as the service's user (whose permissions exclude stream deletion). */
export async function connectNats(settings: NatsSettings, name: string): Promise<NatsConnection> {
  return connect({
    servers: settings.natsUrl.split(',').map((s) => s.replace(/^nats:\/\//, '')),
    name,
    ...(settings.natsUser === undefined ? {} : { user: settings.natsUser, pass: settings.natsPassword ?? '' }),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
}

/** Creates the service's Postgres pool. */
export function createPgPool(databaseUrl: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max });
  pool.on('error', () => {
    // Idle-client errors (server restart) surface on the next query; readiness reports them.
  });
  return pool;
}

/**
 * Binds a migration class whose constructor takes parameters (its schema, roles…) to fixed
 * arguments: TypeORM instantiates migration classes without arguments. The name is kept,
 * since TypeORM records migrations by it.
 */
export function bindMigration<Args extends unknown[]>(
  migration: new (...args: Args) => MigrationInterface,
  ...args: Args
): new () => MigrationInterface {
  const bound = class extends (migration as new (...a: unknown[]) => MigrationInterface) {
    constructor() {
      super(...args);
    }
  };
  Object.defineProperty(bound, 'name', { value: migration.name });
  return bound;
}

/** Runs the service's TypeORM migrations (never `synchronize`). */
export async function runMigrations(
  databaseUrl: string,
  migrations: readonly (new () => MigrationInterface)[],
  migrationsTableName: string,
): Promise<string[]> {
  const dataSource = new DataSource({
    type: 'postgres',
    url: databaseUrl,
    migrations: [...migrations],
    migrationsTableName,
    synchronize: false,
    logging: false,
  });
  await dataSource.initialize();
  try {
    const ran = await dataSource.runMigrations({ transaction: 'each' });
    return ran.map((m) => m.name);
  } finally {
    await dataSource.destroy();
  }
}
