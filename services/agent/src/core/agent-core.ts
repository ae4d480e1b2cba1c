/**
 * The agent core: node attestation, the mutual-TLS connection to the signer, entry sync,
 * workload key generation and CSR signing, SVID rotation, and the {@link IdentitySource} the
 * Workload API serves from.
 *
 * Workload keys are generated here (EC P-256) and never sent anywhere but to the entitled
 * workload over the local socket; the signer only sees CSRs. Entry and bundle changes arrive on
 * server streams (pushed, never polled). When the signer is unreachable the current snapshot is
 * kept and served, streams are re-opened with backoff, and JWT-SVID requests fail fast.
 */
import {
  X509Certificate,
  createPrivateKey,
  generateKeyPair,
  randomBytes,
  sign as edSign,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  credentials,
  Metadata,
  status,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { buildCsr, keyObjectSigner, spkiOf } from '@trustplane/crypto';
import { agentApi, agentApiSni } from '@trustplane/proto';
import { certificatesPem } from '@trustplane/spiffe';
import type { Logger } from 'pino';
import type {
  IdentitySnapshot,
  IdentitySource,
  Jwk,
  MintedJwtSvid,
  TrustBundle,
  WorkloadIdentity,
} from '../identity-source.js';
import { pemCertificates, StateStore, validityOf, type AgentState } from './state-store.js';

/** Most CSRs per BatchSignX509Svids call. */
const BATCH_SIZE = 500;
/** Deadline of unary calls to the signer. */
const CALL_DEADLINE_MS = 5_000;
/** Longest reconnect backoff. */
const MAX_BACKOFF_MS = 15_000;

/** Settings of the agent core. */
export interface AgentCoreSettings {
  /** `host:port` of the signer's agent API. */
  readonly serverAddress: string;
  readonly trustDomainId: string;
  readonly trustDomain: string;
  readonly nodeName: string;
  /** Join token for the first attestation. */
  readonly joinToken?: string;
  /** Cluster ID and Ed25519 private key for cluster-key attestation. */
  readonly clusterKey?: { readonly clusterId: string; readonly privateKey: KeyObject };
  /** CA certificates (PEM) to verify the signer with before attestation; insecure bootstrap when absent. */
  readonly bootstrapBundlePem?: string;
  readonly dataDir: string;
  readonly logger: Logger;
  /** Clock (tests). */
  readonly now?: () => number;
}

/** Counters the health endpoint exposes. */
export interface AgentCoreStats {
  svidsSigned: number;
  signFailures: number;
  reconnects: number;
  agentRenewals: number;
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

/** A connection to the signer with the credentials it was opened with. */
interface Session {
  readonly client: agentApi.AgentAPIClient;
  readonly streams: ClientReadableStream<unknown>[];
  closed: boolean;
}

/** The agent core; implements the Workload API's {@link IdentitySource}. */
export class AgentCore implements IdentitySource {
  readonly stats: AgentCoreStats = {
    svidsSigned: 0,
    signFailures: 0,
    reconnects: 0,
    agentRenewals: 0,
  };
  private readonly store: StateStore;
  private readonly now: () => number;
  private readonly logger: Logger;
  private state: AgentState | undefined;
  private session: Session | undefined;
  private readonly entries = new Map<string, CachedEntry>();
  private readonly bySpiffeId = new Map<string, string>();
  private federated = new Map<string, TrustBundle>();
  private current: IdentitySnapshot;
  private readonly listeners = new Set<() => void>();
  private tainted: X509Certificate[] = [];
  private tick: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoffMs = 500;
  private stopped = false;
  private signing: Promise<void> | undefined;
  private signAgain = false;
  private renewing: Promise<void> | undefined;
  private nextRevision = 1;
  private connectedStreams = 0;
  private snapshotScheduled = false;

  constructor(private readonly settings: AgentCoreSettings) {
    this.store = new StateStore(settings.dataDir);
    this.now = settings.now ?? Date.now;
    this.logger = settings.logger;
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
    return this.connectedStreams === 2;
  }

  /** Whether the agent holds an identity (attested or restored). */
  get ready(): boolean {
    return this.state !== undefined;
  }

  /** Number of entries held, and how many have an SVID. */
  counts(): { entries: number; svids: number } {
    let svids = 0;
    for (const e of this.entries.values()) if (e.chain !== undefined) svids += 1;
    return { entries: this.entries.size, svids };
  }

  /**
   * Restores the persisted identity when its SVID is still valid, else attests (retrying with
   * backoff while the signer is unreachable); then connects and starts the rotation clock.
   */
  async start(): Promise<void> {
    const restored = this.store.load();
    if (
      restored !== undefined &&
      restored.trustDomainId === this.settings.trustDomainId &&
      restored.chain[0] !== undefined &&
      validityOf(restored.chain[0]).notAfter.getTime() > this.now() + 30_000
    ) {
      this.state = restored;
      this.logger.info(
        { spiffeId: restored.spiffeId },
        'agent identity restored from the data directory',
      );
      this.publishBundle(restored.x509Authorities, restored.jwtAuthorities, this.federated);
    } else {
      for (let attempt = 0; !this.stopped; attempt++) {
        try {
          await this.attest();
          break;
        } catch (error) {
          const code = (error as Partial<ServiceError>).code;
          if (code === status.PERMISSION_DENIED || code === status.INVALID_ARGUMENT) throw error;
          const wait = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt);
          this.logger.warn({ err: redact(error), retryInMs: wait }, 'attestation failed; retrying');
          await new Promise((r) => setTimeout(r, wait));
        }
      }
    }
    this.connect();
    this.tick = setInterval(() => this.onTick(), 1_000);
    this.tick.unref();
  }

  /** Closes the signer connection and stops every timer. */
  stop(): void {
    this.stopped = true;
    if (this.tick !== undefined) clearInterval(this.tick);
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.closeSession();
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
    const entryId = this.bySpiffeId.get(spiffeId);
    if (entryId === undefined) throw new Error('no entry for this SPIFFE ID');
    const session = this.session;
    if (session === undefined || session.closed || !this.connected) {
      throw new Error('the signer is not reachable');
    }
    const response = await unaryCall<agentApi.MintJwtSvidResponse>((cb) =>
      session.client.mintJwtSvid(
        { entryId, audience: [...audience] },
        new Metadata(),
        { deadline: Date.now() + CALL_DEADLINE_MS },
        cb,
      ),
    );
    return { token: response.token, expiresAt: new Date(Number(response.expiresAt) * 1000) };
  }

  // -- attestation and the agent SVID --------------------------------------------------------

  private async attest(): Promise<void> {
    const key = await newKey();
    const publicKey = spkiOf(key.publicKey);
    const csr = await buildCsr({ publicKey }, keyObjectSigner(key.privateKey));
    const request: agentApi.AttestAgentRequest = {
      trustDomainId: this.settings.trustDomainId,
      nodeName: this.settings.nodeName,
      publicKey,
      csr,
    };
    if (this.settings.clusterKey !== undefined) {
      const statement = Buffer.from(
        JSON.stringify({
          trustDomainId: this.settings.trustDomainId,
          clusterId: this.settings.clusterKey.clusterId,
          nodeName: this.settings.nodeName,
          iat: Math.floor(this.now() / 1000),
          nonce: randomBytes(16).toString('hex'),
        }),
        'utf8',
      );
      const signature = edSign(null, statement, this.settings.clusterKey.privateKey);
      request.clusterKey = { statement, signature };
    } else if (this.settings.joinToken !== undefined) {
      request.joinToken = this.settings.joinToken;
    } else {
      throw Object.assign(new Error('no join token or cluster key configured'), {
        code: status.INVALID_ARGUMENT,
      });
    }
    const rootPem = this.settings.bootstrapBundlePem;
    const client = this.newClient(
      rootPem === undefined
        ? credentials.createSsl(null, null, null, {
            // Insecure bootstrap: the response's bundle is pinned from now on.
            rejectUnauthorized: false,
            checkServerIdentity: () => undefined,
          })
        : credentials.createSsl(Buffer.from(rootPem), null, null, {
            checkServerIdentity: this.serverIdentityCheck(),
          }),
    );
    try {
      const response = await unaryCall<agentApi.AttestAgentResponse>((cb) =>
        client.attestAgent(
          request,
          new Metadata(),
          { deadline: Date.now() + CALL_DEADLINE_MS * 2 },
          cb,
        ),
      );
      if (response.trustDomain !== this.settings.trustDomain) {
        throw Object.assign(
          new Error(`the signer answered for trust domain ${response.trustDomain}`),
          { code: status.PERMISSION_DENIED },
        );
      }
      this.state = {
        trustDomainId: this.settings.trustDomainId,
        trustDomain: response.trustDomain,
        spiffeId: response.spiffeId,
        key: key.privateKey,
        chain: response.svidChain,
        x509Authorities: response.bundle,
        jwtAuthorities: [],
      };
      this.store.save(this.state);
      this.publishBundle(response.bundle, [], this.federated);
      this.logger.info({ spiffeId: response.spiffeId }, 'agent attested');
    } finally {
      client.close();
    }
  }

  /** Renews the agent SVID with a new key; reconnects with it. */
  private renewAgent(reason: string): Promise<void> {
    if (this.renewing !== undefined) return this.renewing;
    this.renewing = (async () => {
      const session = this.session;
      const state = this.state;
      if (session === undefined || state === undefined) return;
      const key = await newKey();
      const csr = await buildCsr(
        { publicKey: spkiOf(key.publicKey) },
        keyObjectSigner(key.privateKey),
      );
      const response = await unaryCall<agentApi.RenewAgentSvidResponse>((cb) =>
        session.client.renewAgentSvid(
          { csr },
          new Metadata(),
          { deadline: Date.now() + CALL_DEADLINE_MS },
          cb,
        ),
      );
      // Re-read the state: a bundle update may have arrived while the call was in flight.
      this.state = { ...(this.state ?? state), key: key.privateKey, chain: response.svidChain };
      this.store.save(this.state);
      this.stats.agentRenewals += 1;
      this.logger.info({ reason }, 'agent SVID renewed');
      // Move to the new SVID once in-flight signing on the current connection is done.
      await this.signing;
      this.reconnect(0);
    })()
      .catch((error: unknown) =>
        this.logger.warn({ err: redact(error), reason }, 'agent SVID renewal failed'),
      )
      .finally(() => {
        this.renewing = undefined;
      });
    return this.renewing;
  }

  // -- the connection ------------------------------------------------------------------------

  private serverIdentityCheck(): (
    hostname: string,
    cert: { subjectaltname?: string },
  ) => Error | undefined {
    const expected = `URI:spiffe://${this.settings.trustDomain}/trustplane/server`;
    return (_hostname, cert) => {
      const sans = (cert.subjectaltname ?? '').split(', ');
      return sans.includes(expected)
        ? undefined
        : new Error(`the signer did not present ${expected.slice(4)}`);
    };
  }

  private newClient(creds: ReturnType<typeof credentials.createSsl>): agentApi.AgentAPIClient {
    const sni = agentApiSni(this.settings.trustDomainId);
    return new agentApi.AgentAPIClient(this.settings.serverAddress, creds, {
      'grpc.ssl_target_name_override': sni,
      'grpc.default_authority': sni,
      'grpc.keepalive_time_ms': 20_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.initial_reconnect_backoff_ms': 500,
      'grpc.max_reconnect_backoff_ms': 5_000,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
  }

  /** Opens a session with the current agent SVID and bundle, and both streams on it. */
  private connect(): void {
    if (this.stopped || this.state === undefined) return;
    this.closeSession();
    const state = this.state;
    const creds = credentials.createSsl(
      Buffer.from(certificatesPem(state.x509Authorities)),
      Buffer.from(state.key.export({ type: 'pkcs8', format: 'pem' }).toString()),
      Buffer.from(certificatesPem(state.chain)),
      { checkServerIdentity: this.serverIdentityCheck() },
    );
    const session: Session = { client: this.newClient(creds), streams: [], closed: false };
    this.session = session;
    this.connectedStreams = 0;
    const entries = session.client.syncEntries({});
    const bundles = session.client.streamBundles({});
    session.streams.push(entries, bundles);
    let firstEntries = true;
    let firstBundles = true;
    entries.on('data', (message: agentApi.SyncEntriesResponse) => {
      if (firstEntries) {
        firstEntries = false;
        this.connectedStreams += 1;
        this.onConnected();
      }
      this.onEntries(message);
    });
    bundles.on('data', (message: agentApi.StreamBundlesResponse) => {
      if (firstBundles) {
        firstBundles = false;
        this.connectedStreams += 1;
        this.onConnected();
      }
      this.onBundles(message);
    });
    for (const stream of [entries, bundles]) {
      stream.on('error', (error: ServiceError) => this.onStreamEnded(session, error));
      stream.on('end', () => this.onStreamEnded(session, undefined));
    }
  }

  private onConnected(): void {
    if (this.connected) {
      this.backoffMs = 500;
      this.logger.info('connected to the signer');
    }
  }

  private onStreamEnded(session: Session, error: ServiceError | undefined): void {
    if (session.closed || session !== this.session) return;
    this.closeSession();
    this.stats.reconnects += 1;
    const code = error?.code;
    this.logger.warn(
      { code: code === undefined ? undefined : status[code], details: error?.details },
      'signer stream ended; reconnecting',
    );
    if (code === status.PERMISSION_DENIED || code === status.UNAUTHENTICATED) {
      // The signer no longer honours this SVID (banned, superseded or expired): slow down.
      this.reconnect(MAX_BACKOFF_MS);
      return;
    }
    this.reconnect(this.backoffMs);
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
  }

  private reconnect(delayMs: number): void {
    if (this.stopped) return;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    if (delayMs === 0) {
      this.connect();
      return;
    }
    const jittered = delayMs / 2 + Math.random() * (delayMs / 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, jittered);
    this.reconnectTimer.unref();
  }

  private closeSession(): void {
    const session = this.session;
    if (session === undefined) return;
    session.closed = true;
    this.session = undefined;
    this.connectedStreams = 0;
    for (const stream of session.streams) stream.cancel();
    session.client.close();
  }

  // -- entries and bundles --------------------------------------------------------------------

  private onEntries(message: agentApi.SyncEntriesResponse): void {
    const seen = new Set<string>();
    let changed = false;
    for (const entry of message.entries) {
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
      this.logger.debug(
        { revision: message.revision.toString(), entries: this.entries.size },
        'entries synced',
      );
      this.rebuild();
    }
    this.signPending();
  }

  private onBundles(message: agentApi.StreamBundlesResponse): void {
    const own = message.bundle;
    if (own !== undefined && this.state !== undefined) {
      const x509 = own.x509Authorities;
      const jwt = parseJwks(own.jwtAuthorities);
      const federated = new Map<string, TrustBundle>();
      for (const b of message.federatedBundles) {
        federated.set(b.trustDomain, {
          x509Authorities: b.x509Authorities,
          jwtAuthorities: parseJwks(b.jwtAuthorities),
        });
      }
      if (
        !sameBuffers(this.state.x509Authorities, x509) ||
        JSON.stringify(this.state.jwtAuthorities) !== JSON.stringify(jwt)
      ) {
        this.state = { ...this.state, x509Authorities: x509, jwtAuthorities: jwt };
        this.store.save(this.state);
      }
      // New CA certificates are pinned from the next connection on; the open one stays valid.
      this.publishBundle(x509, jwt, federated);
    }
    this.tainted = message.taintedX509Authorities.map((der) => new X509Certificate(der));
    if (this.tainted.length > 0) {
      let any = false;
      for (const cached of this.entries.values()) {
        if (cached.issuer !== undefined && this.isTainted(cached.issuer)) {
          cached.rotateAt = 0;
          any = true;
        }
      }
      if (any) this.signPending();
      const agentLeaf = this.state?.chain[0];
      if (agentLeaf !== undefined && this.issuedByTainted(new X509Certificate(agentLeaf))) {
        void this.renewAgent('tainted authority');
      }
    }
  }

  private isTainted(issuer: X509Certificate): boolean {
    return this.tainted.some((t) => t.fingerprint256 === issuer.fingerprint256);
  }

  private issuedByTainted(leaf: X509Certificate): boolean {
    return this.tainted.some((t) => leaf.checkIssued(t) && leaf.verify(t.publicKey));
  }

  private publishBundle(
    x509: readonly Buffer[],
    jwt: readonly Jwk[],
    federated: Map<string, TrustBundle>,
  ): void {
    this.federated = federated;
    this.current = {
      ...this.current,
      bundle: { x509Authorities: x509, jwtAuthorities: jwt },
      federatedBundles: federated,
    };
    this.emit();
  }

  /** Rotation clock: re-signs what reached its rotation time, renews the agent SVID at half-life. */
  private onTick(): void {
    const now = this.now();
    let due = false;
    for (const cached of this.entries.values()) {
      if (cached.rotateAt <= now && !cached.inflight) due = true;
    }
    if (due) this.signPending();
    const leaf = this.state?.chain[0];
    if (leaf !== undefined && this.connected) {
      const { notBefore, notAfter } = validityOf(leaf);
      const half = notBefore.getTime() + (notAfter.getTime() - notBefore.getTime()) / 2;
      if (now >= half) void this.renewAgent('half-life');
    }
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
        await this.signOnce();
      } while (this.signAgain && !this.stopped);
    })()
      .catch((error: unknown) => this.logger.warn({ err: redact(error) }, 'signing failed'))
      .finally(() => {
        this.signing = undefined;
      });
  }

  private async signOnce(): Promise<void> {
    const session = this.session;
    if (session === undefined || !this.connected) return;
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
            csr: await buildCsr(
              { publicKey: spkiOf(keys[n]!.publicKey) },
              keyObjectSigner(keys[n]!.privateKey),
            ),
          })),
        );
        const response = await unaryCall<agentApi.BatchSignX509SvidsResponse>((cb) =>
          session.client.batchSignX509Svids(
            { params },
            new Metadata(),
            { deadline: Date.now() + CALL_DEADLINE_MS * 4 },
            cb,
          ),
        );
        response.results.forEach((result, n) => {
          const cached = this.entries.get(result.entryId);
          const key = keys[n];
          if (cached === undefined || key === undefined || cached !== batch[n]) return;
          const leafDer = result.svidChain[0];
          if (result.errorCode !== '' || leafDer === undefined) {
            this.stats.signFailures += 1;
            this.logger.warn(
              { entryId: result.entryId, code: result.errorCode, message: result.errorMessage },
              'X.509-SVID not signed',
            );
            cached.rotateAt = this.now() + 30_000;
            return;
          }
          const leaf = new X509Certificate(leafDer);
          const notBefore = new Date(leaf.validFrom).getTime();
          const notAfter = new Date(leaf.validTo).getTime();
          const lifetime = notAfter - notBefore;
          cached.privateKey = key.privateKey.export({ type: 'pkcs8', format: 'der' });
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
        });
      } catch (error) {
        this.stats.signFailures += batch.length;
        this.logger.warn({ err: redact(error) }, 'BatchSignX509Svids failed; will retry');
        for (const c of batch) c.rotateAt = Math.min(c.rotateAt, this.now() + 2_000);
      } finally {
        for (const c of batch) c.inflight = false;
      }
      this.rebuild();
    }
  }

  /** Replaces the snapshot with the current entries. */
  private rebuild(): void {
    const identities: WorkloadIdentity[] = [];
    this.bySpiffeId.clear();
    for (const cached of this.entries.values()) {
      const e = cached.entry;
      if (!this.bySpiffeId.has(e.spiffeId)) this.bySpiffeId.set(e.spiffeId, e.id);
      identities.push({
        entryId: e.id,
        spiffeId: e.spiffeId,
        selectors: e.selectors,
        federatesWith: e.federatesWith,
        hint: e.hint,
        x509:
          cached.chain === undefined || cached.privateKey === undefined
            ? undefined
            : {
                chain: cached.chain,
                privateKey: cached.privateKey,
                expiresAt: new Date(cached.notAfter),
              },
        revision: cached.revision,
      });
    }
    this.current = { ...this.current, identities };
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

/** Reads the cluster's Ed25519 private key: PKCS#8 PEM, or base64 of PKCS#8 DER. */
export function readClusterKey(path: string): KeyObject {
  const text = readFileSync(path, 'utf8').trim();
  const key = text.startsWith('-----BEGIN')
    ? createPrivateKey(text)
    : createPrivateKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'pkcs8' });
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the cluster key must be Ed25519');
  return key;
}

/** Reads a PEM bundle file and checks it holds certificates. */
export function readBundlePem(path: string): string {
  const pem = readFileSync(path, 'utf8');
  if (pemCertificates(pem).length === 0) throw new Error(`${path} holds no certificates`);
  return pem;
}

function newKey(): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return new Promise((resolve, reject) =>
    generateKeyPair('ec', { namedCurve: 'P-256' }, (error, publicKey, privateKey) =>
      error ? reject(error) : resolve({ publicKey, privateKey }),
    ),
  );
}

function unaryCall<T>(
  start: (cb: (error: ServiceError | null, value?: T) => void) => unknown,
): Promise<T> {
  return new Promise((resolve, reject) => {
    start((error, value) => {
      if (error !== null) reject(error);
      else if (value === undefined) reject(new Error('empty response'));
      else resolve(value);
    });
  });
}

function parseJwks(document: Buffer): Jwk[] {
  if (document.length === 0) return [];
  try {
    const parsed = JSON.parse(document.toString('utf8')) as { keys?: unknown };
    if (!Array.isArray(parsed.keys)) return [];
    return parsed.keys.filter(
      (k): k is Jwk =>
        typeof k === 'object' && k !== null && typeof (k as { kid?: unknown }).kid === 'string',
    );
  } catch {
    return [];
  }
}

function sameBuffers(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  return a.length === b.length && a.every((x, i) => b[i] !== undefined && x.equals(b[i]));
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

/** What of an error may be logged: code and message, never request data. */
function redact(error: unknown): Record<string, unknown> {
  if (error !== null && typeof error === 'object') {
    const e = error as Partial<ServiceError>;
    return {
      code: e.code === undefined ? undefined : status[e.code],
      message: e.details ?? e.message,
    };
  }
  return { message: String(error) };
}
