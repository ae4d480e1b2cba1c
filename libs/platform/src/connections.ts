import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { EventStreamSettings } from '@trustplane/eventstore';
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

/** Where the event log lives, as every service's config names it. */
export interface EventStreamConfig {
  readonly eventStream: string;
  readonly subjectPrefix: string;
  readonly streamReplicas: number;
}

/** How long JetStream remembers message ids for dedupe (the same for every opener of the stream). */
const DUPLICATE_WINDOW_MS = 120_000;

/**
 * The stream settings every opener of the event log uses. One definition: opening the stream
 * updates its configuration when it differs, so two openers with different settings would keep
 * rewriting it.
 */
export function eventStreamSettings(config: EventStreamConfig): EventStreamSettings {
  return {
    streamName: config.eventStream,
    subjectPrefix: config.subjectPrefix,
    replicas: config.streamReplicas,
    duplicateWindowMs: DUPLICATE_WINDOW_MS,
  };
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
