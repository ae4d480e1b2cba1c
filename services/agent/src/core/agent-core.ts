/**
 * The agent core: puts together node attestation (./attestation.ts), the session with the signer
 * and its entry and bundle streams (./entry-sync.ts), SVID issuance and rotation
 * (./svid-cache.ts), the bundles (./bundle-state.ts) and the persisted identity
 * (./state-store.ts), and is the {@link IdentitySource} the Workload API serves from.
 *
 * Workload keys are generated here and never sent anywhere but to the entitled workload over the
 * local socket; the signer only sees CSRs. Entry and bundle changes arrive on server streams
 * (pushed, never polled). When the signer is unreachable the current snapshot is kept and
 * served, streams are re-opened with backoff, and JWT-SVID requests fail fast.
 */
import { X509Certificate } from 'node:crypto';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { agentApi } from '@trustplane/proto';
import type { Logger } from 'pino';
import type { IdentitySnapshot, IdentitySource, MintedJwtSvid, TrustBundle } from '../identity-source.js';
import { attestNode, pastHalfLife, renewAgentSvid, resumable, type AttestationSettings } from './attestation.js';
import { readBundleUpdate, sameBundle } from './bundle-state.js';
import { EntrySync } from './entry-sync.js';
import { CALL_DEADLINE_MS, MAX_BACKOFF_MS, redact, unaryCall } from './signer-connection.js';
import { AgentStateError, StateStore, type AgentState } from './state-store.js';
import { SvidCache } from './svid-cache.js';

export { readBundlePem, readClusterKey } from './attestation.js';

/** How long after attesting a refused session is retried quickly (the signer may lag behind). */
const FRESH_ATTESTATION_GRACE_MS = 10_000;

/** Settings of the agent core. */
export interface AgentCoreSettings extends AttestationSettings {
  /** Directory of the persisted identity (./state-store.ts). */
  readonly dataDir: string;
  readonly logger: Logger;
  /** Clock (tests). */
  readonly now?: () => number;
}

/** Counters the health endpoint exposes. */
export interface AgentCoreStats {
  svidsSigned: number;
  signFailures: number;
  agentRenewals: number;
  /** Persisted states that could not be read at start (the agent then refuses to attest). */
  stateLoadFailures: number;
  /** Writes of the persisted state that failed (the identity is kept in memory). */
  stateWriteFailures: number;
  /** Bundle updates from the signer that could not be read (the bundles held are kept). */
  bundleUpdatesRefused: number;
}

/** The agent core; implements the Workload API's {@link IdentitySource}. */
export class AgentCore implements IdentitySource {
  readonly stats: AgentCoreStats = {
    svidsSigned: 0,
    signFailures: 0,
    agentRenewals: 0,
    stateLoadFailures: 0,
    stateWriteFailures: 0,
    bundleUpdatesRefused: 0,
  };
  private readonly store: StateStore;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly cache: SvidCache;
  private readonly sync: EntrySync;
  private state: AgentState | undefined;
  /** Why the core refused to start, when it did. */
  private refusal: AgentStateError | undefined;
  private current: IdentitySnapshot;
  private readonly listeners = new Set<() => void>();
  private tick: NodeJS.Timeout | undefined;
  private stopped = false;
  private signing: Promise<void> | undefined;
  private signAgain = false;
  private renewing: Promise<void> | undefined;
  private snapshotScheduled = false;

  constructor(private readonly settings: AgentCoreSettings) {
    this.store = new StateStore(settings.dataDir);
    this.now = settings.now ?? Date.now;
    this.logger = settings.logger;
    this.cache = new SvidCache(settings.logger, this.now, this.stats);
    this.sync = new EntrySync(
      settings,
      () => this.state,
      {
        onEntries: (message) => this.onEntries(message),
        onBundles: (message) => this.onBundles(message),
        onConnected: () => this.signPending(),
      },
      settings.logger,
    );
    this.current = {
      trustDomain: settings.trustDomain,
      bundle: { x509Authorities: [], jwtAuthorities: [] },
      federatedBundles: new Map(),
      identities: [],
    };
  }

  /** The agent's SPIFFE ID once attested. */
  get spiffeId(): string | undefined {
    return this.state?.spiffeId;
  }

  /** Whether the entry and bundle streams to the signer are open. */
  get connected(): boolean {
    return this.sync.connected;
  }

  /** Whether the agent holds an identity (attested or restored). */
  get ready(): boolean {
    return this.state !== undefined;
  }

  /** Why the core refused to start (an unusable persisted state), if it did. */
  get refused(): AgentStateError | undefined {
    return this.refusal;
  }

  /** Signer stream reconnects since start. */
  get reconnects(): number {
    return this.sync.reconnects;
  }

  /** Number of entries held, and how many have an SVID. */
  counts(): { entries: number; svids: number } {
    return this.cache.counts();
  }

  /**
   * Restores the persisted identity when its SVID is still valid, else attests (retrying with
   * backoff while the signer is unreachable); then connects and starts the rotation clock.
   * @throws AgentStateError when the persisted state exists but cannot be read (logged and
   * counted; the agent does not attest over it), or the signer's refusal of the attestation.
   */
  async start(): Promise<void> {
    const restored = this.loadState();
    if (restored !== undefined && resumable(restored, this.settings.trustDomainId, this.now())) {
      this.state = restored;
      this.logger.info({ spiffeId: restored.spiffeId }, 'agent identity restored from the data directory');
      this.publishBundle({ x509Authorities: restored.x509Authorities, jwtAuthorities: restored.jwtAuthorities }, this.current.federatedBundles);
    } else {
      await this.attestWithRetry();
    }
    this.sync.connect();
    this.tick = setInterval(() => this.onTick(), 1_000);
    this.tick.unref();
  }

  /** Closes the signer connection and stops every timer. */
  stop(): void {
    this.stopped = true;
    if (this.tick !== undefined) clearInterval(this.tick);
    this.sync.stop();
  }

  // -- IdentitySource ------------------------------------------------------------------------

  snapshot(): IdentitySnapshot {
    return this.current;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async mintJwtSvid(spiffeId: string, audience: readonly string[]): Promise<MintedJwtSvid> {
    const entryId = this.cache.entryIdFor(spiffeId);
    if (entryId === undefined) throw new Error('no entry for this SPIFFE ID');
    const client = this.sync.client;
    if (client === undefined) throw new Error('the signer is not reachable');
    const response = await unaryCall<agentApi.MintJwtSvidResponse>((cb) =>
      client.mintJwtSvid({ entryId, audience: [...audience] }, new Metadata(), { deadline: Date.now() + CALL_DEADLINE_MS }, cb),
    );
    return { token: response.token, expiresAt: new Date(Number(response.expiresAt) * 1000) };
  }

  // -- the persisted state and the agent SVID ------------------------------------------------

  /** The persisted state; an unusable one is logged, counted and refused (never re-attested over). */
  private loadState(): AgentState | undefined {
    try {
      return this.store.load();
    } catch (error) {
      if (!(error instanceof AgentStateError)) throw error;
      this.stats.stateLoadFailures += 1;
      this.refusal = error;
      this.logger.error(
        { code: error.code, file: error.file, cause: (error.cause as Error | undefined)?.message },
        'the persisted agent state cannot be used; refusing to attest again over it',
      );
      throw error;
    }
  }

  /** Persists the state; a failure is logged and counted, the identity stays in memory. */
  private saveState(state: AgentState): void {
    try {
      this.store.save(state);
    } catch (error) {
      this.stats.stateWriteFailures += 1;
      const e = error as Partial<AgentStateError>;
      this.logger.error({ code: e.code, file: e.file, message: e.message }, 'the agent state could not be written');
    }
  }

  private async attestWithRetry(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        this.state = await attestNode(this.settings, this.now());
        this.sync.freshlyAttested(FRESH_ATTESTATION_GRACE_MS);
        this.saveState(this.state);
        this.publishBundle({ x509Authorities: this.state.x509Authorities, jwtAuthorities: [] }, this.current.federatedBundles);
        this.logger.info({ spiffeId: this.state.spiffeId }, 'agent attested');
        return;
      } catch (error) {
        const code = (error as Partial<ServiceError>).code;
        if (code === status.PERMISSION_DENIED || code === status.INVALID_ARGUMENT) throw error;
        const wait = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt);
        this.logger.warn({ err: redact(error), retryInMs: wait }, 'attestation failed; retrying');
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** Renews the agent SVID with a new key; reconnects with it. */
  private renewAgent(reason: string): Promise<void> {
    if (this.renewing !== undefined) return this.renewing;
    this.renewing = (async () => {
      const client = this.sync.client;
      const state = this.state;
      if (client === undefined || state === undefined) return;
      const renewed = await renewAgentSvid(client);
      // Re-read the state: a bundle update may have arrived while the call was in flight.
      this.state = { ...(this.state ?? state), key: renewed.key, chain: renewed.chain };
      this.saveState(this.state);
      this.stats.agentRenewals += 1;
      this.logger.info({ reason }, 'agent SVID renewed');
      // Move to the new SVID once in-flight signing on the current connection is done.
      await this.signing;
      this.sync.reconnect(0);
    })()
      .catch((error: unknown) => this.logger.warn({ err: redact(error), reason }, 'agent SVID renewal failed'))
      .finally(() => {
        this.renewing = undefined;
      });
    return this.renewing;
  }

  // -- entries and bundles --------------------------------------------------------------------

  private onEntries(message: agentApi.SyncEntriesResponse): void {
    if (this.cache.applyEntries(message.entries)) {
      this.logger.debug({ revision: message.revision.toString(), entries: this.cache.counts().entries }, 'entries synced');
      this.publishIdentities();
    }
    this.signPending();
  }

  private onBundles(message: agentApi.StreamBundlesResponse): void {
    let update: ReturnType<typeof readBundleUpdate>;
    try {
      update = readBundleUpdate(message);
    } catch (error) {
      // Never taken for an empty bundle: the workloads keep the authorities they have.
      this.stats.bundleUpdatesRefused += 1;
      this.logger.error({ err: error, code: (error as { code?: unknown }).code }, 'bundle update from the signer refused: it cannot be read; keeping the bundles held');
      return;
    }
    if (update.own !== undefined && this.state !== undefined) {
      const held = { x509Authorities: this.state.x509Authorities, jwtAuthorities: this.state.jwtAuthorities };
      if (!sameBundle(held, update.own)) {
        this.state = { ...this.state, ...update.own };
        this.saveState(this.state);
      }
      // New CA certificates are pinned from the next connection on; the open one stays valid.
      this.publishBundle(update.own, update.federated);
    }
    if (update.tainted.empty) return;
    if (this.cache.rotateTainted(update.tainted)) this.signPending();
    const agentLeaf = this.state?.chain[0];
    if (agentLeaf !== undefined && update.tainted.issued(new X509Certificate(agentLeaf))) {
      void this.renewAgent('tainted authority');
    }
  }

  /** Rotation clock: re-signs what reached its rotation time, renews the agent SVID at half-life. */
  private onTick(): void {
    if (this.cache.anyDue()) this.signPending();
    const leaf = this.state?.chain[0];
    if (leaf !== undefined && this.connected && pastHalfLife(leaf, this.now())) void this.renewAgent('half-life');
  }

  /** Signs every entry without a current SVID, in batches; one run at a time. */
  private signPending(): void {
    if (this.signing !== undefined) {
      this.signAgain = true;
      return;
    }
    this.signing = (async () => {
      do {
        this.signAgain = false;
        const client = this.sync.client;
        if (client === undefined) return;
        await this.cache.signDue(
          (params) =>
            unaryCall<agentApi.BatchSignX509SvidsResponse>((cb) =>
              client.batchSignX509Svids({ params }, new Metadata(), { deadline: Date.now() + CALL_DEADLINE_MS * 4 }, cb),
            ),
          () => this.publishIdentities(),
        );
      } while (this.signAgain && !this.stopped);
    })().finally(() => {
      this.signing = undefined;
    });
  }

  // -- the snapshot ---------------------------------------------------------------------------

  private publishBundle(own: TrustBundle, federated: ReadonlyMap<string, TrustBundle>): void {
    this.current = { ...this.current, bundle: own, federatedBundles: federated };
    this.emit();
  }

  private publishIdentities(): void {
    this.current = { ...this.current, identities: this.cache.identities() };
    this.emit();
  }

  private emit(): void {
    if (this.snapshotScheduled) return;
    this.snapshotScheduled = true;
    queueMicrotask(() => {
      this.snapshotScheduled = false;
      for (const listener of [...this.listeners]) listener();
    });
  }
}
