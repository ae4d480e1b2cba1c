// npm run bench -- signer
// Raw crypto.sign ECDSA P-256 rate next to X.509-SVID minting (from public keys and from CSRs)
// and JWT-SVID minting through the full path: DER template → signature in the key custody
// child process (over its Unix socket) → output validation. All measured in this run.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildCaCertificate,
  buildCsr,
  createJwtAuthority,
  createSignatureSampler,
  createX509SvidTemplate,
  keyObjectSigner,
  mintJwtSvid,
  mintX509Svid,
  mintX509SvidFromCsr,
} from '@trustplane/crypto';
import { startKeyCustody } from '@trustplane/keymanager';
import { report, round } from './stats.js';

const SECONDS = Number(process.env['TP_BENCH_SECONDS'] ?? 5);
const CONCURRENCY = 128;

/** Runs `task` with CONCURRENCY in flight for SECONDS; returns completions per second. */
async function rate(task: () => Promise<unknown>): Promise<number> {
  let done = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        await task();
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

function rawSignRate(): number {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const message = randomBytes(420);
  let done = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 100; i++) sign('sha256', message, privateKey);
    done += 100;
  }
  return done / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const custody = await startKeyCustody({ socketDir: join(mkdtempSync(join(tmpdir(), 'tp-bench-')), 'custody'), keyManager: { kind: 'memory' } });
  await custody.waitReady();
  try {
    const km = custody.client;
    const caKey = await km.create('bench-x509', 'ec-p256');
    const jwtKey = await km.create('bench-jwt', 'ec-p256');
    const caSigner = (message: Uint8Array, hash: 'sha256' | 'sha384' | 'sha512') => km.sign('bench-x509', { message, hashAlgorithm: hash });
    const jwtSigner = (message: Uint8Array, hash: 'sha256' | 'sha384' | 'sha512') => km.sign('bench-jwt', { message, hashAlgorithm: hash });
    const now = new Date();
    const authority = await buildCaCertificate(
      { trustDomain: 'bench.example', publicKey: caKey.publicKeyDer, serialRandom: randomBytes(16), notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + 86_400_000) },
      caSigner,
    );
    const template = createX509SvidTemplate({ authority });
    const jwt = createJwtAuthority({ trustDomain: 'bench.example', publicKey: jwtKey.publicKeyDer });
    const workload = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const workloadSpki = workload.publicKey.export({ type: 'spki', format: 'der' });
    const csr = await buildCsr({ publicKey: workloadSpki, spiffeId: 'spiffe://bench.example/workload' }, keyObjectSigner(workload.privateKey));
    // The signer's policy: field checks on every output, the signature check sampled (1 in 32).
    const sample = createSignatureSampler(32);
    const deps = () => ({ signer: caSigner, randomBytes: (n: number) => randomBytes(n), verifySignature: sample() });
    const request = { spiffeId: 'spiffe://bench.example/workload', ttlSeconds: 3600 };

    const raw = rawSignRate();
    const fromKey = await rate(() => mintX509Svid(template, { ...request, publicKey: workloadSpki, now: new Date() }, deps()));
    const fromCsr = await rate(() => mintX509SvidFromCsr(template, { ...request, csr, now: new Date() }, deps()));
    const jwtRate = await rate(() => mintJwtSvid(jwt, { spiffeId: request.spiffeId, audience: ['bench'], ttlSeconds: 300, now: new Date() }, jwtSigner, { verifySignature: sample() }));

    report('raw crypto.sign ECDSA P-256 (baseline, 1 thread)', round(raw, 0), 'sig/s');
    report('X.509-SVID from public key (custody, validated)', round(fromKey, 0), `/s  ${round(fromKey / raw, 3)}× raw (target ≥ 0.30)`);
    report('X.509-SVID from CSR (custody, validated)', round(fromCsr, 0), `/s  ${round(fromCsr / raw, 3)}× raw (target ≥ 0.12)`);
    report('JWT-SVID (custody, validated)', round(jwtRate, 0), `/s  ${round(jwtRate / raw, 3)}× raw (target ≥ 0.30)`);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'signer',
        raw_sign_per_s: round(raw, 0),
        x509_from_public_key_per_s: round(fromKey, 0),
        x509_from_public_key_ratio: round(fromKey / raw, 3),
        x509_from_csr_per_s: round(fromCsr, 0),
        x509_from_csr_ratio: round(fromCsr / raw, 3),
        jwt_per_s: round(jwtRate, 0),
        jwt_ratio: round(jwtRate / raw, 3),
      })}\n`,
    );
  } finally {
    await custody.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
