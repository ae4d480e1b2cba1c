// Child process for the "killed after commit, before ack" test: runs the counting projection
// and SIGKILLs itself right after the first commit, so no message of that batch is acked.
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { ProjectionRunner } from '../projection-runner.js';
import { countingProjection } from './counting-projection.js';

async function main(): Promise<void> {
  const [natsUrl, databaseUrl, streamName, subjectPrefix, schema] = process.argv.slice(2);
  if (!natsUrl || !databaseUrl || !streamName || !subjectPrefix || !schema) {
    throw new Error('usage: crash-after-commit <natsUrl> <databaseUrl> <stream> <prefix> <schema>');
  }
  const nc = await connect({ servers: natsUrl });
  const pool = new pg.Pool({ connectionString: databaseUrl });
  const runner = new ProjectionRunner({
    nc,
    pool,
    stream: { streamName, subjectPrefix, replicas: 1, duplicateWindowMs: 120_000 },
    schema,
    projection: countingProjection,
    ackWaitMs: 1_000,
    afterCommit: (checkpoint) => {
      process.stdout.write(`committed ${checkpoint}\n`);
      process.kill(process.pid, 'SIGKILL');
    },
  });
  await runner.start();
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
