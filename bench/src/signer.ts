// npm run bench -- signer
// X.509-SVID minting (from public keys and from CSRs) and JWT-SVID minting with the signer's own
// minting path (the functions and the sampling policy services/signer's CaService uses): DER
// template → signature in the real key custody child process (startKeyCustody, over its Unix
// socket, as the signer's CustodyPool runs it) → output validation, CSR proof-of-possession and
// sampled signature checks on libuv's thread pool. That path runs on two cores at once (this
// process and the custody child), so the baseline is raw crypto.sign ECDSA P-256 on two worker
// threads, measured before and after the minting phases in this run (their mean); the
// single-thread raw rate is printed beside it. The JSON ratios divide by the two-thread rate.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
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
import { loadNow, machineFacts, rawSignRateOneThread, rawSignRateThreads, writeResult } from './machine.js';
import { report, round } from './stats.js';

const SECONDS = Number(process.env['TP_BENCH_SECONDS'] ?? 5);
const CONCURRENCY = 128;
/** Threads of the minting path: this process's main thread and the custody child's. */
const MINT_PARALLELISM = 2;

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

async function main(): Promise<void> {
  const loadAtStart = loadNow();
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

    const rawOne = rawSignRateOneThread(SECONDS);
    const rawBefore = await rawSignRateThreads(MINT_PARALLELISM, SECONDS);
    const fromKey = await rate(() => mintX509Svid(template, { ...request, publicKey: workloadSpki, now: new Date() }, deps()));
    const fromCsr = await rate(() => mintX509SvidFromCsr(template, { ...request, csr, now: new Date() }, deps()));
    const jwtRate = await rate(() => mintJwtSvid(jwt, { spiffeId: request.spiffeId, audience: ['bench'], ttlSeconds: 300, now: new Date() }, jwtSigner, { verifySignature: sample() }));
    const rawAfter = await rawSignRateThreads(MINT_PARALLELISM, SECONDS);
    const raw = (rawBefore + rawAfter) / 2;

    report('raw crypto.sign ECDSA P-256, 1 thread', round(rawOne, 0), 'sig/s');
    report(`raw crypto.sign ECDSA P-256, ${MINT_PARALLELISM} threads (baseline)`, round(raw, 0), `sig/s  (before ${round(rawBefore, 0)}, after ${round(rawAfter, 0)})`);
    report('X.509-SVID from public key (custody, validated)', round(fromKey, 0), `/s  ${round(fromKey / raw, 3)}× raw ${MINT_PARALLELISM} threads (target ≥ 0.30), ${round(fromKey / rawOne, 3)}× 1 thread`);
    report('X.509-SVID from CSR (custody, validated)', round(fromCsr, 0), `/s  ${round(fromCsr / raw, 3)}× raw ${MINT_PARALLELISM} threads (target ≥ 0.12), ${round(fromCsr / rawOne, 3)}× 1 thread`);
    report('JWT-SVID (custody, validated)', round(jwtRate, 0), `/s  ${round(jwtRate / raw, 3)}× raw ${MINT_PARALLELISM} threads (target ≥ 0.30), ${round(jwtRate / rawOne, 3)}× 1 thread`);
    const machine = await machineFacts(loadAtStart, { oneThread: rawOne, ...(cpus().length === MINT_PARALLELISM ? { allCores: raw } : {}) });
    writeResult(
      'signer',
      {
        seconds_per_phase: SECONDS,
        mint_parallelism: MINT_PARALLELISM,
        raw_sign_per_s_1_thread: round(rawOne, 0),
        raw_sign_per_s: round(raw, 0),
        raw_sign_threads: MINT_PARALLELISM,
        x509_from_public_key_per_s: round(fromKey, 0),
        x509_from_public_key_ratio: round(fromKey / raw, 3),
        x509_from_csr_per_s: round(fromCsr, 0),
        x509_from_csr_ratio: round(fromCsr / raw, 3),
        jwt_per_s: round(jwtRate, 0),
        jwt_ratio: round(jwtRate / raw, 3),
      },
      machine,
    );
  } finally {
    await custody.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
