// Child process of `npm run bench -- workload-api`, started under a workload uid (the kernel's
// peer credentials are what the agent attests): the measuring workload.
//   sample <socket> <x509-out> <jwt-out>   writes the encoded responses it receives (for the baseline)
//   measure <socket> <new> <existing> <jwt> <warmup>
//       prints one JSON line of latencies (ms): first message of FetchX509SVID on a NEW connection
//       (connect, peer credentials, attestation, first message), first message of a new stream on
//       an EXISTING connection, and cached FetchJWTSVID on an existing connection.
import { writeFileSync } from 'node:fs';
import { Metadata, credentials } from '@grpc/grpc-js';
import { workload } from '@trustplane/proto';

function metadata(): Metadata {
  const md = new Metadata();
  md.set('workload.spiffe.io', 'true');
  return md;
}

function client(socket: string): workload.SpiffeWorkloadAPIClient {
  return new workload.SpiffeWorkloadAPIClient(`unix://${socket}`, credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    // Own connection per client, so a fresh client really is a fresh connection.
    'grpc.use_local_subchannel_pool': 1,
  });
}

/** Time from call to first message of a new FetchX509SVID stream (ms). */
function firstMessage(c: workload.SpiffeWorkloadAPIClient): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const call = c.fetchX509Svid({}, metadata());
    call.once('data', () => {
      resolve(performance.now() - started);
      call.cancel();
    });
    call.once('error', (error: { code?: number }) => {
      if (error.code !== 1) reject(error as Error);
    });
  });
}

function fetchJwt(c: workload.SpiffeWorkloadAPIClient): Promise<{ ms: number; value: workload.JWTSVIDResponse }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    c.fetchJwtsvid({ audience: ['bench'], spiffeId: '' }, metadata(), (error, value) =>
      error || !value ? reject(error ?? new Error('no value')) : resolve({ ms: performance.now() - started, value }),
    );
  });
}

/** A new connection for each sample: connect, HTTP/2 preface, first stream, first message. */
async function newConnections(socket: string, count: number, warmup: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = -warmup; i < count; i++) {
    const c = client(socket);
    const ms = await firstMessage(c);
    c.close();
    if (i >= 0) out.push(ms);
  }
  return out;
}

// A fresh connection every CALLS_PER_CHANNEL streams: nghttp2's rapid-reset guard (a burst of
// 1,000 RST_STREAMs, then about 33/s) ends a connection that cancels streams as fast as this
// loop does, with GOAWAY INTERNAL_ERROR. The connection's first stream is not counted here.
const CALLS_PER_CHANNEL = 200;

async function existingConnection(socket: string, count: number, warmup: number): Promise<number[]> {
  const out: number[] = [];
  for (let done = -warmup; done < count; ) {
    const c = client(socket);
    await firstMessage(c);
    for (let i = 0; i < CALLS_PER_CHANNEL && done < count; i++, done++) {
      const ms = await firstMessage(c);
      if (done >= 0) out.push(ms);
    }
    c.close();
  }
  return out;
}

async function jwtCached(socket: string, count: number, warmup: number): Promise<number[]> {
  const c = client(socket);
  const out: number[] = [];
  for (let i = -warmup; i < count; i++) {
    const { ms } = await fetchJwt(c);
    if (i >= 0) out.push(ms);
  }
  c.close();
  return out;
}

async function main(): Promise<void> {
  const [mode, socket = '', ...rest] = process.argv.slice(2);
  if (mode === 'sample') {
    const [x509Out = '', jwtOut = ''] = rest;
    const c = client(socket);
    const x509 = await new Promise<Buffer>((resolve, reject) => {
      const call = c.fetchX509Svid({}, metadata());
      call.once('data', (message: workload.X509SVIDResponse) => {
        resolve(Buffer.from(workload.X509SVIDResponse.encode(message).finish()));
        call.cancel();
      });
      call.once('error', (error: { code?: number }) => {
        if (error.code !== 1) reject(error as Error);
      });
    });
    const jwt = await fetchJwt(c);
    writeFileSync(x509Out, x509);
    writeFileSync(jwtOut, Buffer.from(workload.JWTSVIDResponse.encode(jwt.value).finish()));
    c.close();
    await new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify({ x509Bytes: x509.length })}\n`, () => resolve()));
    return;
  }
  const [fresh, existing, jwt, warmup] = rest.map(Number) as [number, number, number, number];
  const result = {
    newConnection: await newConnections(socket, fresh, Math.min(warmup, 200)),
    existingConnection: await existingConnection(socket, existing, warmup),
    jwt: await jwtCached(socket, jwt, warmup),
  };
  // Resolve only once the pipe has taken all of it: the process exits right after.
  await new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(result)}\n`, () => resolve()));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
