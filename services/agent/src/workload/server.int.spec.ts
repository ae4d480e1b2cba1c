import assert from 'node:assert/strict';
import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { createConnection, type Socket } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import { validateJwtSvid } from '@trustplane/crypto';
import { workload } from '@trustplane/proto';
import pino from 'pino';
import { StaticIdentitySource, type WorkloadIdentity } from '../identity-source.js';
import {
  createTestTrustDomain,
  identity,
  snapshotOf,
  type TestTrustDomain,
} from '../testing/fixtures.js';
import { securityMetadata, StreamReader, workloadClient } from '../testing/grpc-client.js';
import { WorkloadApiServer } from './server.js';

const silent = pino({ level: 'silent' });
const ROOT_ID = 'spiffe://example.org/workload/root';
const NOBODY_ID = 'spiffe://example.org/workload/nobody';

type Client = workload.SpiffeWorkloadAPIClient;

function fetchJwtSvid(
  client: Client,
  request: workload.JWTSVIDRequest,
  header = true,
): Promise<{ value?: workload.JWTSVIDResponse; error?: ServiceError }> {
  return new Promise((resolve) =>
    client.fetchJwtsvid(request, securityMetadata(header), (error, value) =>
      resolve(error ? { error } : { value }),
    ),
  );
}

function validateJwt(
  client: Client,
  request: workload.ValidateJWTSVIDRequest,
  header = true,
): Promise<{ value?: workload.ValidateJWTSVIDResponse; error?: ServiceError }> {
  return new Promise((resolve) =>
    client.validateJwtsvid(request, securityMetadata(header), (error, value) =>
      resolve(error ? { error } : { value }),
    ),
  );
}

function x509Stream(client: Client, header = true): StreamReader<workload.X509SVIDResponse> {
  return new StreamReader(client.fetchX509Svid({}, securityMetadata(header)));
}

/** The script run as another user: prints the outcome of FetchX509SVID as one JSON line. */
const CHILD_CLIENT = `
const grpc = require(process.env.GRPC_PATH);
const { workload } = require(process.env.PROTO_PATH);
const client = new workload.SpiffeWorkloadAPIClient('unix://' + process.env.SOCKET, grpc.credentials.createInsecure());
const md = new grpc.Metadata();
md.set('workload.spiffe.io', 'true');
const stream = client.fetchX509Svid({}, md);
const done = (out) => { process.stdout.write(JSON.stringify(out) + '\\n'); stream.cancel(); client.close(); };
stream.on('data', (m) => done({ uid: process.getuid(), svids: m.svids.map((s) => s.spiffeId), keyBytes: m.svids.map((s) => s.x509SvidKey.length) }));
stream.on('error', (e) => { if (e.code !== grpc.status.CANCELLED) done({ uid: process.getuid(), code: e.code, details: e.details }); });
`;

async function runAs(
  uid: number,
  scriptPath: string,
  socketPath: string,
): Promise<{ uid: number; svids?: string[]; code?: number; details?: string }> {
  const child = spawn(process.execPath, [scriptPath], {
    uid,
    gid: uid,
    env: {
      SOCKET: socketPath,
      GRPC_PATH: require.resolve('@grpc/grpc-js'),
      // Resolved by a computed name: the child script loads the generated client by path.
      PROTO_PATH: require.resolve(['@trustplane', 'proto'].join('/')),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `child failed: ${err}`);
  return JSON.parse(out.trim().split('\n')[0] ?? '{}') as {
    uid: number;
    svids?: string[];
    code?: number;
  };
}

/** A child that connects to the socket, sends the connection to its parent over IPC, and exits when told. */
const CONNECTOR = `
const net = require('net');
const s = net.connect(process.argv[2], () => process.send('socket', s));
process.on('message', (m) => { if (m === 'exit') process.exit(0); });
`;

/** One unary FetchJWTSVID over a raw HTTP/2 session: the grpc-status and message. */
async function rawFetchJwt(
  session: ClientHttp2Session,
): Promise<{ status: number; message: string }> {
  const body = Buffer.from(
    workload.JWTSVIDRequest.encode({ audience: ['a'], spiffeId: '' }).finish(),
  );
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), body]);
  const request = session.request({
    ':method': 'POST',
    ':path': '/SpiffeWorkloadAPI/FetchJWTSVID',
    'content-type': 'application/grpc',
    te: 'trailers',
    'workload.spiffe.io': 'true',
  });
  let result = { status: -1, message: '' };
  const capture = (headers: Record<string, unknown>): void => {
    if (headers['grpc-status'] === undefined) return;
    result = {
      status: Number(headers['grpc-status']),
      message: decodeURIComponent(String(headers['grpc-message'] ?? '')),
    };
  };
  request.on('response', capture);
  request.on('trailers', capture);
  request.resume();
  request.end(frame);
  await once(request, 'close');
  return result;
}

describe('Workload API server on a Unix socket (real certificates, kernel peer credentials)', () => {
  let dir: string;
  let socketPath: string;
  let scriptPath: string;
  let td: TestTrustDomain;
  let partner: TestTrustDomain;
  let rootIdentity: WorkloadIdentity;
  let source: StaticIdentitySource;
  let server: WorkloadApiServer;
  let client: Client;
  let mintCalls = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-wl-'));
    // The socket's directory must be traversable by the other-uid client.
    chmodSync(dir, 0o755);
    socketPath = join(dir, 'public', 'api.sock');
    scriptPath = join(dir, 'client.js');
    writeFileSync(scriptPath, CHILD_CLIENT, { mode: 0o644 });
    td = await createTestTrustDomain('example.org');
    partner = await createTestTrustDomain('partner.example');
    rootIdentity = identity('e-root', ROOT_ID, ['unix:uid:0'], await td.mintSvid(ROOT_ID), {
      federatesWith: ['partner.example'],
    });
    source = new StaticIdentitySource(snapshotOf(td, [rootIdentity], [partner]), (id, aud) => {
      mintCalls++;
      return td.mintJwt(id, aud);
    });
    server = new WorkloadApiServer({ socketPath, source, logger: silent });
    await server.start();
    client = workloadClient(socketPath);
  });

  after(async () => {
    client.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the socket (and its directory) dialable by any local user', () => {
    const st = statSync(socketPath);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o777);
    assert.equal(server.endpoint, `unix://${socketPath}`);
  });

  it('rejects every RPC without the security header (InvalidArgument)', async () => {
    const streams = [
      x509Stream(client, false),
      new StreamReader(client.fetchX509Bundles({}, securityMetadata(false))),
      new StreamReader(client.fetchJwtBundles({}, securityMetadata(false))),
    ];
    for (const s of streams) {
      const error = await s.error();
      assert.equal(error.code, status.INVALID_ARGUMENT);
      assert.match(error.details, /security header missing from request/);
    }
    const jwt = await fetchJwtSvid(client, { audience: ['db'], spiffeId: '' }, false);
    assert.equal(jwt.error?.code, status.INVALID_ARGUMENT);
    const validate = await validateJwt(client, { audience: 'db', svid: 'x.y.z' }, false);
    assert.equal(validate.error?.code, status.INVALID_ARGUMENT);
  });

  it('serves the matching uid its X.509-SVID, key, bundle and federated bundles at once', async () => {
    const stream = x509Stream(client);
    const message = await stream.next();
    stream.cancel();
    assert.equal(message.svids.length, 1);
    const svid = message.svids[0]!;
    assert.equal(svid.spiffeId, ROOT_ID);
    assert.deepEqual(svid.x509Svid, Buffer.concat(rootIdentity.x509!.chain as Buffer[]));
    assert.deepEqual(svid.x509SvidKey, rootIdentity.x509!.privateKey);
    assert.deepEqual(svid.bundle, td.caCertificate);
    const leaf = new X509Certificate(svid.x509Svid);
    assert.equal(leaf.subjectAltName, `URI:${ROOT_ID}`);
    assert.ok(leaf.verify(new X509Certificate(svid.bundle).publicKey));
    assert.deepEqual(Object.keys(message.federatedBundles), ['spiffe://partner.example']);
    assert.deepEqual(message.federatedBundles['spiffe://partner.example'], partner.caCertificate);
  });

  it('pushes a complete new message on every change and ends with PermissionDenied when nothing is left', async () => {
    const stream = x509Stream(client);
    const first = await stream.next();
    assert.deepEqual(
      first.svids.map((s) => s.spiffeId),
      [ROOT_ID],
    );

    // A new entry for the same workload: both SVIDs, the default (first in priority) first.
    const extraId = 'spiffe://example.org/workload/extra';
    const extra = identity('e-extra', extraId, ['unix:uid:0'], await td.mintSvid(extraId), {
      hint: 'extra',
    });
    source.update((s) => ({ ...s, identities: [...s.identities, extra] }));
    const second = await stream.next();
    assert.deepEqual(
      second.svids.map((s) => s.spiffeId),
      [ROOT_ID, extraId],
    );
    assert.equal(second.svids[1]!.hint, 'extra');

    // Rotation of the default SVID: new certificate and key.
    const rotated = { ...rootIdentity, x509: await td.mintSvid(ROOT_ID), revision: 2 };
    source.update((s) => ({
      ...s,
      identities: s.identities.map((i) => (i.entryId === 'e-root' ? rotated : i)),
    }));
    const third = await stream.next();
    assert.deepEqual(third.svids[0]!.x509Svid, rotated.x509.chain[0]);
    assert.notDeepEqual(third.svids[0]!.x509Svid, first.svids[0]!.x509Svid);

    // The default entry is removed: only the extra one remains, and the federated bundle goes.
    source.update((s) => ({
      ...s,
      identities: s.identities.filter((i) => i.entryId !== 'e-root'),
    }));
    const fourth = await stream.next();
    assert.deepEqual(
      fourth.svids.map((s) => s.spiffeId),
      [extraId],
    );
    assert.deepEqual(fourth.federatedBundles, {});

    // An unrelated change that does not alter this workload's view sends nothing.
    source.update((s) => ({ ...s }));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(stream.pending, 0);

    // Nothing left for this caller: the stream ends with PermissionDenied.
    source.update((s) => ({ ...s, identities: [] }));
    const error = await stream.error();
    assert.equal(error.code, status.PERMISSION_DENIED);
    assert.match(error.details, /no identity issued/);

    source.set(snapshotOf(td, [rotated], [partner]));
    rootIdentity = rotated;
  });

  it('holds the stream until a matching entry has its SVID minted', async () => {
    const pendingId = 'spiffe://example.org/workload/pending';
    source.set(
      snapshotOf(td, [identity('e-pending', pendingId, ['unix:uid:0'], undefined)], [partner]),
    );
    const stream = x509Stream(client);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(stream.pending, 0);
    source.set(
      snapshotOf(
        td,
        [identity('e-pending', pendingId, ['unix:uid:0'], await td.mintSvid(pendingId))],
        [partner],
      ),
    );
    const message = await stream.next();
    assert.deepEqual(
      message.svids.map((s) => s.spiffeId),
      [pendingId],
    );
    stream.cancel();
    source.set(snapshotOf(td, [rootIdentity], [partner]));
  });

  it('serves X.509 bundles: own and federated', async () => {
    const stream = new StreamReader(client.fetchX509Bundles({}, securityMetadata()));
    const message = await stream.next();
    stream.cancel();
    assert.deepEqual(Object.keys(message.bundles).sort(), [
      'spiffe://example.org',
      'spiffe://partner.example',
    ]);
    assert.deepEqual(message.bundles['spiffe://example.org'], td.caCertificate);
    assert.deepEqual(message.bundles['spiffe://partner.example'], partner.caCertificate);
  });

  it('serves JWT bundles as JWKS documents', async () => {
    const stream = new StreamReader(client.fetchJwtBundles({}, securityMetadata()));
    const message = await stream.next();
    stream.cancel();
    const own = JSON.parse(message.bundles['spiffe://example.org']!.toString('utf8')) as {
      keys: { kid: string }[];
    };
    assert.deepEqual(
      own.keys.map((k) => k.kid),
      [td.jwtAuthority.keyId],
    );
    assert.ok(message.bundles['spiffe://partner.example']);
  });

  it('mints JWT-SVIDs for the caller, caches them, and refuses foreign SPIFFE IDs', async () => {
    const missing = await fetchJwtSvid(client, { audience: [], spiffeId: '' });
    assert.equal(missing.error?.code, status.INVALID_ARGUMENT);

    const before = mintCalls;
    const first = await fetchJwtSvid(client, { audience: ['db', 'cache'], spiffeId: '' });
    assert.ok(first.value, first.error?.details);
    assert.equal(first.value.svids.length, 1);
    assert.equal(first.value.svids[0]!.spiffeId, ROOT_ID);
    const claims = validateJwtSvid(first.value.svids[0]!.svid, {
      authorities: [td.jwtAuthority],
      audience: 'cache',
      now: new Date(),
    });
    assert.equal(claims.spiffeId, ROOT_ID);
    // Same audience set in another order: served from the cache.
    const second = await fetchJwtSvid(client, { audience: ['cache', 'db'], spiffeId: ROOT_ID });
    assert.equal(second.value?.svids[0]!.svid, first.value.svids[0]!.svid);
    assert.equal(mintCalls, before + 1);

    const foreign = await fetchJwtSvid(client, { audience: ['db'], spiffeId: NOBODY_ID });
    assert.equal(foreign.error?.code, status.PERMISSION_DENIED);
  });

  it('validates JWT-SVIDs and rejects tampered, mis-addressed and incomplete requests', async () => {
    const minted = await td.mintJwt(ROOT_ID, ['db']);
    const ok = await validateJwt(client, { audience: 'db', svid: minted.token });
    assert.ok(ok.value, ok.error?.details);
    assert.equal(ok.value.spiffeId, ROOT_ID);
    assert.equal(ok.value.claims?.['sub'], ROOT_ID);
    assert.equal(ok.value.claims?.['aud'], 'db');
    assert.equal(typeof ok.value.claims?.['exp'], 'number');

    const [h, p, s] = minted.token.split('.') as [string, string, string];
    const forged = Buffer.from(
      JSON.stringify({ sub: NOBODY_ID, aud: 'db', exp: 4_000_000_000 }),
    ).toString('base64url');
    for (const svid of [`${h}.${forged}.${s}`, `${h}.${p}.${s.slice(0, -4)}AAAA`, 'not-a-jwt']) {
      const bad = await validateJwt(client, { audience: 'db', svid });
      assert.equal(bad.error?.code, status.INVALID_ARGUMENT, svid);
    }
    const wrongAudience = await validateJwt(client, { audience: 'other', svid: minted.token });
    assert.equal(wrongAudience.error?.code, status.INVALID_ARGUMENT);
    // A token of a trust domain the caller does not federate with has no bundle.
    const stranger = await createTestTrustDomain('stranger.example');
    const foreignToken = await stranger.mintJwt('spiffe://stranger.example/x', ['db']);
    const foreign = await validateJwt(client, { audience: 'db', svid: foreignToken.token });
    assert.equal(foreign.error?.code, status.INVALID_ARGUMENT);
    assert.match(foreign.error?.details ?? '', /no JWT bundle/);
    // A federated trust domain's token validates.
    const partnerToken = await partner.mintJwt('spiffe://partner.example/api', ['db']);
    const federated = await validateJwt(client, { audience: 'db', svid: partnerToken.token });
    assert.equal(federated.value?.spiffeId, 'spiffe://partner.example/api');

    assert.equal(
      (await validateJwt(client, { audience: '', svid: minted.token })).error?.code,
      status.INVALID_ARGUMENT,
    );
    assert.equal(
      (await validateJwt(client, { audience: 'db', svid: '' })).error?.code,
      status.INVALID_ARGUMENT,
    );
  });

  it('identifies callers by kernel uid: another uid is denied, then gets its own identity', async () => {
    const denied = await runAs(65534, scriptPath, socketPath);
    assert.equal(denied.uid, 65534);
    assert.equal(denied.code, status.PERMISSION_DENIED);

    const nobody = identity(
      'e-nobody',
      NOBODY_ID,
      ['unix:uid:65534'],
      await td.mintSvid(NOBODY_ID),
    );
    source.update((s) => ({ ...s, identities: [...s.identities, nobody] }));
    const granted = await runAs(65534, scriptPath, socketPath);
    assert.deepEqual(granted.svids, [NOBODY_ID]);

    // Root still sees only its own identity.
    const stream = x509Stream(client);
    const message = await stream.next();
    stream.cancel();
    assert.deepEqual(
      message.svids.map((s) => s.spiffeId),
      [ROOT_ID],
    );
  });

  it('refuses calls on a connection whose connecting process has exited, though another process still holds it', async () => {
    const connectorPath = join(dir, 'connector.js');
    writeFileSync(connectorPath, CONNECTOR);
    const connector = fork(connectorPath, [socketPath], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const [, handed] = (await once(connector, 'message')) as [string, Socket];
    const session = http2Connect('http://localhost', { createConnection: () => handed });
    try {
      assert.equal(
        (await rawFetchJwt(session)).status,
        status.OK,
        'served while the connector lives',
      );
      const exited = once(connector, 'exit');
      connector.send('exit');
      await exited;
      const refused = await rawFetchJwt(session);
      assert.equal(refused.status, status.PERMISSION_DENIED);
      assert.match(refused.message, /calling process has exited/);
    } finally {
      session.destroy();
      connector.kill();
    }
  });

  it('declines the incubating WIT-SVID profile with Unimplemented, as the specification requires', async () => {
    for (const open of [
      () => client.fetchWitsvid({ spiffeId: '' }, securityMetadata()),
      () => client.fetchWitBundles({}, securityMetadata()),
    ]) {
      const error = await new Promise<ServiceError>((resolve, reject) => {
        const call = open();
        call.on('data', () => reject(new Error('no message expected')));
        call.on('error', resolve);
      });
      assert.equal(error.code, status.UNIMPLEMENTED);
      assert.match(error.details, /WIT-SVID profile/);
    }
    assert.equal(server.stats.snapshot().calls['FetchWITSVID']?.['UNIMPLEMENTED'], 1);
  });

  it('counts streams and calls', async () => {
    const stream = x509Stream(client);
    await stream.next();
    assert.ok(server.stats.activeStreams('FetchX509SVID') >= 1);
    stream.cancel();
    await new Promise((r) => setTimeout(r, 50));
    const snapshot = server.stats.snapshot();
    assert.ok((snapshot.calls['FetchX509SVID']?.['INVALID_ARGUMENT'] ?? 0) >= 1);
    assert.ok((snapshot.calls['FetchJWTSVID']?.['OK'] ?? 0) >= 2);
    assert.ok(snapshot.streamMessages > 0);
  });
});

describe('Workload API connection cap', () => {
  it('closes connections beyond maxConnections at accept and counts them; a freed slot is usable again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-wl-cap-'));
    const socketPath = join(dir, 'api.sock');
    const td = await createTestTrustDomain('example.org');
    const id = 'spiffe://example.org/capped';
    const source = new StaticIdentitySource(
      snapshotOf(td, [identity('e-cap', id, ['unix:uid:0'], await td.mintSvid(id))]),
    );
    const server = new WorkloadApiServer({ socketPath, source, logger: silent, maxConnections: 2 });
    await server.start();
    const open = async (): Promise<Socket> => {
      const socket = createConnection(socketPath);
      await once(socket, 'connect');
      return socket;
    };
    try {
      const [a, b] = [await open(), await open()];
      const third = await open();
      await once(third, 'close');
      assert.equal(server.stats.snapshot().droppedConnections, 1);
      assert.equal(a.destroyed || b.destroyed, false, 'the first two stay open');
      a.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const client = workloadClient(socketPath);
      const stream = x509Stream(client);
      assert.deepEqual(
        (await stream.next()).svids.map((s) => s.spiffeId),
        [id],
      );
      stream.cancel();
      client.close();
      b.destroy();
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Workload API server shutdown', () => {
  it('ends open streams with Unavailable and removes the socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-wl-stop-'));
    const socketPath = join(dir, 'api.sock');
    const td = await createTestTrustDomain('example.org');
    const id = 'spiffe://example.org/a';
    const source = new StaticIdentitySource(
      snapshotOf(td, [identity('e-a', id, ['unix:uid:0'], await td.mintSvid(id))]),
    );
    const server = new WorkloadApiServer({ socketPath, source, logger: silent });
    await server.start();
    const client = workloadClient(socketPath);
    try {
      const streams = Array.from({ length: 20 }, () => x509Stream(client));
      for (const s of streams) await s.next();
      assert.equal(server.stats.activeStreams('FetchX509SVID'), 20);
      await server.stop();
      for (const s of streams) {
        const error = await s.error();
        assert.ok([status.UNAVAILABLE, status.CANCELLED].includes(error.code), String(error.code));
      }
      assert.equal(server.stats.activeStreams('FetchX509SVID'), 0);
      assert.equal(existsSync(socketPath), false);
    } finally {
      client.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
