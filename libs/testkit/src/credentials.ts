// A stand-in for services/auth in tests: signs control-plane credentials in exactly the
// contract's format (ISSUE12-DESIGN: iss = aud = trustplane-control-plane, sub = tdd-…, org,
// td, key, iat, exp, jti; EdDSA with a kid) and serves their JWKS from a local HTTP server.
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/** Who a credential is for. */
export interface CredentialSubject {
  readonly deploymentId: string;
  readonly trustDomainId: string;
  readonly organizationId: string;
  /** The deployment key (`tdk-…`) it was exchanged for. */
  readonly keyId?: string;
}

/** Claims a test may bend to build hostile credentials. */
export interface CredentialOverrides {
  readonly ttlSeconds?: number;
  readonly issuedAt?: Date;
  readonly audience?: string;
  readonly issuer?: string;
  /** Sign with a key the JWKS does not hold (under the served kid). */
  readonly forged?: boolean;
}

/** A running credential issuer. */
export interface TestCredentialIssuer {
  /** Base URL (`{url}/api/v1/auth/jwks` serves the keys), for TP_REGISTRY_AUTH_URL. */
  readonly url: string;
  sign(subject: CredentialSubject, overrides?: CredentialOverrides): Promise<string>;
  close(): Promise<void>;
}

/** The contract's issuer and audience. */
const CONTROL_PLANE = 'trustplane-control-plane';

/** Starts a JWKS server on 127.0.0.1 and returns a signer of credentials it vouches for. */
export async function startTestCredentialIssuer(): Promise<TestCredentialIssuer> {
  const kid = `test-${randomUUID().slice(0, 8)}`;
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const forger = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  const server: Server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/api/v1/auth/jwks') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [jwk] }));
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    async sign(subject, overrides = {}) {
      const iat = Math.floor((overrides.issuedAt ?? new Date()).getTime() / 1000);
      const key: CryptoKey = overrides.forged === true ? forger.privateKey : privateKey;
      return new SignJWT({ org: subject.organizationId, td: subject.trustDomainId, key: subject.keyId ?? 'tdk-test000001' })
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
        .setIssuer(overrides.issuer ?? CONTROL_PLANE)
        .setAudience(overrides.audience ?? CONTROL_PLANE)
        .setSubject(subject.deploymentId)
        .setIssuedAt(iat)
        .setExpirationTime(iat + (overrides.ttlSeconds ?? 3600))
        .setJti(randomUUID())
        .sign(key);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
