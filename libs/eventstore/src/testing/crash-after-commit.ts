// Child process for the "killed right after a commit" test: runs the counting projection and
// SIGKILLs itself right after the first commit.
import { connectTestNats } from '@trustplane/testkit';
import pg from 'pg';
import { ProjectionRunner } from '../projection-runner.js';
import { countingProjection } from './counting-projection.js';

async function main(): Promise<void> {
  const [databaseUrl, streamName, subjectPrefix, schema] = process.argv.slice(2);
  if (!databaseUrl || !streamName || !subjectPrefix || !schema) {
    throw new Error('usage: crash-after-commit <databaseUrl> <stream> <prefix> <schema> (NATS from the test environment)');
  }
  const nc = await connectTestNats();
  const pool = new pg.Pool({ connectionString: databaseUrl });
  const runner = new ProjectionRunner({
    nc,
    pool,
    stream: { streamName, subjectPrefix, replicas: 1, duplicateWindowMs: 120_000 },
    schema,
    projection: countingProjection,
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
