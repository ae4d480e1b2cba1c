// Child process of `npm run bench -- workload-api`: the baseline, a bare grpc-js server on its
// own Unix socket (bound by grpc-js itself) with no attestation, matching or caching. It answers
// FetchX509SVID with the agent's own encoded response and FetchJWTSVID with the agent's own
// JWT-SVID response, both read from files the benchmark wrote. Prints "ready <pid>".
import { readFileSync, rmSync } from 'node:fs';
import { Server, ServerCredentials, type ServerWritableStream, type sendUnaryData } from '@grpc/grpc-js';
import { workload } from '@trustplane/proto';

async function main(): Promise<void> {
  const [socketPath = '', x509Path = '', jwtPath = ''] = process.argv.slice(2);
  const x509 = workload.X509SVIDResponse.decode(readFileSync(x509Path));
  const jwt = workload.JWTSVIDResponse.decode(readFileSync(jwtPath));
  const server = new Server();
  server.addService(workload.SpiffeWorkloadAPIService, {
    fetchX509Svid: (call: ServerWritableStream<unknown, workload.X509SVIDResponse>) => {
      call.write(x509);
    },
    fetchX509Bundles: () => undefined,
    fetchJwtsvid: (_call: unknown, callback: sendUnaryData<workload.JWTSVIDResponse>) => callback(null, jwt),
    fetchJwtBundles: () => undefined,
    validateJwtsvid: () => undefined,
  } as never);
  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  process.stdout.write(`ready ${process.pid}\n`);
  process.once('SIGTERM', () => {
    server.forceShutdown();
    rmSync(socketPath, { force: true });
    process.exit(0);
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
