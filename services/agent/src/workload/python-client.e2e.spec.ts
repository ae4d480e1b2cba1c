/**
 * The Workload API driven by a client we did not write: Python grpcio with stubs compiled by
 * grpc_tools from proto/spiffe/workload/workload.proto (Debian packages, /usr/bin/python3 — not
 * the pyenv python on PATH). The X.509-SVID is checked by `openssl verify`, the JWT-SVID by PyJWT.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { requirePrerequisite, skipUnlessCi } from '@trustplane/testkit';
import { StaticIdentitySource } from '../identity-source.js';
import { createTestTrustDomain, identity, snapshotOf } from '../testing/fixtures.js';
import { WorkloadApiServer } from './server.js';

const PYTHON = '/usr/bin/python3';
const REPO_ROOT = process.env['TP_REPO_ROOT'] ?? resolve(__dirname, '../../../..');
const PROTO_DIR = join(REPO_ROOT, 'proto');
const available =
  existsSync(PYTHON) &&
  spawnSync(PYTHON, ['-c', 'import grpc, grpc_tools, jwt, cryptography'], { encoding: 'utf8' })
    .status === 0 &&
  spawnSync('openssl', ['version']).status === 0;

/** The shared Python client (e2e/python/workload_client.py). */
const CLIENT = readFileSync(join(REPO_ROOT, 'e2e/python/workload_client.py'), 'utf8');

function run(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolvePromise) => {
    // Asynchronous on purpose: the server answering these calls runs in this very process.
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolvePromise({ code: code ?? -1, out, err }));
  });
}

describe(
  'Workload API with the Python grpcio client',
  { skip: skipUnlessCi(!available && 'Debian python3-grpcio/grpc-tools/jwt or openssl missing') },
  () => {
    before(() => requirePrerequisite(!available && 'Debian python3-grpcio/grpc-tools/jwt or openssl missing'));
    let dir: string;
    let server: WorkloadApiServer;
    const spiffeId = 'spiffe://example.org/e2e/python';

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'agent-py-'));
      const stubs = join(dir, 'stubs');
      mkdirSync(stubs);
      const wellKnown = spawnSync(
        PYTHON,
        [
          '-c',
          'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))',
        ],
        {
          encoding: 'utf8',
        },
      ).stdout.trim();
      const protoc = spawnSync(
        PYTHON,
        [
          '-m',
          'grpc_tools.protoc',
          `-I${PROTO_DIR}`,
          `-I${wellKnown}`,
          `--python_out=${stubs}`,
          `--grpc_python_out=${stubs}`,
          join(PROTO_DIR, 'spiffe/workload/workload.proto'),
        ],
        { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } },
      );
      assert.equal(protoc.status, 0, protoc.stderr);
      const td = await createTestTrustDomain('example.org');
      const partner = await createTestTrustDomain('partner.example');
      const source = new StaticIdentitySource(
        snapshotOf(
          td,
          [
            identity(
              'e-py',
              spiffeId,
              [`unix:uid:${process.getuid?.() ?? 0}`],
              await td.mintSvid(spiffeId),
              { federatesWith: ['partner.example'] },
            ),
          ],
          [partner],
        ),
        (id, audience) => td.mintJwt(id, audience),
      );
      server = new WorkloadApiServer({
        socketPath: join(dir, 'api.sock'),
        source,
        logger: pino({ level: 'silent' }),
      });
      await server.start();
    });

    after(async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('serves every RPC to grpcio, with an SVID openssl verifies and a JWT PyJWT verifies', async () => {
      const script = join(dir, 'client.py');
      writeFileSync(script, CLIENT);
      const result = await run(PYTHON, [script], {
        PATH: '/usr/bin:/bin',
        STUBS: join(dir, 'stubs'),
        WORK: dir,
        SOCKET: server.socketPath,
      });
      assert.equal(result.code, 0, result.err);
      const report = JSON.parse(result.out.trim()) as Record<string, unknown>;
      assert.equal(report['no_header_stream'], 'INVALID_ARGUMENT');
      assert.equal(report['no_header_unary'], 'INVALID_ARGUMENT');
      assert.equal(report['spiffe_id'], spiffeId);
      assert.deepEqual(report['uri_sans'], [spiffeId]);
      assert.equal(report['key_matches_leaf'], true);
      assert.deepEqual(report['federated'], ['spiffe://partner.example']);
      assert.deepEqual(report['x509_bundles'], [
        'spiffe://example.org',
        'spiffe://partner.example',
      ]);
      assert.equal(report['missing_audience'], 'INVALID_ARGUMENT');
      assert.equal(report['jwt_sub'], spiffeId);
      assert.equal(report['validated_id'], spiffeId);
      assert.equal(report['validated_sub_claim'], spiffeId);
      assert.equal(report['tampered'], 'INVALID_ARGUMENT');
      assert.equal(report['wrong_audience'], 'INVALID_ARGUMENT');
      assert.equal(report['wit_svid'], 'UNIMPLEMENTED');
      assert.equal(report['wit_bundles'], 'UNIMPLEMENTED');

      const verify = await run(
        'openssl',
        [
          'verify',
          '-purpose',
          'sslclient',
          '-CAfile',
          join(dir, 'bundle.pem'),
          join(dir, 'svid.pem'),
        ],
        {
          PATH: '/usr/bin:/bin',
        },
      );
      assert.equal(verify.code, 0, `${verify.out}${verify.err}`);
      assert.match(verify.out, /svid\.pem: OK/);
    });
  },
);
