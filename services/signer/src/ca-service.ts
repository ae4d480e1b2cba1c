import { randomBytes } from 'node:crypto';
import { uuidv7, type AggregateRef, type DomainEnvelope, type ReportedKeyset } from '@trustplane/events';
import { EventLog, handleCommand, quoteIdent, type CommandContext, type LoadedAggregate } from '@trustplane/eventstore';
import {
  BUNDLE,
  CA,
  activeKeyset,
  bundleDecider,
  caDecider,
  jwtSvidTtl,
  keyHandlesFor,
  newKeysetValidity,
  preparedKeyset,
  reportedCaState,
  rotationActions,
  x509SvidTtl,
  type BundleState,
  type CaCommand,
  type CaSettings,
  type CaState,
  type Keyset,
  type RotationAction,
} from '@trustplane/ca-domain';
import {
  buildCaCertificate,
  createJwtAuthority,
  createSignatureSampler,
  createX509SvidTemplate,
  mintJwtSvid,
  mintX509Svid,
  mintX509SvidFromCsr,
  validateCaCertificate,
  type JwtAuthority,
  type JwtSvid,
  type MessageSigner,
  type X509Authority,
  type X509Svid,
  type X509SvidTemplate,
} from '@trustplane/crypto';
import {
  confinedPathProblems,
  isKeyManagerError,
  parseKeyManagerConfig,
  type KeyInfo,
  type KeyManager,
  type KeyManagerConfig,
  type KeyManagerPolicy,
} from '@trustplane/keymanager';
import type { Clock } from '@trustplane/platform';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { CustodyPool } from './custody-pool.js';
import type { SignerMetrics } from './metrics.js';
import type { SecretSealer } from './sealed-secrets.js';

/** What an X.509-SVID is minted from: a public key or a CSR, and the SVID's details. */
export interface X509MintRequest {
  readonly spiffeId: string;
  readonly publicKey?: Uint8Array;
  readonly csr?: Uint8Array;
  readonly dnsNames?: readonly string[];
  readonly ttlSeconds?: number;
}

/** A deployment this signer serves. */
export interface ServedDeployment {
  readonly tenant: string;
  readonly deploymentId: string;
  readonly trustDomainId: string;
  readonly trustDomain: string;
}

/** The signing material of a deployment's active keyset, built once per activation. */
interface ActiveAuthority {
  readonly keysetId: string;
  readonly template: X509SvidTemplate;
  readonly jwt: JwtAuthority;
  readonly x509Signer: MessageSigner;
  readonly jwtSigner: MessageSigner;
}

const caFold = {
  initialState: () => caDecider.initialState(),
  evolve: (state: CaState, event: DomainEnvelope) => caDecider.evolve(state, event as never),
};

/** A MessageSigner that signs through the KeyManager (the custody child) with the message form. */
export function keyManagerSigner(keyManager: KeyManager, keyHandle: string): MessageSigner {
  return async (message, hash) => keyManager.sign(keyHandle, { message, hashAlgorithm: hash });
}

/** Builds a keyset's self-signed CA certificate (a seam for fault injection in tests). */
export type CaCertificateBuilder = typeof buildCaCertificate;

/** What CaService needs besides the log, the database and the custody children. */
export interface CaServiceOptions {
  readonly settings: CaSettings;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: SignerMetrics;
  /** The operator's rules for tenant key-manager sections (managed deployments: confined). */
  readonly keyManagerPolicy: KeyManagerPolicy;
  /** Opens the sealed bearer tokens sections refer to. */
  readonly sealer: SecretSealer;
  /** Default: buildCaCertificate of @trustplane/crypto. */
  readonly buildCa?: CaCertificateBuilder;
  /** Self-hosted mode: the one (self-hosted) deployment this signer serves besides managed ones (none in its log). */
  readonly selfHostedDeploymentId?: string;
}

/**
 * The CA of every deployment this signer serves: rotation on SPIRE's schedule (pure functions
 * of the injected clock), keys created in custody, public material recorded as events, the
 * trust bundle republished on every change, and SVID minting with the active keyset.
 */
export class CaService {
  private readonly states = new Map<string, LoadedAggregate<CaState>>();
  private readonly authorities = new Map<string, ActiveAuthority>();
  private readonly bundles = new Map<string, LoadedAggregate<BundleState>>();
  private readonly appliedKeyManagers = new Map<string, number>();
  /** Per trust domain with self-hosted reports: the report version last published, and when. */
  private readonly reportedPublished = new Map<string, { version: number; minute: number }>();
  /** Deployments whose KeyManager changed: the leader checks that the active key moved with it. */
  private readonly movesPending = new Set<string>();
  /** Full signature checks on the first and every 32nd output; field checks on all. */
  private readonly sampleSignature = createSignatureSampler(32);
  private readonly table: (name: string) => string;
  readonly settings: CaSettings;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly metrics: SignerMetrics;
  private readonly buildCa: CaCertificateBuilder;
  private readonly keyManagerPolicy: KeyManagerPolicy;
  private readonly sealer: SecretSealer;
  private readonly selfHostedDeploymentId: string | undefined;

  constructor(
    private readonly log: EventLog,
    private readonly pool: Pool,
    schema: string,
    private readonly custody: CustodyPool,
    options: CaServiceOptions,
  ) {
    this.table = (name) => `${quoteIdent(schema)}.${quoteIdent(name)}`;
    this.settings = options.settings;
    this.clock = options.clock;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.buildCa = options.buildCa ?? buildCaCertificate;
    this.keyManagerPolicy = options.keyManagerPolicy;
    this.sealer = options.sealer;
    this.selfHostedDeploymentId = options.selfHostedDeploymentId;
  }

  /** The managed deployments to serve (from the signer's read model), optionally narrowed. */
  async servedDeployments(filter: { tenant?: string; deploymentId?: string; trustDomainId?: string } = {}): Promise<ServedDeployment[]> {
    const rows = await this.pool.query<{ tenant_id: string; id: string; trust_domain_id: string; name: string }>(
      `SELECT d.tenant_id, d.id, d.trust_domain_id, t.name FROM ${this.table('deployments')} d
         JOIN ${this.table('trust_domains')} t ON t.id = d.trust_domain_id
        WHERE (d.managed OR d.id = $4) AND ($1::text IS NULL OR d.tenant_id = $1) AND ($2::text IS NULL OR d.id = $2)
          AND ($3::text IS NULL OR d.trust_domain_id = $3)
        ORDER BY d.id`,
      [filter.tenant ?? null, filter.deploymentId ?? null, filter.trustDomainId ?? null, this.selfHostedDeploymentId ?? null],
    );
    return rows.rows.map((r) => ({ tenant: r.tenant_id, deploymentId: r.id, trustDomainId: r.trust_domain_id, trustDomain: r.name }));
  }

  /** Looks up a served deployment of `tenant` by id or by its trust domain (one indexed query). */
  async deployment(tenant: string, lookup: { deploymentId?: string; trustDomainId?: string }): Promise<ServedDeployment | undefined> {
    return (await this.servedDeployments({ tenant, ...lookup }))[0];
  }

  /** The deployment's CA state, refreshed from the log. */
  async state(deployment: ServedDeployment): Promise<CaState> {
    const ref = caRef(deployment);
    const known = this.states.get(deployment.deploymentId);
    const loaded = known === undefined ? await this.log.load(ref, caFold) : await this.log.refresh(ref, caFold, known);
    this.states.set(deployment.deploymentId, loaded);
    return loaded.state;
  }

  /**
   * Applies the deployment's `key-manager` config section when a new version arrived (from the
   * event stream, no restart): the deployment gets its own custody child with that KeyManager.
   * The section is the tenant's, the host is the operator's: it is applied only when the
   * operator's policy allows it (paths inside the configured roots, symbolic links resolved;
   * the webhook URL on the allow-list) and its bearer token, if any, is the sealed one the
   * section references. A refused version is logged and counted once and the deployment keeps
   * its current KeyManager. Runs on every instance (each has its own custody children).
   */
  async applyKeyManager(deployment: ServedDeployment): Promise<void> {
    const rows = await this.pool.query<{ spec: unknown; version: string }>(`SELECT spec, version FROM ${this.table('key_managers')} WHERE id = $1`, [deployment.deploymentId]);
    const row = rows.rows[0];
    if (row === undefined || this.appliedKeyManagers.get(deployment.deploymentId) === Number(row.version)) return;
    const resolved = await this.resolveKeyManager(deployment, row.spec);
    this.appliedKeyManagers.set(deployment.deploymentId, Number(row.version));
    if (!resolved.ok) {
      this.metrics.keyManagerConfigsRefused.inc();
      this.logger.error(
        { deploymentId: deployment.deploymentId, tenant: deployment.tenant, version: Number(row.version), problems: resolved.problems },
        'key-manager section refused by the operator policy; the deployment keeps its current key manager',
      );
      return;
    }
    await this.custody.configure(deployment.deploymentId, resolved.config);
    this.authorities.delete(deployment.deploymentId);
    this.movesPending.add(deployment.deploymentId);
  }

  /**
   * After a new KeyManager was applied (rotation leader only): when the active keyset's key is
   * not in it, a keyset is prepared there and activated at once; the previous one stays in the
   * bundle until its SVIDs expire.
   */
  async moveOntoKeyManager(deployment: ServedDeployment): Promise<void> {
    if (!this.movesPending.has(deployment.deploymentId)) return;
    const active = activeKeyset(await this.state(deployment));
    const keyManager = this.custody.keyManagerFor(deployment.deploymentId);
    const present =
      active === undefined ||
      (await keyManager.publicKey(active.x509.keyHandle).then(
        () => true,
        () => false,
      ));
    if (!present) {
      const stale = preparedKeyset(await this.state(deployment));
      if (stale !== undefined) await this.command(deployment, { kind: 'taint', keysetId: stale.keysetId });
      await this.prepare(deployment, this.manualPrepare());
      const prepared = preparedKeyset(await this.state(deployment));
      if (prepared !== undefined) await this.command(deployment, { kind: 'activate', keysetId: prepared.keysetId });
      await this.publishBundle(deployment);
      this.logger.info({ deploymentId: deployment.deploymentId, keysetId: prepared?.keysetId }, 'rotated onto the new key manager');
    }
    this.movesPending.delete(deployment.deploymentId);
  }

  /**
   * Stops the custody children of deployments this signer no longer serves (deleted) and
   * forgets what it cached for them.
   */
  async retireDeployments(served: readonly ServedDeployment[]): Promise<void> {
    const live = new Set(served.map((d) => d.deploymentId));
    for (const deploymentId of this.custody.dedicatedDeployments()) {
      if (live.has(deploymentId)) continue;
      await this.custody.remove(deploymentId);
      for (const cache of [this.states, this.authorities, this.appliedKeyManagers]) cache.delete(deploymentId);
      this.movesPending.delete(deploymentId);
      this.logger.info({ deploymentId }, 'deployment gone: its key custody child was stopped');
    }
  }

  /** The KeyManager config a stored section describes, if the operator's policy allows it. */
  private async resolveKeyManager(deployment: ServedDeployment, spec: unknown): Promise<{ ok: true; config: KeyManagerConfig } | { ok: false; problems: string[] }> {
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return { ok: false, problems: ['spec: must be an object'] };
    const { tokenRef, ...rest } = spec as Record<string, unknown>;
    if ('token' in rest) return { ok: false, problems: ['token: a bearer token is never stored in a section (give it through the API, which seals it)'] };
    let config: KeyManagerConfig;
    try {
      const token = tokenRef === undefined ? undefined : await this.sealer.open(String(tokenRef), { tenant: deployment.tenant, deploymentId: deployment.deploymentId, purpose: 'webhook-bearer-token' });
      config = parseKeyManagerConfig(token === undefined ? rest : { ...rest, token });
    } catch (error) {
      return { ok: false, problems: [error instanceof Error ? error.message : String(error)] };
    }
    const problems = await confinedPathProblems(config, this.keyManagerPolicy, deployment.tenant);
    return problems.length === 0 ? { ok: true, config } : { ok: false, problems: problems.map((p) => `${p.key}: ${p.message}`) };
  }

  /** Runs every rotation action due now for one deployment; returns how many ran. */
  async rotate(deployment: ServedDeployment): Promise<number> {
    let ran = 0;
    for (let round = 0; round < 4; round++) {
      const now = this.clock.now();
      const actions = rotationActions(await this.state(deployment), now, this.settings);
      if (actions.length === 0) break;
      for (const action of actions) {
        await this.apply(deployment, action);
        ran += 1;
      }
    }
    if (ran > 0) await this.publishBundle(deployment);
    return ran;
  }

  /** Runs an operator command (prepare / activate / taint / revoke) and republishes the bundle. */
  async operate(deployment: ServedDeployment, op: 'prepare' | 'activate' | 'taint' | 'revoke', keysetId: string | undefined): Promise<void> {
    if (op === 'prepare') {
      await this.prepare(deployment, this.manualPrepare());
    } else {
      const state = await this.state(deployment);
      // Tainting the signing keyset is a forced rotation: make sure a successor exists first.
      if (op === 'taint' && activeKeyset(state)?.keysetId === keysetId && preparedKeyset(state) === undefined) {
        await this.prepare(deployment, this.manualPrepare());
      }
      await this.command(deployment, { kind: op, keysetId: keysetId ?? '' });
      if (op === 'taint') await this.rotate(deployment);
    }
    await this.publishBundle(deployment);
  }

  private manualPrepare(): Extract<RotationAction, { kind: 'prepare' }> {
    const validity = newKeysetValidity(this.clock.now(), this.settings);
    return {
      kind: 'prepare',
      reason: 'rotation',
      keyType: this.settings.keyType,
      ...validity,
      maxX509SvidTtlSeconds: this.settings.maxX509SvidTtlSeconds,
      maxJwtSvidTtlSeconds: this.settings.maxJwtSvidTtlSeconds,
    };
  }

  /** Mints an X.509-SVID with the active keyset (from a public key or a CSR). */
  async mintX509(deployment: ServedDeployment, request: X509MintRequest): Promise<{ svid: X509Svid; keysetId: string }> {
    return (await this.x509Minter(deployment))(request);
  }

  /**
   * A minter bound to the deployment's current CA state and active keyset, read once: a batch
   * of CSRs costs one state read instead of one per CSR.
   */
  async x509Minter(deployment: ServedDeployment): Promise<(request: X509MintRequest) => Promise<{ svid: X509Svid; keysetId: string }>> {
    const state = await this.state(deployment);
    const authority = this.activeAuthority(deployment, state);
    return async (request) => {
      const now = this.clock.now();
      refuseOverlongTtl(request.ttlSeconds, this.settings.maxX509SvidTtlSeconds, 'X.509-SVID');
      const ttl = x509SvidTtl(state, now, this.settings, request.ttlSeconds);
      const deps = { signer: authority.x509Signer, randomBytes: (size: number) => randomBytes(size), verifySignature: this.sampleSignature() };
      const base = { spiffeId: request.spiffeId, ttlSeconds: ttl.ttlSeconds, now, ...(request.dnsNames === undefined ? {} : { dnsNames: request.dnsNames }) };
      const svid =
        request.csr !== undefined
          ? await mintX509SvidFromCsr(authority.template, { ...base, csr: request.csr }, deps)
          : await mintX509Svid(authority.template, { ...base, publicKey: request.publicKey ?? new Uint8Array() }, deps);
      return { svid, keysetId: authority.keysetId };
    };
  }

  /** Mints a JWT-SVID with the active keyset. */
  async mintJwt(deployment: ServedDeployment, request: { spiffeId: string; audience: readonly string[]; ttlSeconds?: number }): Promise<JwtSvid> {
    const state = await this.state(deployment);
    const authority = this.activeAuthority(deployment, state);
    const now = this.clock.now();
    refuseOverlongTtl(request.ttlSeconds, this.settings.maxJwtSvidTtlSeconds, 'JWT-SVID');
    const ttl = jwtSvidTtl(state, now, this.settings, request.ttlSeconds);
    return mintJwtSvid(authority.jwt, { spiffeId: request.spiffeId, audience: request.audience, ttlSeconds: ttl.ttlSeconds, now }, authority.jwtSigner, {
      verifySignature: this.sampleSignature(),
    });
  }

  /** The current trust bundle document of a trust domain, read from its aggregate (never stale). */
  async bundle(tenant: string, trustDomainId: string): Promise<{ sequence: number; document: Record<string, unknown> } | undefined> {
    const ref = { tenant, aggregateType: BUNDLE, aggregateId: trustDomainId };
    const fold = { initialState: () => bundleDecider.initialState(), evolve: (state: BundleState, event: DomainEnvelope) => bundleDecider.evolve(state, event as never) };
    const known = this.bundles.get(trustDomainId);
    const loaded = known === undefined ? await this.log.load(ref, fold) : await this.log.refresh(ref, fold, known);
    this.bundles.set(trustDomainId, loaded);
    const document = loaded.state.document;
    return document === null ? undefined : { sequence: document.spiffe_sequence, document: document as unknown as Record<string, unknown> };
  }

  /** The keysets of a deployment, from the CA state. */
  async keysets(deployment: ServedDeployment): Promise<readonly Keyset[]> {
    return (await this.state(deployment)).keysets;
  }

  private async apply(deployment: ServedDeployment, action: RotationAction): Promise<void> {
    switch (action.kind) {
      case 'prepare':
        await this.prepare(deployment, action);
        return;
      case 'activate':
        await this.command(deployment, { kind: 'activate', keysetId: action.keysetId });
        return;
      case 'drop': {
        await this.command(deployment, { kind: 'drop', keysetId: action.keysetId });
        const handles = keyHandlesFor(action.keysetId);
        await this.releaseKeys(deployment, [handles.x509, handles.jwt], 'dropped');
        return;
      }
    }
  }

  /**
   * Releases keys, never silently: a failed release is logged with its cause and counted
   * (`tp_signer_key_release_failures_total`); the key then stays in the KeyManager.
   */
  private async releaseKeys(deployment: ServedDeployment, keyHandles: readonly string[], why: 'dropped' | 'unused'): Promise<void> {
    const keyManager = this.custody.keyManagerFor(deployment.deploymentId);
    for (const keyHandle of keyHandles) {
      try {
        await keyManager.release(keyHandle);
      } catch (error) {
        const reason = isKeyManagerError(error) ? error.code : 'INTERNAL';
        this.metrics.keyReleaseFailures.inc({ reason });
        this.logger.error({ err: error, deploymentId: deployment.deploymentId, keyHandle, why, reason }, 'CA key release failed; the key stays in the key manager');
      }
    }
  }

  /**
   * Creates both keys in custody, builds the self-signed CA, records the public material. When
   * anything fails before the keyset is recorded, the keys created for it are released again,
   * so a CA that cannot be built leaves no keys behind (the worker then backs off).
   */
  private async prepare(deployment: ServedDeployment, action: Extract<RotationAction, { kind: 'prepare' }>): Promise<void> {
    const keysetId = `ks-${uuidv7(this.clock.now().getTime()).replace(/-/g, '').slice(0, 20)}`;
    const handles = keyHandlesFor(keysetId);
    const keyManager = this.custody.keyManagerFor(deployment.deploymentId);
    const created: string[] = [];
    let authority: X509Authority;
    let jwtKey: KeyInfo;
    try {
      const x509Key = await keyManager.create(handles.x509, action.keyType);
      created.push(handles.x509);
      jwtKey = await keyManager.create(handles.jwt, action.keyType);
      created.push(handles.jwt);
      authority = await this.buildCa(
        {
          trustDomain: deployment.trustDomain,
          publicKey: x509Key.publicKeyDer,
          keyType: action.keyType,
          serialRandom: randomBytes(16),
          notBefore: action.notBefore,
          notAfter: action.notAfter,
        },
        keyManagerSigner(keyManager, handles.x509),
      );
    } catch (error) {
      this.metrics.caBuildFailures.inc();
      await this.releaseKeys(deployment, created, 'unused');
      throw error;
    }
    // From here the keyset may be recorded even when the append reports a failure (a timeout
    // after the server stored it), so its keys are kept.
    await this.command(deployment, {
      kind: 'prepare',
      trustDomainId: deployment.trustDomainId,
      trustDomain: deployment.trustDomain,
      keysetId,
      keyType: action.keyType,
      x509: { keyHandle: handles.x509, certificate: authority.certificate },
      jwt: { keyHandle: handles.jwt, publicKey: jwtKey.publicKeyDer },
      maxX509SvidTtlSeconds: action.maxX509SvidTtlSeconds,
      maxJwtSvidTtlSeconds: action.maxJwtSvidTtlSeconds,
    });
    this.logger.info({ deploymentId: deployment.deploymentId, keysetId, notAfter: action.notAfter }, 'keyset prepared');
  }

  private async command(deployment: ServedDeployment, command: CaCommand): Promise<void> {
    const result = await handleCommand(this.log, caDecider, caRef(deployment), command, this.context());
    this.states.set(deployment.deploymentId, { state: result.state, version: result.version });
    if (result.events.some((e) => e.type === 'ca.keyset_activated' || e.type === 'ca.keyset_tainted' || e.type === 'ca.keyset_revoked')) {
      this.authorities.delete(deployment.deploymentId);
    }
    for (const event of result.events) this.logger.info({ deploymentId: deployment.deploymentId, event: event.type }, 'ca changed');
  }

  /**
   * Recomputes the trust domain's bundle from all its deployments — the CA state of the managed
   * ones this signer serves and the public keysets self-hosted ones reported — and publishes it
   * when changed.
   */
  async publishBundle(deployment: Pick<ServedDeployment, 'tenant' | 'trustDomainId' | 'trustDomain'>): Promise<void> {
    const siblings = await this.servedDeployments({ tenant: deployment.tenant, trustDomainId: deployment.trustDomainId });
    const states = [...(await Promise.all(siblings.map((d) => this.state(d)))), ...(await this.reportedStates(deployment))];
    await handleCommand(
      this.log,
      bundleDecider,
      { tenant: deployment.tenant, aggregateType: BUNDLE, aggregateId: deployment.trustDomainId },
      {
        kind: 'publish',
        trustDomainId: deployment.trustDomainId,
        trustDomain: deployment.trustDomain,
        deployments: states,
        refreshHintSeconds: this.settings.bundleRefreshHintSeconds,
      },
      this.context(),
    );
  }

  /** Whether `trustDomainId` is a trust domain of `tenant` in this signer's read model (managed or self-hosted). */
  async hasTrustDomain(tenant: string, trustDomainId: string): Promise<boolean> {
    const rows = await this.pool.query(`SELECT 1 FROM ${this.table('trust_domains')} WHERE id = $1 AND tenant_id = $2`, [trustDomainId, tenant]);
    return (rows.rowCount ?? 0) > 0;
  }

  /** The CA states of the trust domain's self-hosted deployments, from what they reported. */
  private async reportedStates(trustDomain: Pick<ServedDeployment, 'tenant' | 'trustDomainId' | 'trustDomain'>): Promise<CaState[]> {
    const rows = await this.pool.query<{ id: string; keysets: ReportedKeyset[] }>(
      `SELECT id, keysets FROM ${this.table('reported_keysets')} WHERE tenant_id = $1 AND trust_domain_id = $2 ORDER BY id`,
      [trustDomain.tenant, trustDomain.trustDomainId],
    );
    return rows.rows.map((r) => reportedCaState(r.id, trustDomain.trustDomainId, trustDomain.trustDomain, r.keysets));
  }

  /**
   * Republishes the bundle of every trust domain whose self-hosted deployments reported new
   * keysets since the last pass (rotation leader only). Also at every keyset's notAfter the
   * next managed rotation republishes; self-hosted-only trust domains are checked each pass
   * (computing an unchanged bundle appends nothing).
   */
  async publishReportedBundles(): Promise<number> {
    const rows = await this.pool.query<{ tenant_id: string; trust_domain_id: string; name: string; version: string }>(
      `SELECT r.tenant_id, r.trust_domain_id, t.name, max(r.version) AS version
         FROM ${this.table('reported_keysets')} r JOIN ${this.table('trust_domains')} t ON t.id = r.trust_domain_id
        GROUP BY r.tenant_id, r.trust_domain_id, t.name ORDER BY r.trust_domain_id`,
    );
    let published = 0;
    for (const row of rows.rows) {
      const version = Number(row.version);
      const minute = Math.floor(this.clock.now().getTime() / 60_000);
      const seen = this.reportedPublished.get(row.trust_domain_id);
      // New reports at once; otherwise once a minute, so that expired keysets leave the bundle.
      if (seen !== undefined && seen.version === version && seen.minute === minute) continue;
      await this.publishBundle({ tenant: row.tenant_id, trustDomainId: row.trust_domain_id, trustDomain: row.name });
      if (seen?.version !== version) this.logger.info({ trustDomainId: row.trust_domain_id, reportVersion: version }, 'bundle recomputed from reported keysets');
      this.reportedPublished.set(row.trust_domain_id, { version, minute });
      published += 1;
    }
    return published;
  }

  private activeAuthority(deployment: ServedDeployment, state: CaState): ActiveAuthority {
    const active = activeKeyset(state);
    if (active === undefined) throw new SignerUnavailableError(`deployment ${deployment.deploymentId} has no active CA yet`);
    const cached = this.authorities.get(deployment.deploymentId);
    if (cached !== undefined && cached.keysetId === active.keysetId) return cached;
    const keyManager = this.custody.keyManagerFor(deployment.deploymentId);
    const authority = validateCaCertificate(Buffer.from(active.x509.certificate, 'base64'), { trustDomain: deployment.trustDomain });
    const built: ActiveAuthority = {
      keysetId: active.keysetId,
      template: createX509SvidTemplate({ authority, maxTtlSeconds: this.settings.maxX509SvidTtlSeconds }),
      jwt: createJwtAuthority({
        trustDomain: deployment.trustDomain,
        publicKey: Buffer.from(active.jwt.publicKey, 'base64'),
        keyId: active.jwt.keyId,
        notAfter: new Date(active.notAfter),
        maxTtlSeconds: this.settings.maxJwtSvidTtlSeconds,
      }),
      x509Signer: keyManagerSigner(keyManager, active.x509.keyHandle),
      jwtSigner: keyManagerSigner(keyManager, active.jwt.keyHandle),
    };
    this.authorities.set(deployment.deploymentId, built);
    return built;
  }

  private context(): CommandContext {
    const id = uuidv7();
    return { actor: { kind: 'service', id: 'signer' }, correlationId: id, causationId: id, now: this.clock.now() };
  }
}

/** A request the signer refuses (bad input): nothing is signed. */
export class SignerRequestError extends Error {
  override readonly name = 'SignerRequestError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function refuseOverlongTtl(requested: number | undefined, ceiling: number, what: string): void {
  if (requested === undefined) return;
  if (!Number.isSafeInteger(requested) || requested <= 0) throw new SignerRequestError('TTL_INVALID', `${what} TTL must be a positive integer`);
  if (requested > ceiling) throw new SignerRequestError('TTL_TOO_LONG', `${what} TTL ${requested}s exceeds the maximum of ${ceiling}s`);
}

/** No active CA (yet) for a deployment: answer "unavailable", not "invalid". */
export class SignerUnavailableError extends Error {
  override readonly name = 'SignerUnavailableError';
  readonly code = 'CA_NOT_READY';
}

function caRef(deployment: ServedDeployment): AggregateRef {
  return { tenant: deployment.tenant, aggregateType: CA, aggregateId: deployment.deploymentId };
}
