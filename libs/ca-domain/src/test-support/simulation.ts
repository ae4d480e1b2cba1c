// Test support (not exported from the package): THE ROTATION SIMULATION harness. Days of CA
// rotation on a fake clock with real keys (held by handle) and real certificates / JWTs from
// @trustplane/crypto. At every visited instant, every SVID issued so far that has not expired
// must verify against the bundle published at that instant (revoked ones must not).
import assert from 'node:assert/strict';
import {
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  verify,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import {
  createJwtAuthority,
  createX509SvidTemplate,
  mintJwtSvid,
  mintX509Svid,
  spkiOf,
  validateCaCertificate,
  type JwtAuthority,
  type X509SvidTemplate,
} from '@trustplane/crypto';
import type {
  BundleEvent,
  CaEvent,
  SpiffeBundleDocument,
  SpiffeBundleKey,
} from '@trustplane/events';
import {
  activationThreshold,
  activeKeyset,
  bundleDecider,
  caDecider,
  findKeyset,
  nextDueAt,
  preparationThreshold,
  preparedKeyset,
  rotationActions,
  jwtSvidTtl,
  x509SvidTtl,
  newKeysetValidity,
  type BundleCommand,
  type BundleState,
  type CaCommand,
  type CaSettings,
  type CaState,
  type Keyset,
} from '../index.js';
import { prepareCommand, TestCustody } from './custody.js';
import { AggregateRun, DAY, T0 } from '../testing.js';

const TRUST_DOMAIN = 'example.org';
const SPIFFE_ID = 'spiffe://example.org/payments';

/** One SVID handed to a workload, with what is needed to check it later. */
export interface Issued {
  readonly index: number;
  readonly kind: 'x509' | 'jwt';
  readonly keysetId: string;
  readonly issuedAt: number;
  /** First instant (ms) at which it is valid. */
  readonly notBefore: number;
  /** Last instant (ms) at which it is valid: X.509 notAfter (inclusive), JWT exp − 1 ms. */
  readonly lastValidAt: number;
  readonly leaf?: X509Certificate;
  readonly jwt?: {
    kid: string;
    alg: string;
    sub: string;
    exp: number;
    signingInput: string;
    signature: Buffer;
  };
}

export interface SimulationOptions {
  readonly days: number;
  readonly settings: CaSettings;
  /** Seconds after T0 at which the active keyset is tainted (forced rotation). */
  readonly taintAt?: number;
  /** Seconds after the taint at which the tainted keyset is revoked. */
  readonly revokeAfter?: number;
  /** Regular step (and minting) interval in ms; default one minute. */
  readonly gridMs?: number;
}

export interface SimulationReport {
  readonly steps: number;
  readonly checks: number;
  readonly issued: number;
  readonly keysets: readonly Keyset[];
  readonly bundleUpdates: number;
  readonly drops: number;
  readonly events: readonly CaEvent['type'][];
}

/** A CA certificate as a relying party loads it from a bundle. */
interface LoadedCa {
  readonly id: number;
  readonly cert: X509Certificate;
  readonly publicKey: KeyObject;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** Independent verification with node:crypto against a published SPIFFE bundle document. */
class RelyingParty {
  readonly #cas = new Map<string, LoadedCa>();
  readonly #jwtKeys = new Map<string, { id: number; key: KeyObject }>();
  /** Signature results per (SVID, authority): a signature never changes its mind. */
  readonly #signatureOk = new Map<number, Map<number, boolean>>();

  #ca(x5c: string): LoadedCa {
    let ca = this.#cas.get(x5c);
    if (!ca) {
      const cert = new X509Certificate(Buffer.from(x5c, 'base64'));
      ca = {
        id: this.#cas.size,
        cert,
        publicKey: cert.publicKey,
        notBefore: Date.parse(cert.validFrom),
        notAfter: Date.parse(cert.validTo),
      };
      this.#cas.set(x5c, ca);
    }
    return ca;
  }

  #jwtKey(key: SpiffeBundleKey): { id: number; key: KeyObject } {
    const text = JSON.stringify(key);
    let entry = this.#jwtKeys.get(text);
    if (!entry) {
      const { use: _use, kid: _kid, ...jwk } = key;
      entry = {
        id: 1e6 + this.#jwtKeys.size,
        key: createPublicKey({ key: jwk as never, format: 'jwk' }),
      };
      this.#jwtKeys.set(text, entry);
    }
    return entry;
  }

  /** Whether `svid` is valid at `nowMs` according to `doc` alone. */
  accepts(doc: SpiffeBundleDocument, svid: Issued, nowMs: number): boolean {
    if (nowMs < svid.notBefore || nowMs > svid.lastValidAt) return false;
    if (svid.kind === 'x509') {
      return doc.keys.some((key) => {
        if (key.use !== 'x509-svid' || key.x5c?.length !== 1) return false;
        const ca = this.#ca(key.x5c[0]!);
        // The CA itself must be valid now (RFC 5280 §6.1.3: every certificate of the path).
        if (nowMs < ca.notBefore || nowMs > ca.notAfter) return false;
        return this.#cached(
          svid.index,
          ca.id,
          () => svid.leaf!.checkIssued(ca.cert) && svid.leaf!.verify(ca.publicKey),
        );
      });
    }
    const jwt = svid.jwt!;
    if (jwt.sub !== SPIFFE_ID) return false;
    const key = doc.keys.find((k) => k.use === 'jwt-svid' && k.kid === jwt.kid);
    if (!key) return false;
    const { id, key: publicKey } = this.#jwtKey(key);
    return this.#cached(svid.index, id, () => {
      const hash = jwt.alg.endsWith('384') ? 'sha384' : 'sha256';
      const dsaEncoding = jwt.alg.startsWith('ES') ? 'ieee-p1363' : 'der';
      return verify(
        hash,
        Buffer.from(jwt.signingInput),
        { key: publicKey, dsaEncoding },
        jwt.signature,
      );
    });
  }

  #cached(svid: number, authority: number, compute: () => boolean): boolean {
    let bySvid = this.#signatureOk.get(svid);
    if (!bySvid) this.#signatureOk.set(svid, (bySvid = new Map()));
    let ok = bySvid.get(authority);
    if (ok === undefined) bySvid.set(authority, (ok = compute()));
    return ok;
  }
}

/** Parses a JWS compact token the way a relying party does (no library code involved). */
function parseJws(token: string): NonNullable<Issued['jwt']> {
  const [h, p, s] = token.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { kid: string; alg: string };
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { exp: number; sub: string };
  return {
    kid: header.kid,
    alg: header.alg,
    sub: claims.sub,
    exp: claims.exp,
    signingInput: `${h}.${p}`,
    signature: Buffer.from(s, 'base64url'),
  };
}

/** The simulated trust-domain server of one deployment: runs due actions and mints. */
class SimulatedSigner {
  readonly custody = new TestCustody();
  readonly ca = new AggregateRun<CaState, CaCommand, CaEvent>(caDecider, 'tdd-0000000001');
  readonly templates = new Map<string, { x509: X509SvidTemplate; jwt: JwtAuthority }>();
  readonly workloadSpki = spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
  #serial = 0;

  constructor(
    readonly settings: CaSettings,
    readonly onDrop: (keysetId: string, nowMs: number) => void,
  ) {}

  /** Creates keys in custody, builds the CA with the proposed validity and prepares it. */
  async prepare(validity: { notBefore: Date; notAfter: Date }, now: Date): Promise<string> {
    const keysetId = `ks-${String(++this.#serial).padStart(3, '0')}`;
    const command = await prepareCommand(this.custody, {
      keysetId,
      keyType: this.settings.keyType,
      notBefore: validity.notBefore,
      notAfter: validity.notAfter,
      maxX509SvidTtlSeconds: this.settings.maxX509SvidTtlSeconds,
      maxJwtSvidTtlSeconds: this.settings.maxJwtSvidTtlSeconds,
    });
    this.ca.must({ ...command, keyType: this.settings.keyType }, now);
    return keysetId;
  }

  /** Applies rotationActions until nothing is due (returns the actions applied). */
  async runDue(now: Date): Promise<string[]> {
    const applied: string[] = [];
    for (let round = 0; round < 5; round++) {
      const actions = rotationActions(this.ca.state, now, this.settings);
      if (actions.length === 0) return applied;
      for (const action of actions) {
        switch (action.kind) {
          case 'prepare':
            applied.push(`prepare ${await this.prepare(action, now)}`);
            break;
          case 'activate':
            this.ca.must({ kind: 'activate', keysetId: action.keysetId }, now);
            applied.push(`activate ${action.keysetId}`);
            break;
          case 'drop': {
            this.onDrop(action.keysetId, now.getTime());
            this.ca.must({ kind: 'drop', keysetId: action.keysetId }, now);
            const ks = findKeyset(this.ca.state, action.keysetId)!;
            // Out of the bundle: the private keys can go.
            this.custody.release(ks.x509.keyHandle);
            this.custody.release(ks.jwt.keyHandle);
            applied.push(`drop ${action.keysetId}`);
            break;
          }
        }
      }
    }
    throw new Error('rotation did not settle');
  }

  /** Template and JWT authority of a keyset, loaded from its public material only. */
  #authorities(ks: Keyset): { x509: X509SvidTemplate; jwt: JwtAuthority } {
    let entry = this.templates.get(ks.keysetId);
    if (!entry) {
      const authority = validateCaCertificate(Buffer.from(ks.x509.certificate, 'base64'), {
        trustDomain: TRUST_DOMAIN,
      });
      entry = {
        x509: createX509SvidTemplate({ authority, maxTtlSeconds: ks.maxX509SvidTtlSeconds }),
        jwt: createJwtAuthority({
          trustDomain: TRUST_DOMAIN,
          publicKey: Buffer.from(ks.jwt.publicKey, 'base64'),
          keyId: ks.jwt.keyId,
          notAfter: new Date(ks.notAfter),
          maxTtlSeconds: ks.maxJwtSvidTtlSeconds,
        }),
      };
      this.templates.set(ks.keysetId, entry);
    }
    return entry;
  }

  /** Mints one X.509-SVID and one JWT-SVID with the active keyset. */
  async mint(now: Date, index: number): Promise<[Issued, Issued]> {
    const active = activeKeyset(this.ca.state);
    assert.ok(active, `no active keyset at ${now.toISOString()}: signing gap`);
    const { x509, jwt } = this.#authorities(active);
    const x509Ttl = x509SvidTtl(this.ca.state, now, this.settings);
    const svid = await mintX509Svid(
      x509,
      { spiffeId: SPIFFE_ID, publicKey: this.workloadSpki, ttlSeconds: x509Ttl.ttlSeconds, now },
      { signer: this.custody.signer(active.x509.keyHandle), randomBytes },
    );
    const jwtTtl = jwtSvidTtl(this.ca.state, now, this.settings);
    const token = await mintJwtSvid(
      jwt,
      { spiffeId: SPIFFE_ID, audience: ['bank'], ttlSeconds: jwtTtl.ttlSeconds, now },
      this.custody.signer(active.jwt.keyHandle),
    );
    const leaf = new X509Certificate(svid.certificate);
    const jws = parseJws(token.token);
    return [
      {
        index,
        kind: 'x509',
        keysetId: active.keysetId,
        issuedAt: now.getTime(),
        notBefore: Date.parse(leaf.validFrom),
        lastValidAt: Date.parse(leaf.validTo),
        leaf,
      },
      {
        index: index + 1,
        kind: 'jwt',
        keysetId: active.keysetId,
        issuedAt: now.getTime(),
        notBefore: 0,
        lastValidAt: jws.exp * 1000 - 1,
        jwt: jws,
      },
    ];
  }
}

export async function simulate(options: SimulationOptions): Promise<SimulationReport> {
  const { settings } = options;
  const issued: Issued[] = [];
  let live: Issued[] = [];
  const revoked = new Set<string>();
  let drops = 0;
  const signer = new SimulatedSigner(settings, (keysetId, nowMs) => {
    drops += 1;
    // A keyset leaves the bundle only after the last SVID it signed has expired.
    for (const svid of issued.filter((s) => s.keysetId === keysetId)) {
      assert.ok(
        svid.lastValidAt < nowMs,
        `${keysetId} dropped at ${new Date(nowMs).toISOString()} but SVID #${svid.index} is valid until ${new Date(svid.lastValidAt).toISOString()}`,
      );
    }
  });
  const bundle = new AggregateRun<BundleState, BundleCommand, BundleEvent>(
    bundleDecider,
    'td-0000000001',
  );
  const publish = (now: Date): void => {
    bundle.must(
      {
        kind: 'publish',
        trustDomainId: 'td-0000000001',
        trustDomain: TRUST_DOMAIN,
        deployments: [signer.ca.state],
        refreshHintSeconds: settings.bundleRefreshHintSeconds,
      },
      now,
    );
  };
  const rp = new RelyingParty();
  const grid = options.gridMs ?? 60_000;
  const end = T0.getTime() + options.days * DAY * 1000;
  const taintAt = options.taintAt === undefined ? undefined : T0.getTime() + options.taintAt * 1000;
  const revokeAt =
    taintAt === undefined || options.revokeAfter === undefined
      ? undefined
      : taintAt + options.revokeAfter * 1000;
  let taintedKeyset: string | undefined;
  let steps = 0;
  let checks = 0;
  let t = T0.getTime();

  while (t <= end) {
    steps += 1;
    const now = new Date(t);
    const before = bundle.state.document;
    const eventsBefore = signer.ca.events.length;
    const applied = await signer.runDue(now);

    // Scheduled activations use a keyset relying parties have had since the predecessor's
    // preparation threshold (a third of its life for 24h, 23 days for 90 days).
    for (const activation of signer.ca.events.slice(eventsBefore)) {
      if (activation.type !== 'ca.keyset_activated' || activation.data.reason !== 'rotation')
        continue;
      const ks = findKeyset(signer.ca.state, activation.data.keysetId)!;
      const previous = findKeyset(signer.ca.state, activation.data.previousKeysetId!)!;
      assert.ok(
        before?.keys.some((k) => k.x5c?.[0] === ks.x509.certificate),
        `${ks.keysetId} was not published before use`,
      );
      const lead = activationThreshold(previous) - preparationThreshold(previous);
      assert.ok(
        t - ks.preparedAt >= lead,
        `${ks.keysetId} published only ${(t - ks.preparedAt) / 1000}s before use`,
      );
    }

    if (taintAt !== undefined && t === taintAt) {
      // Forced rotation: prepare a successor if none is waiting, then taint the active keyset
      // (the successor is activated in the same decision, so signing never stops).
      const victim = activeKeyset(signer.ca.state)!;
      if (!preparedKeyset(signer.ca.state))
        await signer.prepare(newKeysetValidity(now, settings), now);
      const events = signer.ca.must({ kind: 'taint', keysetId: victim.keysetId }, now);
      assert.deepEqual(
        events.map((e) => e.type),
        ['ca.keyset_activated', 'ca.keyset_tainted'],
      );
      taintedKeyset = victim.keysetId;
      assert.notEqual(activeKeyset(signer.ca.state)?.keysetId, victim.keysetId);
    }
    if (revokeAt !== undefined && t === revokeAt && taintedKeyset !== undefined) {
      signer.ca.must({ kind: 'revoke', keysetId: taintedKeyset }, now);
      revoked.add(taintedKeyset);
      const ks = findKeyset(signer.ca.state, taintedKeyset)!;
      signer.custody.release(ks.x509.keyHandle);
      signer.custody.release(ks.jwt.keyHandle);
    }

    publish(now);
    const doc = bundle.state.document!;
    assert.equal(
      signer.ca.state.keysets.filter((k) => k.status === 'active').length,
      1,
      'exactly one active keyset',
    );

    // Mint on the minute grid, the second before anything is due, and right after a taint
    // (agents renew everything the tainted keyset signed).
    const due = nextDueAt(signer.ca.state).getTime();
    const onGrid = (t - T0.getTime()) % grid === 0;
    if (onGrid || applied.length > 0 || t === taintAt || t + 1000 === due) {
      const minted = await signer.mint(now, issued.length);
      issued.push(...minted);
      live.push(...minted);
      if (t === taintAt) {
        const renewals = live.filter((s) => s.keysetId === taintedKeyset).length;
        assert.ok(renewals > 0, 'the tainted keyset had live SVIDs to renew');
      }
    }

    // Every SVID not yet expired verifies against the bundle published now (unless revoked).
    live = live.filter((s) => s.lastValidAt >= t);
    for (const svid of live) {
      checks += 1;
      const ok = rp.accepts(doc, svid, t);
      if (revoked.has(svid.keysetId))
        assert.equal(ok, false, `SVID #${svid.index} of revoked ${svid.keysetId} still verifies`);
      else
        assert.ok(
          ok,
          `SVID #${svid.index} (${svid.kind}, ${svid.keysetId}) does not verify at ${now.toISOString()} against bundle #${doc.spiffe_sequence}`,
        );
    }

    // The schedule is exact: nothing is due before nextDueAt, something is due at it.
    assert.ok(due > t, 'runDue left nothing due');
    assert.deepEqual(rotationActions(signer.ca.state, new Date(due - 1), settings), []);
    assert.ok(rotationActions(signer.ca.state, new Date(due), settings).length > 0);

    // Next instant: the next grid point, the second before and the instant something is due,
    // the taint/revoke instants and the last valid instant of every live SVID.
    const candidates = [t + grid - ((t - T0.getTime()) % grid), due - 1000, due];
    if (taintAt !== undefined) candidates.push(taintAt);
    if (revokeAt !== undefined) candidates.push(revokeAt);
    for (const s of live) candidates.push(s.lastValidAt);
    t = Math.min(...candidates.filter((c) => c > t));
  }

  const updates = bundle.events.map((e) => e.data.sequence);
  assert.deepEqual(
    updates,
    updates.map((_, i) => i + 1),
    'spiffe_sequence goes 1, 2, 3, … with one update per change',
  );
  return {
    steps,
    checks,
    issued: issued.length,
    keysets: signer.ca.state.keysets,
    bundleUpdates: bundle.events.length,
    drops,
    events: signer.ca.events.map((e) => e.type),
  };
}
