import { connect, type NatsConnection } from '@nats-io/transport-node';
import { inboxPrefixFor } from '@trustplane/bus';
import type { EventStreamSettings } from '@trustplane/eventstore';
import pg from 'pg';
import type { MigrationInterface } from 'typeorm';

/** What is needed to reach NATS. */
export interface NatsSettings {
  readonly natsUrl: string;
  readonly natsUser: string | undefined;
  readonly natsPassword: string | undefined;
  /** Accept a server that lets anyone connect without credentials (throw-away setups only). */
  readonly natsAllowAnonymous?: boolean;
}

/** Why a service refuses the NATS server it was pointed at. */
export type NatsSecurityErrorCode = 'NATS_ANONYMOUS_ACCEPTED' | 'NATS_CREDENTIALS_MISSING' | 'NATS_AUTHENTICATION_FAILED';

/** The bus is not what a service may run on (it would not be a trust boundary). */
export class NatsSecurityError extends Error {
  override readonly name = 'NatsSecurityError';
  constructor(
    readonly code: NatsSecurityErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
  }
}

/** A NATS connection and whether its server also lets anyone in without credentials. */
export interface NatsSession {
  readonly nc: NatsConnection;
  /** True only with TP_NATS_ALLOW_ANONYMOUS=true (otherwise such a server is refused). */
  readonly anonymousAccepted: boolean;
}

/** The warning a service logs and reports on /readyz when it runs on an anonymous bus. */
export const ANONYMOUS_BUS_WARNING =
  'the NATS server accepts anonymous connections (TP_NATS_ALLOW_ANONYMOUS=true): anyone who reaches it can forge events and signer requests';

function serversOf(settings: NatsSettings): string[] {
  return settings.natsUrl.split(',').map((s) => s.replace(/^nats:\/\//, ''));
}

function isAuthorizationError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AuthorizationError' || /authorization/i.test(error.message));
}

/**
 * Tries to connect without credentials: the only reliable test of what a server accepts (its
 * `auth_required` flag says nothing about a `no_auth_user`). Other failures (unreachable) throw.
 */
export async function natsAcceptsAnonymous(settings: NatsSettings, name: string): Promise<boolean> {
  try {
    const probe = await connect({ servers: serversOf(settings), name: `${name}-anonymous-probe`, reconnect: false, timeout: 5_000 });
    await probe.close();
    return true;
  } catch (error) {
    if (isAuthorizationError(error)) return false;
    throw error;
  }
}

/**
 * Connects as the service's NATS user, replies arriving on its private inbox prefix. Refuses a
 * server that accepts anonymous connections unless `natsAllowAnonymous` (then warns).
 */
export async function openNatsSession(
  settings: NatsSettings,
  name: string,
  logger?: { warn(obj: object, msg: string): void },
): Promise<NatsSession> {
  const anonymousAccepted = await natsAcceptsAnonymous(settings, name);
  if (anonymousAccepted && settings.natsAllowAnonymous !== true) {
    throw new NatsSecurityError(
      'NATS_ANONYMOUS_ACCEPTED',
      `the NATS server at ${settings.natsUrl} accepts connections without credentials, so anyone who reaches it could forge events and signer requests; ` +
        'run it with the project\'s users (infra/nats/permissions.json) and set TP_NATS_USER / TP_NATS_PASSWORD, or set TP_NATS_ALLOW_ANONYMOUS=true for a throw-away setup',
    );
  }
  if (anonymousAccepted) logger?.warn({ natsUrl: settings.natsUrl }, ANONYMOUS_BUS_WARNING);
  if (settings.natsUser === undefined && !anonymousAccepted) {
    throw new NatsSecurityError('NATS_CREDENTIALS_MISSING', `the NATS server at ${settings.natsUrl} requires a user: set TP_NATS_USER and TP_NATS_PASSWORD`);
  }
  try {
    const nc = await connect({
      servers: serversOf(settings),
      name,
      ...(settings.natsUser === undefined
        ? {}
        : { user: settings.natsUser, pass: settings.natsPassword ?? '', inboxPrefix: inboxPrefixFor(settings.natsUser) }),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
    return { nc, anonymousAccepted };
  } catch (error) {
    if (!isAuthorizationError(error)) throw error;
    throw new NatsSecurityError('NATS_AUTHENTICATION_FAILED', `the NATS server at ${settings.natsUrl} refused user ${settings.natsUser ?? '(none)'}`, { cause: error });
  }
}

/** Connects as the service's NATS user (see {@link openNatsSession}). */
export async function connectNats(settings: NatsSettings, name: string): Promise<NatsConnection> {
  return (await openNatsSession(settings, name)).nc;
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
 * refuses one whose configuration differs, so two openers with different settings would fail.
 */
export function eventStreamSettings(config: EventStreamConfig): EventStreamSettings {
  return {
    streamName: config.eventStream,
    subjectPrefix: config.subjectPrefix,
    replicas: config.streamReplicas,
    duplicateWindowMs: DUPLICATE_WINDOW_MS,
  };
}

/**
 * Runs `work` with a client checked out of `pool`. While it is checked out the client has an
 * 'error' listener: a session that ends under it (server restart, pg_terminate_backend) emits
 * 'error' on the client, which pg-pool listens for only on idle clients, and unheard it would end
 * the process. A client whose session broke is handed back as broken, so the pool discards it
 * instead of lending it out again.
 */
export async function withPooledClient<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error): void => void (broken = error);
  client.on('error', onError);
  try {
    return await work(client);
  } catch (error) {
    // A query failing because the connection is gone: do not hand the client back for reuse.
    if (broken === undefined && error instanceof Error && /Connection terminated|connection ended|terminating connection/i.test(error.message)) broken = error;
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
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

/** The name TypeORM records a migration under (its `name` property, else its class name). */
function recordedName(migration: new () => MigrationInterface): string {
  const instance = new migration();
  return instance.name ?? instance.constructor.name;
}

/**
 * Whether every migration is already recorded in the migrations table, checked with one plain
 * query: the common case at every start, answered without loading TypeORM (whose module graph is
 * the largest single part of a service's boot: ~0.5 s idle, 3 s on a loaded 2-core machine). Any
 * doubt (no table yet, a missing name, an error) answers false and the caller runs TypeORM.
 */
export async function migrationsCurrent(
  databaseUrl: string,
  migrations: readonly (new () => MigrationInterface)[],
  migrationsTableName: string,
): Promise<boolean> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(migrationsTableName)) return false;
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on('error', () => {
    // A connection lost mid-check surfaces as the query's rejection (→ false).
  });
  try {
    await client.connect();
    const exists = await client.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [migrationsTableName]);
    if (exists.rows[0]?.present !== true) return false;
    const rows = await client.query<{ name: string }>(`SELECT name FROM "${migrationsTableName}"`);
    const recorded = new Set(rows.rows.map((r) => r.name));
    return migrations.every((migration) => recorded.has(recordedName(migration)));
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Runs the service's TypeORM migrations (never `synchronize`); returns the names of those it ran.
 * When all are recorded already (see {@link migrationsCurrent}) nothing is loaded or run.
 */
export async function runMigrations(
  databaseUrl: string,
  migrations: readonly (new () => MigrationInterface)[],
  migrationsTableName: string,
): Promise<string[]> {
  if (await migrationsCurrent(databaseUrl, migrations, migrationsTableName)) return [];
  const { DataSource } = await import('typeorm');
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
