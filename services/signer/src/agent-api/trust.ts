/**
 * The trust material of a trust domain as the agent API serves it: the bundle's X.509 and JWT
 * authorities, tainted X.509 authorities, and the TLS serving identity chosen by SNI.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import { AGENT_SNI_SUFFIX } from '@trustplane/proto';
import { certificatesPem } from '@trustplane/spiffe';
import type { Logger } from 'pino';
import type { CaService, ServedDeployment } from '../ca-service.js';
import type { TrustDomainRow } from './model.js';

/** The trust domain id named by an SNI value, or undefined. */
export function trustDomainIdOfSni(
  servername: string | false | undefined | null,
): string | undefined {
  if (typeof servername !== 'string' || !servername.endsWith(AGENT_SNI_SUFFIX)) return undefined;
  const id = servername.slice(0, -AGENT_SNI_SUFFIX.length);
  return /^td-[0-9a-z]{10}$/.test(id) ? id : undefined;
}

/** The SPIFFE ID of the signer's serving certificate for a trust domain. */
export function serverSpiffeId(trustDomain: string): string {
  return `spiffe://${trustDomain}/trustplane/server`;
}

/**
 * A trust domain this signer serves, and its deployment, in one query (the served deployment
 * row carries its trust domain's tenant and name); undefined when it is not served here.
 */
export async function servedTrustDomain(
  ca: CaService,
  trustDomainId: string,
): Promise<{ row: TrustDomainRow; deployment: ServedDeployment } | undefined> {
  const [deployment] = await ca.servedDeployments({ trustDomainId });
  if (deployment === undefined) return undefined;
  return {
    row: { id: deployment.trustDomainId, tenant: deployment.tenant, name: deployment.trustDomain },
    deployment,
  };
}

/** A trust domain's current trust material. */
export interface TrustMaterial {
  /** X.509 authorities (CA certificates, DER), bundle order. */
  readonly x509Authorities: readonly Buffer[];
  /** JWKS JSON of the JWT authorities. */
  readonly jwks: Buffer;
  /** The bundle's spiffe_sequence. */
  readonly sequence: number;
}

/** Reads trust material from the CA service (the event log, never stale). */
export async function trustMaterial(
  ca: CaService,
  td: TrustDomainRow,
): Promise<TrustMaterial | undefined> {
  const bundle = await ca.bundle(td.tenant, td.id);
  if (bundle === undefined) return undefined;
  const keys = (bundle.document['keys'] ?? []) as { use?: string; x5c?: string[] }[];
  const x509Authorities = keys
    .filter((k) => k.use === 'x509-svid' && k.x5c?.[0] !== undefined)
    .map((k) => Buffer.from(k.x5c?.[0] ?? '', 'base64'));
  const jwks = Buffer.from(
    JSON.stringify({ keys: keys.filter((k) => k.use === 'jwt-svid') }),
    'utf8',
  );
  return { x509Authorities, jwks, sequence: bundle.sequence };
}

/**
 * The tainted X.509 authorities (DER) of a trust domain's deployments: what agents renew away
 * from. Read only for bundle messages, the one place that carries them.
 */
export async function taintedAuthorities(ca: CaService, td: TrustDomainRow): Promise<Buffer[]> {
  const tainted: Buffer[] = [];
  for (const deployment of await ca.servedDeployments({ trustDomainId: td.id })) {
    for (const keyset of await ca.keysets(deployment)) {
      if (keyset.status === 'tainted') tainted.push(Buffer.from(keyset.x509.certificate, 'base64'));
    }
  }
  return tainted;
}

interface CachedContext {
  readonly context: SecureContext;
  readonly refreshAt: number;
}

/**
 * TLS contexts per trust domain, selected by SNI: a serving X.509-SVID
 * `spiffe://<td>/trustplane/server` minted by the trust domain's active CA (key generated
 * here, held in memory only), and the trust domain's X.509 authorities to verify agents'
 * client certificates with. Rebuilt at half of the certificate's lifetime or when the bundle
 * changes.
 */
export class ServingContexts {
  private readonly cache = new Map<string, CachedContext>();
  private readonly pending = new Map<string, Promise<SecureContext>>();

  constructor(
    private readonly ca: CaService,
    private readonly now: () => Date,
    private readonly logger: Logger,
  ) {}

  /**
   * Marks every context for rebuilding (after a bundle or keyset change); the old one is still
   * served until a new one can be built.
   */
  invalidate(): void {
    for (const [id, cached] of this.cache) this.cache.set(id, { ...cached, refreshAt: 0 });
  }

  /** The context for an SNI value; rejects for unknown trust domains. */
  async forServername(servername: string): Promise<SecureContext> {
    const id = trustDomainIdOfSni(servername);
    if (id === undefined) throw new Error('unknown server name');
    const cached = this.cache.get(id);
    if (cached !== undefined && cached.refreshAt > this.now().getTime()) return cached.context;
    let pending = this.pending.get(id);
    if (pending === undefined) {
      pending = this.build(id).finally(() => this.pending.delete(id));
      this.pending.set(id, pending);
    }
    try {
      return await pending;
    } catch (error) {
      // Keep serving the previous context while it is still valid.
      if (cached !== undefined) return cached.context;
      throw error;
    }
  }

  private async build(trustDomainId: string): Promise<SecureContext> {
    const served = await servedTrustDomain(this.ca, trustDomainId);
    if (served === undefined) throw new Error('trust domain not served here');
    const { row: td, deployment } = served;
    const material = await trustMaterial(this.ca, td);
    if (material === undefined) throw new Error('no bundle yet');
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const { svid } = await this.ca.mintX509(deployment, {
      spiffeId: serverSpiffeId(td.name),
      publicKey: publicKey.export({ type: 'spki', format: 'der' }),
    });
    // Never serve a certificate agents cannot verify yet: its CA must already be in the bundle
    // (a forced rotation activates the new CA before the new bundle is published).
    const issuer = svid.chain[1];
    if (issuer !== undefined && !material.x509Authorities.some((ca) => ca.equals(issuer))) {
      throw new Error('the active CA is not published in the bundle yet');
    }
    const context = createSecureContext({
      key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      cert: certificatesPem(svid.chain),
      ca: certificatesPem(material.x509Authorities),
      minVersion: 'TLSv1.2',
    });
    const now = this.now().getTime();
    const lifetime = svid.notAfter.getTime() - now;
    this.cache.set(trustDomainId, {
      context,
      refreshAt: now + Math.max(1_000, lifetime / 2),
    });
    this.logger.info(
      { trustDomainId, serial: svid.serialNumber, notAfter: svid.notAfter },
      'agent API serving certificate minted',
    );
    return context;
  }
}

/** Facts of a verified client certificate. */
export interface PeerCertificate {
  readonly spiffeId: string;
  readonly serialNumber: string;
  readonly notAfter: Date;
}

/** The SPIFFE ID, serial and expiry of a DER certificate (exactly one URI SAN), or undefined. */
export function peerCertificateOf(der: Buffer): PeerCertificate | undefined {
  const cert = new X509Certificate(der);
  const uris = (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
  if (uris.length !== 1 || uris[0] === undefined) return undefined;
  return {
    spiffeId: uris[0],
    serialNumber: normalizeSerial(cert.serialNumber),
    notAfter: new Date(cert.validTo),
  };
}

/** Lowercase hex without leading zeros. */
export function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+(?=.)/, '');
}
