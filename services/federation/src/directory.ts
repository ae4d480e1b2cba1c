/**
 * The publisher's read model, in memory: for every trust domain with a published bundle, its
 * three documents prepared for serving, plus the names that redirect to ids. Fed with
 * `bundle.updated` and `trustdomain.*` events in log order; replaying the log rebuilds it, so
 * there is nothing to store. Pure apart from compression (no I/O).
 */
import type { DomainEnvelope, SpiffeBundleDocument } from '@trustplane/events';
import { documentsOf, issuerOf } from './documents.js';
import { prepareJson, type Representation } from './representation.js';

/** The public documents of one trust domain, ready to serve. */
export interface PublishedEntry {
  readonly organizationId: string;
  readonly trustDomainId: string;
  readonly trustDomain: string;
  readonly sequence: number;
  readonly refreshHintSeconds: number;
  readonly bundle: Representation;
  readonly jwks: Representation;
  readonly discovery: Representation;
}

/** What a `<org>/<td>` pair names. */
export type Lookup =
  | { readonly kind: 'found'; readonly entry: PublishedEntry }
  | { readonly kind: 'redirect'; readonly trustDomainId: string }
  | { readonly kind: 'missing' };

const key = (organizationId: string, trustDomain: string): string => `${organizationId}/${trustDomain}`;

/** Trust domain ids (`td-` + 10 base36) are never valid trust domain names' only form; tell them apart. */
const TRUST_DOMAIN_ID = /^td-[0-9a-z]{10}$/;

/** The in-memory projection of published bundles. */
export class BundleDirectory {
  private readonly entries = new Map<string, PublishedEntry>();
  /** `<org>/<name>` → trust domain id, for live trust domains. */
  private readonly names = new Map<string, string>();
  /** `<org>/<td-id>` of deleted trust domains (a late bundle event must not resurrect them). */
  private readonly deleted = new Set<string>();

  constructor(private readonly publicBaseUrl: string) {}

  /** Number of trust domains served. */
  get size(): number {
    return this.entries.size;
  }

  /** Applies one event (others are ignored). */
  apply(event: DomainEnvelope): void {
    switch (event.type) {
      case 'trustdomain.created':
        this.names.set(key(event.tenant, event.data.name), event.aggregateId);
        this.deleted.delete(key(event.tenant, event.aggregateId));
        return;
      case 'trustdomain.deleted': {
        const id = key(event.tenant, event.aggregateId);
        this.deleted.add(id);
        this.entries.delete(id);
        const nameKey = key(event.tenant, event.data.name);
        if (this.names.get(nameKey) === event.aggregateId) this.names.delete(nameKey);
        return;
      }
      case 'bundle.updated':
        this.publish(event.tenant, event.data.trustDomainId, event.data.trustDomain, event.data.document);
        return;
      default:
        return;
    }
  }

  private publish(organizationId: string, trustDomainId: string, trustDomain: string, document: SpiffeBundleDocument): void {
    const id = key(organizationId, trustDomainId);
    if (this.deleted.has(id)) return;
    const current = this.entries.get(id);
    // Sequences only grow; an older or equal one (a replayed or reordered event) changes nothing.
    if (current !== undefined && current.sequence >= document.spiffe_sequence) return;
    const documents = documentsOf(document, issuerOf(this.publicBaseUrl, { organizationId, trustDomainId }));
    const maxAge = document.spiffe_refresh_hint;
    this.entries.set(id, {
      organizationId,
      trustDomainId,
      trustDomain,
      sequence: document.spiffe_sequence,
      refreshHintSeconds: document.spiffe_refresh_hint,
      bundle: prepareJson(documents.bundle, maxAge),
      jwks: prepareJson(documents.jwks, maxAge, 'application/jwk-set+json'),
      discovery: prepareJson(documents.discovery, maxAge),
    });
    if (!this.names.has(key(organizationId, trustDomain))) this.names.set(key(organizationId, trustDomain), trustDomainId);
  }

  /** Finds a trust domain by id, or by name (then the caller redirects to the id). */
  lookup(organizationId: string, trustDomain: string): Lookup {
    if (TRUST_DOMAIN_ID.test(trustDomain)) {
      const entry = this.entries.get(key(organizationId, trustDomain));
      return entry === undefined ? { kind: 'missing' } : { kind: 'found', entry };
    }
    const id = this.names.get(key(organizationId, trustDomain));
    return id !== undefined && this.entries.has(key(organizationId, id)) ? { kind: 'redirect', trustDomainId: id } : { kind: 'missing' };
  }
}
