// `npm run up`: the services on the local stack, kept running until Ctrl-C.
// Database `trustplane`, stream TP_EVENTS; ports from the environment (defaults below).
import { ROOT, ensureDatabase, startService } from './lib/stack.mjs';

const registryPort = process.env.TP_REGISTRY_PORT ?? '8080';

async function main() {
  const databaseUrl = await ensureDatabase(process.env.TP_DATABASE_NAME ?? 'trustplane');
  const env = { DATABASE_URL: databaseUrl, TP_REGISTRY_PORT: registryPort };
  const base = `http://127.0.0.1:${registryPort}`;
  const services = [await startService('registry', 'services/registry/dist/main.js', env, `${base}/readyz`, { quiet: false })];
  process.stdout.write(`\nTrustPlane is up (repo ${ROOT}):\n  registry  ${base}  (health ${base}/readyz, metrics ${base}/metrics)\nCtrl-C stops.\n`);
  const stop = async () => {
    await Promise.all(services.map((s) => s.stop()));
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error) => {
  process.stderr.write(`up failed: ${error.stack ?? error}\n`);
  process.exit(1);
});
