// Child process of `npm run bench -- workload-api`: holds N FetchX509SVID streams open on a
// socket (a separate process, so the measuring client is not slowed by them). Prints "open".
import { Metadata, credentials } from '@grpc/grpc-js';
import { workload } from '@trustplane/proto';

const socket = process.argv[2] ?? '';
const count = Number(process.argv[3] ?? 1000);
const md = new Metadata();
md.set('workload.spiffe.io', 'true');
// Several channels, as many workloads would have.
const clients = Array.from({ length: 10 }, () => new workload.SpiffeWorkloadAPIClient(`unix://${socket}`, credentials.createInsecure()));
let received = 0;
for (let i = 0; i < count; i++) {
  const call = clients[i % clients.length]?.fetchX509Svid({}, md);
  call?.once('data', () => {
    received += 1;
    if (received === count) process.stdout.write('open\n');
  });
  call?.on('error', () => undefined);
}
process.once('SIGTERM', () => process.exit(0));
