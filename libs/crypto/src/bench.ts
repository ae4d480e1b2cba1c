/**
 * In-process measurement of X.509-SVID minting against the raw ECDSA P-256 `crypto.sign` rate,
 * used by `bench/` (performance is measured there, never asserted in unit tests).
 */
import { generateKeyPairSync, randomBytes, sign as nodeSign, verify } from 'node:crypto';
import { buildCaCertificate } from './ca';
import { buildCsr } from './csr';
import { keyObjectSigner, pooledRandomSource, spkiOf } from './keys';
import {
  createX509SvidTemplate,
  mintFromCsr,
  mintX509Svid,
  type MintDependencies,
} from './svid';

/** Rates measured by measureMintRate, per second, single-threaded, one mint in flight. */
export interface MintRateReport {
  /** Raw `crypto.sign('sha256', tbs, p256Key)` rate: the baseline. */
  readonly rawSignPerSec: number;
  /** Full mint from SPKI: template → sign → validate including signature verification. */
  readonly mintPerSec: number;
  /** mintPerSec / rawSignPerSec. */
  readonly mintRatio: number;
  /** Mint from SPKI with the structural validation only (no crypto.verify) — breakdown. */
  readonly mintWithoutVerifyPerSec: number;
  /** mintWithoutVerifyPerSec / rawSignPerSec. */
  readonly mintWithoutVerifyRatio: number;
  /** Full mint from a P-256 CSR: parse, proof-of-possession verify, mint, validate. */
  readonly csrMintPerSec: number;
  /** csrMintPerSec / rawSignPerSec. */
  readonly csrMintRatio: number;
  /** Raw `crypto.verify` P-256 rate, for reference (verification bounds the full pipeline). */
  readonly rawVerifyPerSec: number;
  /** Total measuring time, ms. */
  readonly durationMs: number;
}

type Phase = () => void | Promise<unknown>;

/**
 * Measures for about `durationMs` in total. Phases run interleaved in short slices so that
 * background load affects all of them alike. Rates are per second.
 */
export async function measureMintRate(durationMs: number): Promise<MintRateReport> {
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leaf = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caSigner = keyObjectSigner(ca.privateKey);
  const start = new Date();
  const authority = await buildCaCertificate(
    {
      trustDomain: 'bench.example',
      publicKey: spkiOf(ca.publicKey),
      serialRandom: randomBytes(16),
      notBefore: new Date(start.getTime() - 60_000),
      notAfter: new Date(start.getTime() + 24 * 3600_000),
    },
    caSigner,
  );
  const template = createX509SvidTemplate({ authority });
  const deps: MintDependencies = { signer: caSigner, randomBytes: pooledRandomSource() };
  const spiffeId = 'spiffe://bench.example/ns/default/sa/workload';
  const leafSpki = spkiOf(leaf.publicKey);
  const csr = await buildCsr({ publicKey: leafSpki, spiffeId }, keyObjectSigner(leaf.privateKey));
  const sample = await mintX509Svid(
    template,
    { spiffeId, publicKey: leafSpki, ttlSeconds: 3600, now: new Date() },
    deps,
  );
  // Baseline message: the same size as a real TBS.
  const tbsSized = sample.certificate.subarray(0, sample.certificate.length - 80);
  const rawSig = nodeSign('sha256', tbsSized, ca.privateKey);

  const phases: Record<string, Phase> = {
    raw: () => {
      nodeSign('sha256', tbsSized, ca.privateKey);
    },
    rawVerify: () => {
      verify('sha256', tbsSized, ca.publicKey, rawSig);
    },
    mint: () =>
      mintX509Svid(
        template,
        { spiffeId, publicKey: leafSpki, ttlSeconds: 3600, now: new Date() },
        deps,
      ),
    mintNoVerify: () =>
      mintX509Svid(
        template,
        { spiffeId, publicKey: leafSpki, ttlSeconds: 3600, now: new Date() },
        { ...deps, verifySignature: false },
      ),
    csr: () =>
      mintFromCsr(template, { spiffeId, csr, ttlSeconds: 3600, now: new Date() }, deps, true),
  };
  const counts: Record<string, { n: number; ms: number }> = {};
  for (const k of Object.keys(phases)) counts[k] = { n: 0, ms: 0 };
  const slice = Math.max(20, Math.min(100, durationMs / 20));
  const names = Object.keys(phases);
  const deadline = performance.now() + durationMs;
  while (performance.now() < deadline) {
    for (const name of names) {
      const phase = phases[name]!;
      const c = counts[name]!;
      const t0 = performance.now();
      let t = t0;
      while (t - t0 < slice) {
        const r = phase();
        if (r instanceof Promise) await r;
        c.n++;
        t = performance.now();
      }
      c.ms += t - t0;
    }
  }
  const rate = (name: string): number => {
    const c = counts[name]!;
    return c.ms === 0 ? 0 : Math.round((c.n * 1000) / c.ms);
  };
  const raw = rate('raw');
  const ratio = (x: number): number => Math.round((x / raw) * 1000) / 1000;
  return {
    rawSignPerSec: raw,
    mintPerSec: rate('mint'),
    mintRatio: ratio(rate('mint')),
    mintWithoutVerifyPerSec: rate('mintNoVerify'),
    mintWithoutVerifyRatio: ratio(rate('mintNoVerify')),
    csrMintPerSec: rate('csr'),
    csrMintRatio: ratio(rate('csr')),
    rawVerifyPerSec: rate('rawVerify'),
    durationMs,
  };
}
