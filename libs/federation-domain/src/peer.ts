/**
 * Validation of a federation peer as an operator or tenant supplies it (pure). External bundle
 * endpoints are tenant-supplied outbound URLs: they must lie under one of the operator's
 * allow-listed `https://` prefixes (security invariant 7), carry no credentials, query or
 * fragment, and `https_spiffe` peers need the endpoint's SPIFFE ID (in the peer trust domain)
 * and a bootstrap bundle holding public keys only.
 */
import { X509Certificate } from 'node:crypto';
import type { BundleEndpointProfile, ExternalFederationPeer } from '@trustplane/events';
import { parseSpiffeId, parseTrustDomain } from '@trustplane/spiffe';

/** One failing field (`field` is the request body path). */
export interface FederationFieldProblem {
  readonly field: string;
  readonly code: string;
  readonly message: string;
}

/** What the operator allows tenants to federate with. */
export interface FederationPolicy {
  /** `https://` URL prefixes bundle endpoint URLs must lie under; empty refuses every external peer. */
  readonly bundleEndpointUrlPrefixes: readonly string[];
}

/** Profiles of bundle endpoints. */
export const BUNDLE_ENDPOINT_PROFILES: readonly BundleEndpointProfile[] = ['https_web', 'https_spiffe'];

/** Longest accepted bundle endpoint URL and bootstrap bundle. */
export const MAX_BUNDLE_ENDPOINT_URL_LENGTH = 2048;
export const MAX_BOOTSTRAP_BUNDLE_BYTES = 64 * 1024;

/** JWK members only private or symmetric keys have. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Parses the operator's allow-list (comma-separated `https://` prefixes without credentials, query or fragment). */
export function parseBundleEndpointPrefixes(raw: string): readonly string[] {
  const prefixes = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const prefix of prefixes) {
    let url: URL;
    try {
      url = new URL(prefix);
    } catch {
      throw new Error(`bundle endpoint URL prefix ${prefix} is not a URL`);
    }
    if (url.protocol !== 'https:' || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
      throw new Error(`bundle endpoint URL prefix ${prefix} must be an https:// URL without credentials, query or fragment`);
    }
  }
  return Object.freeze(prefixes);
}

/** Whether `url` lies under `prefix`: same scheme and host:port, path under the prefix's path segment-wise. */
export function urlUnderPrefix(url: URL, prefix: string): boolean {
  const allowed = new URL(prefix);
  if (url.protocol !== allowed.protocol || url.host !== allowed.host) return false;
  const base = allowed.pathname.endsWith('/') ? allowed.pathname : `${allowed.pathname}/`;
  return url.pathname === allowed.pathname || url.pathname.startsWith(base);
}

/** Problems of a peer trust domain name (and that it is not our own). */
export function peerTrustDomainProblems(name: unknown, ownTrustDomain: string, field = 'trustDomain'): FederationFieldProblem[] {
  if (typeof name !== 'string') return [{ field, code: 'REQUIRED', message: 'the peer trust domain name is required' }];
  const parsed = parseTrustDomain(name);
  if (!parsed.ok) return [{ field, code: parsed.error.code, message: parsed.error.message }];
  if (name === ownTrustDomain) return [{ field, code: 'FEDERATION_WITH_SELF', message: 'a trust domain does not federate with itself' }];
  return [];
}

/** Problems of a bundle endpoint URL under the policy. */
export function bundleEndpointUrlProblems(value: unknown, policy: FederationPolicy, field = 'bundleEndpointUrl'): FederationFieldProblem[] {
  if (typeof value !== 'string' || value === '') return [{ field, code: 'REQUIRED', message: 'the bundle endpoint URL is required' }];
  if (value.length > MAX_BUNDLE_ENDPOINT_URL_LENGTH) return [{ field, code: 'TOO_LONG', message: `at most ${MAX_BUNDLE_ENDPOINT_URL_LENGTH} characters` }];
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [{ field, code: 'URL_INVALID', message: 'not a URL' }];
  }
  if (url.protocol !== 'https:') return [{ field, code: 'URL_NOT_HTTPS', message: 'bundle endpoints are fetched over https only' }];
  if (url.username !== '' || url.password !== '' || url.hash !== '') {
    return [{ field, code: 'URL_INVALID', message: 'a bundle endpoint URL carries no credentials or fragment' }];
  }
  if (url.href !== value && `${url.href}` !== `${value}/`) {
    return [{ field, code: 'URL_NOT_NORMALIZED', message: `write the URL as ${url.href}` }];
  }
  if (policy.bundleEndpointUrlPrefixes.length === 0) {
    return [{ field, code: 'URL_NOT_ALLOWED', message: 'the operator allows no external bundle endpoints (TP_REGISTRY_FEDERATION_URLS is empty)' }];
  }
  if (!policy.bundleEndpointUrlPrefixes.some((prefix) => urlUnderPrefix(url, prefix))) {
    return [{ field, code: 'URL_NOT_ALLOWED', message: `must lie under ${policy.bundleEndpointUrlPrefixes.join(' or ')}` }];
  }
  return [];
}

/**
 * Problems of a bootstrap bundle: a SPIFFE bundle (JWK Set) with at least one `x509-svid` key
 * whose single `x5c` certificate parses, and no private member anywhere. Returns the bundle
 * re-serialized with only the public members it is kept with.
 */
export function parseBootstrapBundle(value: unknown, field = 'bootstrapBundle'): { problems: FederationFieldProblem[]; normalized?: string } {
  if (typeof value !== 'string' || value === '') return { problems: [{ field, code: 'REQUIRED', message: 'an https_spiffe peer needs a bootstrap bundle (SPIFFE bundle JSON)' }] };
  if (Buffer.byteLength(value) > MAX_BOOTSTRAP_BUNDLE_BYTES) return { problems: [{ field, code: 'TOO_LONG', message: `at most ${MAX_BOOTSTRAP_BUNDLE_BYTES} bytes` }] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { problems: [{ field, code: 'BUNDLE_NOT_JSON', message: 'the bootstrap bundle is not JSON' }] };
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return { problems: [{ field, code: 'BUNDLE_INVALID', message: 'a SPIFFE bundle is a JWK Set: an object with a keys array' }] };
  const kept: Record<string, unknown>[] = [];
  for (const [i, key] of keys.entries()) {
    if (key === null || typeof key !== 'object') return { problems: [{ field: `${field}.keys[${i}]`, code: 'BUNDLE_INVALID', message: 'not a JWK' }] };
    const jwk = key as Record<string, unknown>;
    const secret = PRIVATE_MEMBERS.find((m) => m in jwk);
    if (secret !== undefined) return { problems: [{ field: `${field}.keys[${i}]`, code: 'BUNDLE_PRIVATE_KEY', message: `a bundle holds public keys only (found "${secret}")` }] };
    if (jwk['use'] !== 'x509-svid' && jwk['use'] !== 'jwt-svid') continue;
    if (jwk['use'] === 'x509-svid') {
      const x5c = jwk['x5c'];
      if (!Array.isArray(x5c) || x5c.length !== 1 || typeof x5c[0] !== 'string') {
        return { problems: [{ field: `${field}.keys[${i}].x5c`, code: 'BUNDLE_INVALID', message: 'an x509-svid key carries exactly one certificate' }] };
      }
      try {
        new X509Certificate(Buffer.from(x5c[0], 'base64'));
      } catch {
        return { problems: [{ field: `${field}.keys[${i}].x5c`, code: 'BUNDLE_INVALID', message: 'the certificate does not parse' }] };
      }
    }
    const publicOnly: Record<string, unknown> = {};
    for (const member of ['kty', 'use', 'kid', 'crv', 'x', 'y', 'n', 'e', 'x5c']) if (jwk[member] !== undefined) publicOnly[member] = jwk[member];
    kept.push(publicOnly);
  }
  if (!kept.some((k) => k['use'] === 'x509-svid')) {
    return { problems: [{ field, code: 'BUNDLE_NO_X509_AUTHORITY', message: 'the bootstrap bundle must hold an x509-svid authority to validate the endpoint with' }] };
  }
  const sequence = (parsed as { spiffe_sequence?: unknown }).spiffe_sequence;
  return { problems: [], normalized: JSON.stringify({ keys: kept, ...(typeof sequence === 'number' ? { spiffe_sequence: sequence } : {}) }) };
}

/** What a request to federate with an external peer carries (unvalidated). */
export interface ExternalPeerInput {
  readonly trustDomain?: unknown;
  readonly bundleEndpointUrl?: unknown;
  readonly profile?: unknown;
  readonly endpointSpiffeId?: unknown;
  readonly bootstrapBundle?: unknown;
}

/** Validates an external peer: the peer as it will be stored, or every problem. */
export function validateExternalPeer(
  input: ExternalPeerInput,
  ownTrustDomain: string,
  policy: FederationPolicy,
): { ok: true; peer: ExternalFederationPeer } | { ok: false; problems: FederationFieldProblem[] } {
  const problems = [...peerTrustDomainProblems(input.trustDomain, ownTrustDomain), ...bundleEndpointUrlProblems(input.bundleEndpointUrl, policy)];
  const profile = input.profile;
  if (profile !== 'https_web' && profile !== 'https_spiffe') {
    problems.push({ field: 'profile', code: 'ENUM', message: `profile must be one of ${BUNDLE_ENDPOINT_PROFILES.join(', ')}` });
  }
  let bootstrap: string | undefined;
  if (profile === 'https_spiffe') {
    const id = input.endpointSpiffeId;
    if (typeof id !== 'string') {
      problems.push({ field: 'endpointSpiffeId', code: 'REQUIRED', message: 'an https_spiffe peer needs the SPIFFE ID of its bundle endpoint' });
    } else {
      const parsed = parseSpiffeId(id);
      if (!parsed.ok) problems.push({ field: 'endpointSpiffeId', code: parsed.error.code, message: parsed.error.message });
    }
    const bundle = parseBootstrapBundle(input.bootstrapBundle);
    problems.push(...bundle.problems);
    bootstrap = bundle.normalized;
  } else if (profile === 'https_web') {
    for (const field of ['endpointSpiffeId', 'bootstrapBundle'] as const) {
      if (input[field] !== undefined) problems.push({ field, code: 'NOT_APPLICABLE', message: `${field} applies to https_spiffe only` });
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    peer: {
      kind: 'external',
      trustDomain: String(input.trustDomain),
      bundleEndpointUrl: String(input.bundleEndpointUrl),
      profile: profile as BundleEndpointProfile,
      ...(profile === 'https_spiffe' ? { endpointSpiffeId: String(input.endpointSpiffeId), bootstrapBundle: bootstrap ?? '' } : {}),
    },
  };
}
