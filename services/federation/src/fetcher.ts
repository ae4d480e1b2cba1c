/**
 * Polls the bundle endpoints of external federation peers: at each peer's refresh hint (±10%
 * jitter), sooner when an operator asks for a refresh, with exponential backoff and jitter after
 * failures. A bundle whose content changed is recorded as one `federatedbundle.updated` event.
 * A peer that is down only affects its own relationship. Status per relationship is kept in
 * memory (last poll, last success, last error, sequence, bundle age).
 */
import type { DomainEnvelope, ExternalFederationPeer, SpiffeBundleDocument } from '@trustplane/events';
import { uuidv7 } from '@trustplane/events';
import { handleCommand, type EventLog } from '@trustplane/eventstore';
import { FEDERATED_BUNDLE, federatedBundleDecider } from '@trustplane/federation-domain';
import { fetchPeerBundle, parsePeerBundle } from './peer-fetch.js';

/** The status of one relationship. */
export interface FederationStatus {
  readonly federationId: string;
  readonly tenant: string;
  readonly trustDomainId: string;
  readonly peerTrustDomain: string;
  lastPollAt: string | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  /** `spiffe_sequence` of the last recorded bundle. */
  sequence: number | null;
  /** When the recorded bundle was fetched (its age is now minus this). */
  bundleFetchedAt: string | null;
  consecutiveFailures: number;
  nextPollAt: string | null;
}

interface Relationship {
  readonly status: FederationStatus;
  readonly peer: ExternalFederationPeer;
  /** The last bundle known for the peer (bootstrap, then recorded). */
  lastKnown: SpiffeBundleDocument | null;
  timer: NodeJS.Timeout | undefined;
  polling: boolean;
}

/** What the fetcher is configured with. */
export interface FetcherOptions {
  /** The log the fetcher appends `federatedbundle` events to (its writer connection). */
  readonly log: EventLog;
  readonly webCaPem?: string;
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
  readonly timeoutMs: number;
  readonly now?: () => Date;
  readonly random?: () => number;
  readonly onError?: (federationId: string, error: unknown) => void;
}

/** The poller of every external relationship. */
export class BundleFetcher {
  private readonly relationships = new Map<string, Relationship>();
  private started = false;
  private closed = false;
  private readonly now: () => Date;
  private readonly random: () => number;

  constructor(private readonly options: FetcherOptions) {
    this.now = options.now ?? (() => new Date());
    this.random = options.random ?? Math.random;
  }

  /** Status of every relationship. */
  statuses(): readonly FederationStatus[] {
    return [...this.relationships.values()].map((r) => ({ ...r.status }));
  }

  /** Applies a `federation.*` event (others are ignored). */
  apply(event: DomainEnvelope): void {
    switch (event.type) {
      case 'federation.created': {
        const peer = event.data.peer;
        if (peer.kind !== 'external') return;
        this.remove(event.aggregateId);
        let bootstrap: SpiffeBundleDocument | null = null;
        try {
          bootstrap = peer.bootstrapBundle === undefined ? null : parsePeerBundle(peer.bootstrapBundle);
        } catch {
          bootstrap = null;
        }
        this.relationships.set(event.aggregateId, {
          peer,
          lastKnown: bootstrap,
          timer: undefined,
          polling: false,
          status: {
            federationId: event.aggregateId,
            tenant: event.tenant,
            trustDomainId: event.data.trustDomainId,
            peerTrustDomain: peer.trustDomain,
            lastPollAt: null,
            lastSuccessAt: null,
            lastError: null,
            sequence: null,
            bundleFetchedAt: null,
            consecutiveFailures: 0,
            nextPollAt: null,
          },
        });
        if (this.started) this.schedule(event.aggregateId, this.jitter(1_000));
        return;
      }
      case 'federation.refresh_requested':
        if (this.started && this.relationships.has(event.aggregateId)) this.schedule(event.aggregateId, 0);
        return;
      case 'federation.deleted':
        this.remove(event.aggregateId);
        return;
      case 'federatedbundle.updated': {
        const relationship = this.relationships.get(event.aggregateId);
        if (relationship === undefined) return;
        relationship.lastKnown = event.data.document;
        relationship.status.sequence = event.data.sequence;
        relationship.status.bundleFetchedAt = event.data.fetchedAt;
        return;
      }
      default:
        return;
    }
  }

  /** Starts polling (once the log has been replayed, so nothing is fetched for deleted peers). */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const id of this.relationships.keys()) this.schedule(id, this.jitter(1_000));
  }

  close(): void {
    this.closed = true;
    for (const id of [...this.relationships.keys()]) this.remove(id);
  }

  private remove(id: string): void {
    const relationship = this.relationships.get(id);
    if (relationship?.timer !== undefined) clearTimeout(relationship.timer);
    this.relationships.delete(id);
  }

  /** `base` ± 10 %. */
  private jitter(base: number): number {
    return Math.max(0, Math.round(base * (0.9 + 0.2 * this.random())));
  }

  private schedule(id: string, delayMs: number): void {
    const relationship = this.relationships.get(id);
    if (relationship === undefined || this.closed) return;
    if (relationship.timer !== undefined) clearTimeout(relationship.timer);
    relationship.status.nextPollAt = new Date(this.now().getTime() + delayMs).toISOString();
    relationship.timer = setTimeout(() => void this.poll(id), delayMs);
    relationship.timer.unref?.();
  }

  /** One poll of one relationship; never throws. */
  private async poll(id: string): Promise<void> {
    const relationship = this.relationships.get(id);
    if (relationship === undefined || relationship.polling) return;
    relationship.polling = true;
    relationship.timer = undefined;
    const status = relationship.status;
    status.lastPollAt = this.now().toISOString();
    let next: number;
    try {
      const document = await fetchPeerBundle(relationship.peer, {
        lastKnown: relationship.lastKnown,
        timeoutMs: this.options.timeoutMs,
        ...(this.options.webCaPem === undefined ? {} : { webCaPem: this.options.webCaPem }),
      });
      const correlation = uuidv7();
      const result = await handleCommand(
        this.options.log,
        federatedBundleDecider,
        { tenant: status.tenant, aggregateType: FEDERATED_BUNDLE, aggregateId: id },
        { kind: 'record', trustDomainId: status.trustDomainId, peerTrustDomain: status.peerTrustDomain, document },
        { actor: { kind: 'service', id: 'federation' }, correlationId: correlation, causationId: correlation, now: this.now() },
      );
      if (!this.relationships.has(id)) return;
      relationship.lastKnown = document;
      status.lastSuccessAt = status.lastPollAt;
      status.lastError = null;
      status.consecutiveFailures = 0;
      status.sequence = document.spiffe_sequence;
      if (result.events.length > 0 || status.bundleFetchedAt === null) status.bundleFetchedAt = status.lastPollAt;
      next = Math.min(this.options.maxIntervalMs, Math.max(this.options.minIntervalMs, document.spiffe_refresh_hint * 1000));
    } catch (error) {
      status.lastError = error instanceof Error ? error.message : String(error);
      status.consecutiveFailures += 1;
      this.options.onError?.(id, error);
      next = Math.min(this.options.maxIntervalMs, this.options.minIntervalMs * 2 ** Math.min(status.consecutiveFailures - 1, 16));
    } finally {
      relationship.polling = false;
    }
    this.schedule(id, this.jitter(next));
  }
}
