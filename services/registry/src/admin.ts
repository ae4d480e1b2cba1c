// Operator commands for the registry's read models, run with the service's environment:
//   node services/registry/dist/admin.js rebuild [--keep]   replay every projection from sequence 1
//                                                           into scratch tables and compare them
//                                                           with the live ones, row for row
//   node services/registry/dist/admin.js dead-letters       list events parked by projections
import 'reflect-metadata';
import { compareProjection, dropRebuildSchema, quoteIdent, rebuildProjection } from '@trustplane/eventstore';
import { connectNats, createPgPool, eventStreamSettings } from '@trustplane/platform';
import { loadRegistryConfig } from './config.js';
import { registryProjections } from './projections.js';

async function main(): Promise<void> {
  const [command, ...flags] = process.argv.slice(2);
  const config = loadRegistryConfig();
  const pool = createPgPool(config.databaseUrl, 4);
  try {
    if (command === 'rebuild') {
      const nc = await connectNats(config, 'registry-admin');
      let allEqual = true;
      try {
        for (const projection of registryProjections) {
          const target = `${config.schema}_rebuild_${Date.now().toString(36)}`;
          const result = await rebuildProjection({
            nc,
            pool,
            stream: eventStreamSettings(config),
            projection,
            liveSchema: config.schema,
            targetSchema: target,
          });
          const comparison = await compareProjection(pool, projection, config.schema, target);
          allEqual &&= comparison.equal;
          process.stdout.write(
            `${projection.name}: replayed ${result.eventsRead} events (${result.eventsApplied} applied) through sequence ${result.throughSequence} in ${Math.round(result.durationMs)} ms\n`,
          );
          for (const table of comparison.tables) {
            process.stdout.write(
              `  ${table.table}: live ${table.leftRows} rows md5 ${table.leftDigest.slice(0, 12)} | rebuilt ${table.rightRows} rows md5 ${table.rightDigest.slice(0, 12)} → ${table.leftDigest === table.rightDigest ? 'identical' : 'DIFFERENT'}\n`,
            );
          }
          if (flags.includes('--keep')) process.stdout.write(`  rebuilt tables kept in schema ${target}\n`);
          else await dropRebuildSchema(pool, target);
        }
      } finally {
        await nc.close();
      }
      process.exitCode = allEqual ? 0 : 1;
    } else if (command === 'dead-letters') {
      const rows = await pool.query(
        `SELECT projection, stream_seq, event_type, error, failed_at FROM ${quoteIdent(config.schema)}.projection_dead_letters ORDER BY id`,
      );
      if (rows.rowCount === 0) process.stdout.write('no dead letters\n');
      for (const row of rows.rows) {
        process.stdout.write(`${row.projection}\tseq ${row.stream_seq}\t${row.event_type}\t${row.error}\t${row.failed_at.toISOString()}\n`);
      }
    } else {
      process.stderr.write('usage: admin.js rebuild [--keep] | dead-letters\n');
      process.exitCode = 2;
    }
  } finally {
    await pool.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
