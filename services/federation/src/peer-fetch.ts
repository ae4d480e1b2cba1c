/**
 * Fetching a peer's SPIFFE bundle from its bundle endpoint (SPIFFE Federation §5):
 * `https_web` authenticates the server with Web PKI (the system roots, or the operator's CA file);
 * `https_spiffe` with the peer trust domain's last known bundle: the server must present an
 * X.509-SVID that chains to one of its X.509 authorities and whose one URI SAN is the configured
 * endpoint SPIFFE ID (no host name check). The answer is size- and time-bounded and is kept with
 * public members only.
 */
import { request } from 'node:https';
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import type { ExternalFederationPeer, SpiffeBundleDocument, SpiffeBundleKey } from '@trustplane/events';
import { publicJwk } from './documents.js';

/** Largest bundle accepted (a bundle with dozens of authorities is a few tens of KiB). */
export const MAX_PEER_BUNDLE_BYTES = 1024 * 1024;
/** Refresh hint assumed when a peer's document carries none (SPIFFE Federation leaves it to the consumer). */
export const DEFAULT_REFRESH_HINT_SECONDS = 300;

/** Why a fetch failed (stable codes). */
export class PeerFetchError extends Error {
  override readonly name = 'PeerFetchError';
  constructor(
    readonly code: 'FETCH_FAILED' | 'HTTP_STATUS' | 'TOO_LARGE' | 'BUNDLE_INVALID' | 'NO_TRUSTED_AUTHORITY' | 'ENDPOINT_ID_MISMATCH',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
  }
}

/** Parses and sanitizes a peer's bundle document (public members only; malformed keys refused). */
export function parsePeerBundle(text: string): SpiffeBundleDocument {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new PeerFetchError('BUNDLE_INVALID', 'the bundle is not JSON', { cause: error });
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new PeerFetchError('BUNDLE_INVALID', 'a SPIFFE bundle is a JWK Set with a keys array');
  const out: SpiffeBundleKey[] = [];
  for (const key of keys as unknown[]) {
    if (key === null || typeof key !== 'object') throw new PeerFetchError('BUNDLE_INVALID', 'a key is not a JWK');
    const jwk = key as Record<string, unknown>;
    if (jwk['use'] === 'x509-svid') {
      const x5c = jwk['x5c'];
      if (!Array.isArray(x5c) || x5c.length !== 1 || typeof x5c[0] !== 'string') throw new PeerFetchError('BUNDLE_INVALID', 'an x509-svid key carries exactly one certificate');
      try {
        new X509Certificate(Buffer.from(x5c[0], 'base64'));
      } catch (error) {
        throw new PeerFetchError('BUNDLE_INVALID', 'an x509-svid certificate does not parse', { cause: error });
      }
      const { kid: _kid, ...rest } = publicJwk(jwk);
      out.push(rest as unknown as SpiffeBundleKey);
    } else if (jwk['use'] === 'jwt-svid') {
      if (typeof jwk['kid'] !== 'string' || jwk['kid'] === '') throw new PeerFetchError('BUNDLE_INVALID', 'a jwt-svid key carries a kid');
      const { x5c: _x5c, ...rest } = publicJwk(jwk);
      out.push(rest as unknown as SpiffeBundleKey);
    }
    // Keys of other uses are not ours to interpret (SPIFFE Trust Domain and Bundle §4.2.1): skipped.
  }
  const sequence = (parsed as { spiffe_sequence?: unknown }).spiffe_sequence;
  const hint = (parsed as { spiffe_refresh_hint?: unknown }).spiffe_refresh_hint;
  return {
    keys: out,
    spiffe_sequence: typeof sequence === 'number' && Number.isSafeInteger(sequence) && sequence >= 0 ? sequence : 0,
    spiffe_refresh_hint: typeof hint === 'number' && Number.isSafeInteger(hint) && hint > 0 ? hint : DEFAULT_REFRESH_HINT_SECONDS,
  };
}

/** The X.509 authorities of a bundle as PEM (what https_spiffe trusts). */
export function x509AuthoritiesPem(document: SpiffeBundleDocument): string[] {
  return document.keys
    .filter((k) => k.use === 'x509-svid' && k.x5c?.length === 1)
    .map((k) => new X509Certificate(Buffer.from(k.x5c?.[0] ?? '', 'base64')).toString());
}

/** The URI SANs of a peer certificate. */
function uriSans(cert: PeerCertificate): string[] {
  return (cert.subjectaltname ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}

/** What a fetch needs besides the peer. */
export interface PeerFetchOptions {
  /** Extra CA certificates (PEM) for https_web: the operator's CA file; the system roots otherwise. */
  readonly webCaPem?: string;
  /** For https_spiffe: the peer's last known bundle (the bootstrap bundle before the first fetch). */
  readonly lastKnown: SpiffeBundleDocument | null;
  readonly timeoutMs: number;
}

/** Fetches and parses a peer's bundle. */
export function fetchPeerBundle(peer: ExternalFederationPeer, options: PeerFetchOptions): Promise<SpiffeBundleDocument> {
  let tls: Record<string, unknown>;
  if (peer.profile === 'https_spiffe') {
    const authorities = options.lastKnown === null ? [] : x509AuthoritiesPem(options.lastKnown);
    if (authorities.length === 0) return Promise.reject(new PeerFetchError('NO_TRUSTED_AUTHORITY', `no X.509 authority of ${peer.trustDomain} is known to authenticate its endpoint with`));
    const expected = peer.endpointSpiffeId;
    tls = {
      ca: authorities,
      // The SVID is authenticated by its SPIFFE ID, not a DNS name (SPIFFE Federation §5.2.2).
      checkServerIdentity: (_host: string, cert: PeerCertificate) => {
        const ids = uriSans(cert);
        return ids.length === 1 && ids[0] === expected ? undefined : new PeerFetchError('ENDPOINT_ID_MISMATCH', `the endpoint presented ${ids.join(', ') || 'no SPIFFE ID'}, not ${String(expected)}`);
      },
    };
  } else {
    tls = options.webCaPem === undefined ? {} : { ca: options.webCaPem };
  }
  return new Promise((resolve, reject) => {
    const req = request(peer.bundleEndpointUrl, { method: 'GET', headers: { accept: 'application/json' }, timeout: options.timeoutMs, ...tls }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new PeerFetchError('HTTP_STATUS', `the endpoint answered ${String(res.statusCode)}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_PEER_BUNDLE_BYTES) {
          req.destroy(new PeerFetchError('TOO_LARGE', `the bundle exceeds ${MAX_PEER_BUNDLE_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        try {
          resolve(parsePeerBundle(Buffer.concat(chunks).toString('utf8')));
        } catch (error) {
          reject(error);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new PeerFetchError('FETCH_FAILED', `no answer within ${options.timeoutMs} ms`)));
    req.on('error', (error) => reject(error instanceof PeerFetchError ? error : new PeerFetchError('FETCH_FAILED', error.message, { cause: error })));
    req.end();
  });
}
