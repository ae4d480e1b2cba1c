// `npm run up`: the services on the local stack, kept running until Ctrl-C.
// Database of DATABASE_URL (`trustplane`), stream TP_EVENTS; each service connects to NATS as its
// own bus user; ports from the environment (defaults below).
import { ROOT, SERVICES_DATABASE_URL, ensureDatabase, natsEnvFor, provisionStream, startService } from './lib/stack.mjs';

const registryPort = process.env.TP_REGISTRY_PORT ?? '8080';

async function main() {
  const databaseUrl = await ensureDatabase(new URL(SERVICES_DATABASE_URL).pathname.slice(1));
  await provisionStream(process.env.TP_EVENT_STREAM ?? 'TP_EVENTS', process.env.TP_SUBJECT_PREFIX ?? 'tp');
  const signerPort = process.env.TP_SIGNER_PORT ?? '8081';
  const authPort = process.env.TP_AUTH_PORT ?? '8082';
  const auth = `http://127.0.0.1:${authPort}`;
  const env = { DATABASE_URL: databaseUrl, TP_REGISTRY_PORT: registryPort, TP_SIGNER_PORT: signerPort, TP_REGISTRY_PUBLIC_BUNDLE_BASE_URL: process.env.TP_FEDERATION_PUBLIC_BASE_URL ?? `http://127.0.0.1:${process.env.TP_FEDERATION_PORT ?? '8083'}` };
  const authEnv = { DATABASE_URL: databaseUrl, TP_AUTH_PORT: authPort, ...natsEnvFor('auth'), TP_AUTH_KEY_DIR: `${ROOT}/.local/auth/keys`, TP_AUTH_KEK_PATH: `${ROOT}/.local/auth/kek` };
  const base = `http://127.0.0.1:${registryPort}`;
  const signer = `http://127.0.0.1:${signerPort}`;
  const federationPort = process.env.TP_FEDERATION_PORT ?? '8083';
  const federation = `http://127.0.0.1:${federationPort}`;
  const writer = natsEnvFor('federationWriter');
  const federationEnv = { ...natsEnvFor('federation'), TP_FEDERATION_WRITER_NATS_USER: writer.TP_NATS_USER, TP_FEDERATION_WRITER_NATS_PASSWORD: writer.TP_NATS_PASSWORD, TP_FEDERATION_PORT: federationPort, TP_FEDERATION_PUBLIC_BASE_URL: process.env.TP_FEDERATION_PUBLIC_BASE_URL ?? federation };
  const signerEnv = { ...env, ...natsEnvFor('signer'), TP_SIGNER_KEY_DIR: `${ROOT}/.local/signer/keys`, TP_SIGNER_KEK_PATH: `${ROOT}/.local/signer/kek` };
  const services = [
    // The auth service first: the registry forwards deployment keys, credentials and audit to it.
    await startService('auth', 'services/auth/dist/main.js', authEnv, `${auth}/readyz`, { quiet: false }),
    await startService('registry', 'services/registry/dist/main.js', { ...env, ...natsEnvFor('registry'), TP_REGISTRY_AUTH_URL: auth }, `${base}/readyz`, { quiet: false }),
    await startService('signer', 'services/signer/dist/main.js', signerEnv, `${signer}/readyz`, { quiet: false }),
    await startService('federation', 'services/federation/dist/main.js', federationEnv, `${federation}/readyz`, { quiet: false }),
  ];
  process.stdout.write(
    `\nTrustPlane is up (repo ${ROOT}):\n  registry  ${base}  (health ${base}/readyz, metrics ${base}/metrics)\n  signer    ${signer}  (health ${signer}/readyz, metrics ${signer}/metrics)\n  auth      ${auth}  (deployment keys, credential exchange; reached through the registry)\n  federation ${federation}  (public bundle / JWKS / OIDC discovery under <org-id>/<td-id>/)\nCtrl-C stops.\n`,
  );
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
