// An auth process for crash tests: configured from the environment like main.ts, it SIGKILLs
// itself right after the command bus commits an event of the type given as its argument —
// after the append, before any answer. It runs no projections (nothing is left unacked for the
// other processes to wait out).
import 'reflect-metadata';
import { loadAuthConfig } from '../config.js';
import { startAuth } from '../server.js';

async function main(): Promise<void> {
  const [eventType] = process.argv.slice(2);
  if (eventType === undefined) throw new Error('usage: crash-after-append <event type>');
  const server = await startAuth(loadAuthConfig(), {
    projections: [],
    hooks: {
      afterAppend(events) {
        if (events.some((event) => event.type === eventType)) process.kill(process.pid, 'SIGKILL');
      },
    },
  });
  process.stdout.write(`listening ${server.url}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
