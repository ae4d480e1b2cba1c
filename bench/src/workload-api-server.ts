// Child process of `npm run bench -- workload-api`: the agent's Workload API server with 1,000
// cached workload identities (real certificates and keys), plus one identity for uid 0 that
// the benchmark's streams receive. Prints "ready" and its pid; exits on SIGTERM.
import pino from 'pino';
import { StaticIdentitySource, WorkloadApiServer, applyAgentV8Settings } from '@trustplane/agent';
import { createTestTrustDomain, identity, snapshotOf } from '@trustplane/agent/dist/testing/fixtures.js';

async function main(): Promise<void> {
  applyAgentV8Settings(); // as the agent's main does
  const socketPath = process.argv[2] ?? '/tmp/tp-bench-agent.sock';
  const workloads = Number(process.argv[3] ?? 1000);
  const td = await createTestTrustDomain('bench.example');
  const identities = [identity('e-bench', 'spiffe://bench.example/bench-client', ['unix:uid:0'], await td.mintSvid('spiffe://bench.example/bench-client'))];
  for (let i = 0; i < workloads; i++) {
    identities.push(identity(`e-${i}`, `spiffe://bench.example/workload-${i}`, [`unix:uid:${20_000 + i}`], await td.mintSvid(`spiffe://bench.example/workload-${i}`)));
  }
  const source = new StaticIdentitySource(snapshotOf(td, identities), (spiffeId, audience) => td.mintJwt(spiffeId, audience));
  const server = new WorkloadApiServer({ socketPath, source, logger: pino({ level: 'silent' }) });
  await server.start();
  process.stdout.write(`ready ${process.pid}\n`);
  process.once('SIGTERM', () => {
    void server.stop().then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
