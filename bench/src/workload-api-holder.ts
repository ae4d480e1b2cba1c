// Child process of `npm run bench -- workload-api`, started under a workload uid: holds N
// FetchX509SVID streams open on an agent's socket (a separate process, so the measuring client is
// not slowed by them). Prints "open" once every stream has received its first message.
import { Metadata, credentials } from '@grpc/grpc-js';
import { workload } from '@trustplane/proto';

const socket = process.argv[2] ?? '';
const count = Number(process.argv[3] ?? 100);
const md = new Metadata();
md.set('workload.spiffe.io', 'true');
// Several channels, as several processes of a workload would have.
const clients = Array.from({ length: 10 }, () => new workload.SpiffeWorkloadAPIClient(`unix://${socket}`, credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 }));
let received = 0;
for (let i = 0; i < count; i++) {
  const call = clients[i % clients.length]?.fetchX509Svid({}, md);
  call?.once('data', () => {
    received += 1;
    if (received === count) process.stdout.write('open\n');
  });
  call?.on('error', (error: Error) => process.stderr.write(`holder stream: ${error.message}\n`));
}
process.once('SIGTERM', () => process.exit(0));
// The bench's end (or crash) closes our stdin: leave with it.
process.stdin.resume();
process.stdin.once('end', () => process.exit(0));
