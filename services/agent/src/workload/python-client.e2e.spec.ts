/**
 * The Workload API driven by a client we did not write: Python grpcio with stubs compiled by
 * grpc_tools from proto/spiffe/workload/workload.proto (Debian packages, /usr/bin/python3 — not
 * the pyenv python on PATH). The X.509-SVID is checked by `openssl verify`, the JWT-SVID by PyJWT.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
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

const CLIENT = String.raw`
import json, os, sys
sys.path.insert(0, os.environ["STUBS"])
import grpc, jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from spiffe.workload import workload_pb2 as pb, workload_pb2_grpc as pb_grpc

HEADER = [("workload.spiffe.io", "true")]
work = os.environ["WORK"]
channel = grpc.insecure_channel("unix://" + os.environ["SOCKET"])
stub = pb_grpc.SpiffeWorkloadAPIStub(channel)
report = {}

def code_of(fn):
    try:
        fn()
    except grpc.RpcError as e:
        return e.code().name
    return "OK"

def split_der(data):
    out, i = [], 0
    while i < len(data):
        n = data[i + 1]
        if n < 0x80:
            size, hdr = n, 2
        else:
            k = n & 0x7F
            size, hdr = int.from_bytes(data[i + 2:i + 2 + k], "big"), 2 + k
        out.append(data[i:i + hdr + size])
        i += hdr + size
    return out

def pem(ders):
    return b"".join(x509.load_der_x509_certificate(d).public_bytes(serialization.Encoding.PEM) for d in ders)

# No security header: InvalidArgument on a stream and on a unary call.
report["no_header_stream"] = code_of(lambda: next(stub.FetchX509SVID(pb.X509SVIDRequest())))
report["no_header_unary"] = code_of(lambda: stub.FetchJWTSVID(pb.JWTSVIDRequest(audience=["e2e"])))

# X.509-SVID: the first message of the stream.
stream = stub.FetchX509SVID(pb.X509SVIDRequest(), metadata=HEADER)
first = next(stream)
stream.cancel()
svid = first.svids[0]
chain = split_der(svid.x509_svid)
leaf = x509.load_der_x509_certificate(chain[0])
sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
report["spiffe_id"] = svid.spiffe_id
report["uri_sans"] = [u for u in sans.get_values_for_type(x509.UniformResourceIdentifier)]
key = serialization.load_der_private_key(svid.x509_svid_key, password=None)
same = lambda k: k.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
report["key_matches_leaf"] = same(key.public_key()) == same(leaf.public_key())
report["federated"] = sorted(first.federated_bundles.keys())
open(os.path.join(work, "svid.pem"), "wb").write(pem(chain[:1]))
open(os.path.join(work, "intermediates.pem"), "wb").write(pem(chain[1:]) if len(chain) > 1 else b"")
open(os.path.join(work, "bundle.pem"), "wb").write(pem(split_der(svid.bundle)))

# X.509 bundles.
bstream = stub.FetchX509Bundles(pb.X509BundlesRequest(), metadata=HEADER)
bundles = next(bstream)
bstream.cancel()
report["x509_bundles"] = sorted(bundles.bundles.keys())

# JWT bundles and a JWT-SVID verified by PyJWT with them.
jstream = stub.FetchJWTBundles(pb.JWTBundlesRequest(), metadata=HEADER)
jwt_bundles = next(jstream)
jstream.cancel()
jwks = json.loads(jwt_bundles.bundles["spiffe://example.org"])
report["missing_audience"] = code_of(lambda: stub.FetchJWTSVID(pb.JWTSVIDRequest(), metadata=HEADER))
token = stub.FetchJWTSVID(pb.JWTSVIDRequest(audience=["e2e"]), metadata=HEADER).svids[0].svid
kid = jwt.get_unverified_header(token)["kid"]
jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
claims = jwt.decode(token, key=jwt.PyJWK(jwk).key, algorithms=["ES256"], audience="e2e",
                    options={"require": ["exp", "sub", "aud"]})
report["jwt_sub"] = claims["sub"]

# ValidateJWTSVID: accepts the token, rejects a tampered one.
valid = stub.ValidateJWTSVID(pb.ValidateJWTSVIDRequest(audience="e2e", svid=token), metadata=HEADER)
report["validated_id"] = valid.spiffe_id
report["validated_sub_claim"] = valid.claims["sub"]
h, p, s = token.split(".")
tampered = h + "." + p + "." + ("A" if s[0] != "A" else "B") + s[1:]
report["tampered"] = code_of(lambda: stub.ValidateJWTSVID(pb.ValidateJWTSVIDRequest(audience="e2e", svid=tampered), metadata=HEADER))
report["wrong_audience"] = code_of(lambda: stub.ValidateJWTSVID(pb.ValidateJWTSVIDRequest(audience="other", svid=token), metadata=HEADER))
print(json.dumps(report))
`;

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
  { skip: !available && 'Debian python3-grpcio/grpc-tools/jwt or openssl missing' },
  () => {
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
