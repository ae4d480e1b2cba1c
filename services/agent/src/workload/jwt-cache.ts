/**
 * JWT-SVIDs cached per (SPIFFE ID, audience set): a token is reused until half of its lifetime
 * has passed, so workloads polling FetchJWTSVID do not each cost a round trip to the signer,
 * and a handed-out token always has at least half its lifetime left.
 */
import type { MintedJwtSvid } from '../identity-source.js';

/** Time as an input. */
export interface Clock {
  now(): Date;
}

/** A cached token and when it was obtained. */
export interface CachedJwtSvid extends MintedJwtSvid {
  /** When the token was obtained from the minter. */
  readonly obtainedAt: Date;
}

/**
 * The cache policy: a token is served from the cache while `now` is before the midpoint of
 * [obtainedAt, expiresAt]. A token already past its midpoint (or expired) is minted again.
 */
export function isFresh(entry: CachedJwtSvid, now: Date): boolean {
  const start = entry.obtainedAt.getTime();
  const end = entry.expiresAt.getTime();
  if (!(end > start)) return false;
  return now.getTime() < start + (end - start) / 2;
}

/** The cache key: SPIFFE ID and the sorted, deduplicated audience set. */
export function jwtCacheKey(spiffeId: string, audience: readonly string[]): string {
  return cacheKeyOf(spiffeId, normalizeAudience(audience));
}

function cacheKeyOf(spiffeId: string, normalizedAudience: readonly string[]): string {
  return JSON.stringify([spiffeId, normalizedAudience]);
}

/** Sorted, deduplicated audiences: the form minted and cached. */
export function normalizeAudience(audience: readonly string[]): string[] {
  return [...new Set(audience)].sort();
}

/** Mints a token (the identity source). */
export type JwtMint = (spiffeId: string, audience: readonly string[]) => Promise<MintedJwtSvid>;

/** Bounded cache of JWT-SVIDs with in-flight deduplication. */
export class JwtSvidCache {
  private readonly entries = new Map<string, CachedJwtSvid>();
  private readonly inflight = new Map<string, Promise<CachedJwtSvid>>();

  constructor(
    private readonly mint: JwtMint,
    private readonly clock: Clock,
    private readonly maxEntries = 10_000,
  ) {}

  /** Number of cached tokens (for metrics and tests). */
  get size(): number {
    return this.entries.size;
  }

  /** A token for (spiffeId, audience): from the cache while fresh, else freshly minted. */
  async get(spiffeId: string, audience: readonly string[]): Promise<MintedJwtSvid> {
    const normalized = normalizeAudience(audience);
    const key = cacheKeyOf(spiffeId, normalized);
    const cached = this.entries.get(key);
    if (cached !== undefined && isFresh(cached, this.clock.now())) return cached;
    let pending = this.inflight.get(key);
    if (pending === undefined) {
      pending = this.obtain(key, spiffeId, normalized).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** Drops every cached token (e.g. when the JWT authorities were tainted). */
  clear(): void {
    this.entries.clear();
  }

  private async obtain(key: string, spiffeId: string, audience: string[]): Promise<CachedJwtSvid> {
    const obtainedAt = this.clock.now();
    const minted = await this.mint(spiffeId, audience);
    const entry: CachedJwtSvid = { token: minted.token, expiresAt: minted.expiresAt, obtainedAt };
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.evict();
    return entry;
  }

  private evict(): void {
    if (this.entries.size <= this.maxEntries) return;
    const now = this.clock.now();
    for (const [key, entry] of this.entries) {
      if (!isFresh(entry, now)) this.entries.delete(key);
    }
    // Still full: drop the oldest insertions (Map iterates in insertion order).
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(key);
    }
  }
}
