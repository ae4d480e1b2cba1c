/**
 * SVID issuance and rotation: the registration entries this node serves (from the entry stream),
 * each with the X.509-SVID the agent holds for it. Keys are generated here and only CSRs go to
 * the signer, in batches. An SVID is re-signed at half of its lifetime (with jitter), at once
 * when its entry changes what the certificate says or its CA is tainted, and soon after a
 * failure.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { buildCsr, keyObjectSigner, spkiOf } from '@trustplane/crypto';
import type { agentApi } from '@trustplane/proto';
import type { Logger } from 'pino';
import type { WorkloadIdentity } from '../identity-source.js';
import type { TaintedAuthorities } from './bundle-state.js';
import { newKey, redact } from './signer-connection.js';

/** Most CSRs per BatchSignX509Svids call. */
export const BATCH_SIZE = 500;
/** Retry delay after the signer refused one entry's CSR. */
const REFUSED_RETRY_MS = 30_000;
/** Retry delay after a whole batch failed (signer unreachable). */
const FAILED_RETRY_MS = 2_000;

/** Signs a batch of CSRs (the signer's BatchSignX509Svids). */
export type BatchSigner = (
  params: agentApi.BatchSignX509SvidsRequest['params'],
) => Promise<agentApi.BatchSignX509SvidsResponse>;

/** Counters of issuance. */
export interface IssuanceStats {
  svidsSigned: number;
  signFailures: number;
}

/** One entry the agent serves, and its credentials. */
interface CachedEntry {
  entry: agentApi.Entry;
  /** PKCS#8 DER of the current SVID's key. */
  privateKey: Buffer | undefined;
  chain: Buffer[] | undefined;
  issuer: X509Certificate | undefined;
  notBefore: number;
  notAfter: number;
  rotateAt: number;
  /** Bumped whenever what is served for this entry changes. */
  revision: number;
  /** A CSR for it is being signed. */
  inflight: boolean;
}

/** The entries of this node and their SVIDs. */
export class SvidCache {
  private readonly entries = new Map<string, CachedEntry>();
  /** The first entry (in entry order) of each SPIFFE ID. */
  private readonly bySpiffeId = new Map<string, string>();
  private nextRevision = 1;

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly stats: IssuanceStats,
  ) {}

  /** Replaces the entry set with `entries`; returns whether anything served changed. */
  applyEntries(entries: readonly agentApi.Entry[]): boolean {
    const seen = new Set<string>();
    let changed = false;
    for (const entry of entries) {
      seen.add(entry.id);
      const cached = this.entries.get(entry.id);
      if (cached === undefined) {
        this.entries.set(entry.id, {
          entry,
          privateKey: undefined,
          chain: undefined,
          issuer: undefined,
          notBefore: 0,
          notAfter: 0,
          rotateAt: 0,
          revision: this.nextRevision++,
          inflight: false,
        });
        changed = true;
        continue;
      }
      if (sameEntry(cached.entry, entry)) continue;
      const resign =
        cached.entry.spiffeId !== entry.spiffeId ||
        cached.entry.x509SvidTtl !== entry.x509SvidTtl ||
        cached.entry.dnsNames.join(' ') !== entry.dnsNames.join(' ');
      cached.entry = entry;
      cached.revision = this.nextRevision++;
      if (resign) cached.rotateAt = 0;
      changed = true;
    }
    for (const id of [...this.entries.keys()]) {
      if (!seen.has(id)) {
        this.entries.delete(id);
        changed = true;
      }
    }
    if (changed) {
      this.bySpiffeId.clear();
      for (const { entry } of this.entries.values()) {
        if (!this.bySpiffeId.has(entry.spiffeId)) this.bySpiffeId.set(entry.spiffeId, entry.id);
      }
    }
    return changed;
  }

  /** Makes every SVID issued by a tainted authority due now; returns whether any was. */
  rotateTainted(tainted: TaintedAuthorities): boolean {
    let any = false;
    for (const cached of this.entries.values()) {
      if (cached.issuer !== undefined && tainted.includes(cached.issuer)) {
        cached.rotateAt = 0;
        any = true;
      }
    }
    return any;
  }

  /** Whether some entry is due for (re-)signing and not being signed. */
  anyDue(): boolean {
    const now = this.now();
    for (const cached of this.entries.values()) if (cached.rotateAt <= now && !cached.inflight) return true;
    return false;
  }

  /** Number of entries held, and how many have an SVID. */
  counts(): { entries: number; svids: number } {
    let svids = 0;
    for (const e of this.entries.values()) if (e.chain !== undefined) svids += 1;
    return { entries: this.entries.size, svids };
  }

  /** The entry ID serving `spiffeId` (the first entry with it). */
  entryIdFor(spiffeId: string): string | undefined {
    return this.bySpiffeId.get(spiffeId);
  }

  /** What the Workload API serves: every entry, with its SVID once signed, in entry order. */
  identities(): WorkloadIdentity[] {
    return [...this.entries.values()].map((cached) => {
      const e = cached.entry;
      return {
        entryId: e.id,
        spiffeId: e.spiffeId,
        selectors: e.selectors,
        federatesWith: e.federatesWith,
        hint: e.hint,
        x509:
          cached.chain === undefined || cached.privateKey === undefined
            ? undefined
            : { chain: cached.chain, privateKey: cached.privateKey, expiresAt: new Date(cached.notAfter) },
        revision: cached.revision,
      };
    });
  }

  /**
   * Signs every due entry with new keys, in batches of {@link BATCH_SIZE}; `afterBatch` runs
   * after each batch (to publish what was signed). Failures are logged and counted, and the
   * entries retried later; this never rejects.
   */
  async signDue(sign: BatchSigner, afterBatch: () => void): Promise<void> {
    const now = this.now();
    const due = [...this.entries.values()].filter((c) => c.rotateAt <= now && !c.inflight);
    for (let i = 0; i < due.length; i += BATCH_SIZE) {
      const batch = due.slice(i, i + BATCH_SIZE);
      for (const c of batch) c.inflight = true;
      try {
        const keys = await Promise.all(batch.map(() => newKey()));
        const params = await Promise.all(
          batch.map(async (c, n) => ({
            entryId: c.entry.id,
            csr: await buildCsr({ publicKey: spkiOf(keys[n]!.publicKey) }, keyObjectSigner(keys[n]!.privateKey)),
          })),
        );
        const response = await sign(params);
        response.results.forEach((result, n) => this.store(result, batch[n], keys[n]?.privateKey));
      } catch (error) {
        this.stats.signFailures += batch.length;
        this.logger.warn({ err: redact(error) }, 'BatchSignX509Svids failed; will retry');
        for (const c of batch) c.rotateAt = Math.min(c.rotateAt, this.now() + FAILED_RETRY_MS);
      } finally {
        for (const c of batch) c.inflight = false;
      }
      afterBatch();
    }
  }

  /** Takes one result of a batch for the entry it was asked for (if that entry is still held). */
  private store(result: agentApi.X509SvidResult, asked: CachedEntry | undefined, key: KeyObject | undefined): void {
    const cached = this.entries.get(result.entryId);
    if (cached === undefined || key === undefined || cached !== asked) return;
    const leafDer = result.svidChain[0];
    if (result.errorCode !== '' || leafDer === undefined) {
      this.stats.signFailures += 1;
      this.logger.warn(
        { entryId: result.entryId, code: result.errorCode, message: result.errorMessage },
        'X.509-SVID not signed',
      );
      cached.rotateAt = this.now() + REFUSED_RETRY_MS;
      return;
    }
    const leaf = new X509Certificate(leafDer);
    const notBefore = new Date(leaf.validFrom).getTime();
    const notAfter = new Date(leaf.validTo).getTime();
    const lifetime = notAfter - notBefore;
    cached.privateKey = key.export({ type: 'pkcs8', format: 'der' });
    // Serve the leaf alone: the CA is in the bundle (as SPIRE does).
    cached.chain = [leafDer];
    const issuerDer = result.svidChain[1];
    cached.issuer = issuerDer === undefined ? undefined : new X509Certificate(issuerDer);
    cached.notBefore = notBefore;
    cached.notAfter = notAfter;
    // Half-life, minus up to 10% of the lifetime of jitter so rotations spread out.
    cached.rotateAt = notBefore + lifetime / 2 - Math.random() * lifetime * 0.1;
    cached.revision = this.nextRevision++;
    this.stats.svidsSigned += 1;
  }
}

function sameEntry(a: agentApi.Entry, b: agentApi.Entry): boolean {
  return (
    a.revision === b.revision &&
    a.spiffeId === b.spiffeId &&
    a.parentId === b.parentId &&
    a.selectors.join(' ') === b.selectors.join(' ') &&
    a.federatesWith.join(' ') === b.federatesWith.join(' ') &&
    a.hint === b.hint &&
    a.x509SvidTtl === b.x509SvidTtl &&
    a.jwtSvidTtl === b.jwtSvidTtl &&
    a.dnsNames.join(' ') === b.dnsNames.join(' ')
  );
}
