import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  Metadata,
  Server,
  ServerCredentials,
  credentials,
  status,
  type ServiceError,
} from '@grpc/grpc-js';
import { workload } from './index.js';

const SECURITY_HEADER = 'workload.spiffe.io';

function x509Response(serial: number): workload.X509SVIDResponse {
  return {
    svids: [
      {
        spiffeId: 'spiffe://example.org/web',
        x509Svid: Buffer.from([0x30, serial]),
        x509SvidKey: Buffer.from([0x30, 0x00]),
        bundle: Buffer.from([0x30, 0x01]),
        hint: '',
      },
    ],
    crl: [],
    federatedBundles: {},
  };
}

function unimplemented(name: string): Partial<ServiceError> {
  return { code: status.UNIMPLEMENTED, details: `${name} is not part of this test server` };
}

/** A minimal in-test Workload API server: proves the generated definition works with grpc-js over a Unix socket. */
const handlers: workload.SpiffeWorkloadAPIServer = {
  fetchX509Svid: (call) => {
    if (call.metadata.get(SECURITY_HEADER)[0] !== 'true') {
      call.emit('error', { code: status.INVALID_ARGUMENT, details: 'missing security header' });
      return;
    }
    call.write(x509Response(1));
    call.write(x509Response(2));
    call.end();
  },
  fetchX509Bundles: (call) => {
    call.emit('error', unimplemented('FetchX509Bundles'));
  },
  fetchJwtsvid: (call, callback) => {
    callback(null, {
      svids: call.request.audience.map((aud) => ({
        spiffeId: 'spiffe://example.org/web',
        svid: `jwt-for-${aud}`,
        hint: '',
      })),
    });
  },
  fetchJwtBundles: (call) => {
    call.emit('error', unimplemented('FetchJWTBundles'));
  },
  validateJwtsvid: (_call, callback) => {
    callback(unimplemented('ValidateJWTSVID'), null);
  },
  fetchWitsvid: (call) => {
    call.emit('error', unimplemented('FetchWITSVID'));
  },
  fetchWitBundles: (call) => {
    call.emit('error', unimplemented('FetchWITBundles'));
  },
};

describe('generated SpiffeWorkloadAPI service over grpc-js on a Unix socket', () => {
  let dir: string;
  let server: Server;
  let client: workload.SpiffeWorkloadAPIClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'workload-api-'));
    const address = `unix://${join(dir, 'agent.sock')}`;
    server = new Server();
    server.addService(workload.SpiffeWorkloadAPIService, handlers);
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(address, ServerCredentials.createInsecure(), (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    client = new workload.SpiffeWorkloadAPIClient(address, credentials.createInsecure());
  });

  after(async () => {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams FetchX509SVID messages to the client', async () => {
    const metadata = new Metadata();
    metadata.set(SECURITY_HEADER, 'true');
    const received: workload.X509SVIDResponse[] = [];
    for await (const message of client.fetchX509Svid({}, metadata)) {
      received.push(message as workload.X509SVIDResponse);
    }
    assert.deepEqual(received, [x509Response(1), x509Response(2)]);
  });

  it('carries status codes from the server', async () => {
    const error = await new Promise<ServiceError>((resolve, reject) => {
      const stream = client.fetchX509Svid({});
      stream.on('data', () => reject(new Error('unexpected message')));
      stream.on('error', (e: ServiceError) => resolve(e));
    });
    assert.equal(error.code, status.INVALID_ARGUMENT);
  });

  it('answers unary FetchJWTSVID', async () => {
    const response = await new Promise<workload.JWTSVIDResponse>((resolve, reject) =>
      client.fetchJwtsvid({ audience: ['db', 'cache'], spiffeId: '' }, (error, value) =>
        error ? reject(error) : resolve(value),
      ),
    );
    assert.deepEqual(
      response.svids.map((s) => s.svid),
      ['jwt-for-db', 'jwt-for-cache'],
    );
  });

  it('carries unary errors', async () => {
    const error = await new Promise<ServiceError | null>((resolve) =>
      client.validateJwtsvid({ audience: 'db', svid: 'x' }, (e) => resolve(e)),
    );
    assert.equal(error?.code, status.UNIMPLEMENTED);
  });
});
