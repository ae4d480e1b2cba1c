// Boot time (CHAOS-FINDINGS F2): a start whose migrations are all recorded checks that with one
// plain query and never loads TypeORM (the largest module graph of a boot); anything else (a new
// database, a migration not yet recorded) still goes through TypeORM, which runs exactly the
// missing ones. Real PostgreSQL; the "TypeORM not loaded" claim is checked in a fresh process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { migrationsCurrent } from '@trustplane/platform';
import { createTestDatabase, repoRoot } from '@trustplane/testkit';
import { registryMigrations } from './migrations/index.js';

/** Runs the registry's migrations in a new Node process; reports what ran and whether TypeORM was loaded. */
function migrateInChild(url: string, count: number): { ran: string[]; typeormLoaded: boolean } {
  const dist = join(repoRoot(), 'services', 'registry', 'dist');
  const script = `
    import { createRequire } from 'node:module';
    import { runMigrations } from '@trustplane/platform';
    import { registryMigrations } from ${JSON.stringify(join(dist, 'migrations', 'index.js'))};
    const ran = await runMigrations(process.env.URL, registryMigrations('registry').slice(0, ${count}), 'registry_migrations');
    const cache = Object.keys(createRequire(import.meta.url).cache);
    process.stdout.write(JSON.stringify({ ran, typeormLoaded: cache.some((p) => p.includes('/node_modules/typeorm/')) }));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dist, env: { ...process.env, URL: url }, encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as { ran: string[]; typeormLoaded: boolean };
}

test('migrations: a start with every migration recorded skips TypeORM; a missing one is run by TypeORM', { timeout: 120_000 }, async () => {
  const db = await createTestDatabase('migrations_current');
  try {
    const all = registryMigrations('registry');
    assert.equal(await migrationsCurrent(db.url, all, 'registry_migrations'), false, 'a new database has no migrations table');
    // First start on a database with all but the last migration: TypeORM runs them.
    const first = migrateInChild(db.url, all.length - 1);
    assert.equal(first.ran.length, all.length - 1);
    assert.equal(first.typeormLoaded, true);
    assert.equal(await migrationsCurrent(db.url, all.slice(0, -1), 'registry_migrations'), true);
    // A release with one more migration: not current, and TypeORM runs exactly that one.
    assert.equal(await migrationsCurrent(db.url, all, 'registry_migrations'), false, 'the last migration is not recorded');
    const second = migrateInChild(db.url, all.length);
    assert.equal(second.ran.length, 1);
    assert.equal(second.typeormLoaded, true);
    // Every later start: nothing to run, and TypeORM is never loaded.
    const third = migrateInChild(db.url, all.length);
    assert.deepEqual(third.ran, []);
    assert.equal(third.typeormLoaded, false, 'TypeORM was loaded although every migration is recorded');
    // A recorded name that does not match (a renamed or removed row) is not current.
    await db.pool.query(`DELETE FROM registry_migrations WHERE id = (SELECT max(id) FROM registry_migrations)`);
    assert.equal(await migrationsCurrent(db.url, all, 'registry_migrations'), false, 'a missing record is not current');
    // A hostile table name is refused without a query (it is interpolated).
    assert.equal(await migrationsCurrent(db.url, all, 'registry_migrations"; DROP TABLE x; --'), false);
  } finally {
    await db.drop();
  }
});
