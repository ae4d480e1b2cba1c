import { createPublicKey } from 'node:crypto';
import { validateCaCertificate } from '@trustplane/crypto';
import type { ReportedKeyset } from '@trustplane/events';
import type { CaState, Keyset } from './keyset.js';

/**
 * The CA state of a self-hosted deployment as the control plane knows it: the public keysets
 * its signer reported (`deployment.reported`), shaped like a managed deployment's so the trust
 * bundle is computed from both the same way. A reported keyset pairs its i-th X.509 authority
 * with its i-th JWT authority (TrustPlane's signers report one of each); unpaired ones and any
 * that no longer validate for the trust domain are left out. Key handles are empty: the keys
 * live in the self-hosted deployment's own KeyManager.
 */
export function reportedCaState(
  deploymentId: string,
  trustDomainId: string,
  trustDomain: string,
  reported: readonly ReportedKeyset[],
): CaState {
  const keysets: Keyset[] = [];
  for (const entry of reported) {
    const pairs = Math.min(entry.x509Authorities.length, entry.jwtAuthorities.length);
    for (let i = 0; i < pairs; i++) {
      const keyset = keysetOf(entry, i, trustDomain);
      if (keyset !== undefined) keysets.push(keyset);
    }
  }
  return { deploymentId, trustDomainId, trustDomain, keysets };
}

function keysetOf(entry: ReportedKeyset, index: number, trustDomain: string): Keyset | undefined {
  const certificate = entry.x509Authorities[index] ?? '';
  const jwt = entry.jwtAuthorities[index];
  if (jwt === undefined) return undefined;
  let authority;
  let jwtSpki: Buffer;
  try {
    authority = validateCaCertificate(Buffer.from(certificate, 'base64'), { trustDomain });
    jwtSpki = createPublicKey({ key: { ...jwt.publicKeyJwk }, format: 'jwk' }).export({ type: 'spki', format: 'der' });
  } catch {
    return undefined;
  }
  const notBefore = authority.notBefore.getTime();
  const notAfter = Math.min(authority.notAfter.getTime(), Date.parse(entry.notAfter));
  return {
    keysetId: index === 0 ? entry.keysetId : `${entry.keysetId}.${index}`,
    keyType: authority.keyType,
    status: entry.state,
    notBefore,
    notAfter,
    maxX509SvidTtlSeconds: 0,
    maxJwtSvidTtlSeconds: 0,
    x509: {
      keyHandle: '',
      certificate,
      subjectKeyId: authority.subjectKeyId.toString('hex'),
      publicKey: authority.spki.toString('base64'),
      serialNumber: authority.serialNumber,
    },
    jwt: { keyHandle: '', keyId: jwt.kid, publicKey: jwtSpki.toString('base64') },
    preparedAt: notBefore,
    activatedAt: entry.state === 'prepared' ? null : notBefore,
    deactivatedAt: null,
    taintedAt: null,
    revokedAt: null,
    droppedAt: null,
  };
}
