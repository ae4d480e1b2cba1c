// Compile-only guard: branded values come only from this package's parsers, and IDs of different
// resource kinds never mix. The build fails if a brand stops protecting.
import type {
  ClusterId,
  EntryId,
  TrustDomain,
  TrustDomainErrorCode,
  TrustDomainId,
} from './index.js';
import { newResourceId } from './index.js';

// @ts-expect-error — a plain string is not a validated trust domain name.
export const unvalidated: TrustDomain = 'example.org';

// @ts-expect-error — a plain string is not a resource ID.
export const rawId: EntryId = 'e-0123456789';

// @ts-expect-error — a trust domain ID is not a cluster ID.
export const mixed: ClusterId = newResourceId('trustDomain');

export const right: TrustDomainId = newResourceId('trustDomain');

// Error codes are a closed union.
// @ts-expect-error — not a trust domain error code.
export const unknownCode: TrustDomainErrorCode = 'TRUST_DOMAIN_BAD';
