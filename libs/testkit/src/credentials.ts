// A stand-in for services/auth in tests: signs control-plane credentials in exactly the
// contract's format (ISSUE12-DESIGN: iss = aud = trustplane-control-plane, sub = tdd-…, org,
// td, key, iat, exp, jti; EdDSA with a kid) and serves their JWKS from a local HTTP server.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';

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
  /** Accepts assertions signed by this deployment key at `POST /api/v1/auth/deployment-credentials`. */
  registerDeploymentKey(key: DeploymentKeyRegistration): void;
  /** Refuses further exchanges with this key (issued credentials stay valid). */
  disableDeploymentKey(keyId: string): void;
  /** Accepts exchanges with this key again. */
  enableDeploymentKey(keyId: string): void;
  close(): Promise<void>;
}

/** A deployment key the stand-in exchange accepts. */
export interface DeploymentKeyRegistration extends CredentialSubject {
  readonly keyId: string;
  readonly publicKey: KeyObject;
}

/** How the stand-in behaves. */
export interface TestCredentialIssuerOptions {
  /** Everything but the auth routes is forwarded here (as the registry's proxy makes one URL of both). */
  readonly upstream?: string;
  /** Lifetime of exchanged credentials (default one hour). */
  readonly credentialTtlSeconds?: number;
}

/** The contract's issuer and audience. */
const CONTROL_PLANE = 'trustplane-control-plane';

/** Starts a JWKS server on 127.0.0.1 and returns a signer of credentials it vouches for. */
export async function startTestCredentialIssuer(options: TestCredentialIssuerOptions = {}): Promise<TestCredentialIssuer> {
  const kid = `test-${randomUUID().slice(0, 8)}`;
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const forger = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  const keys = new Map<string, DeploymentKeyRegistration & { disabled: boolean }>();
  const usedJtis = new Set<string>();
  const sign = async (subject: CredentialSubject, overrides: CredentialOverrides = {}): Promise<string> => {
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
  };
  const refuse = (response: ServerResponse, status: number, code: string): void => {
    response.writeHead(status, { 'content-type': 'application/problem+json' });
    response.end(JSON.stringify({ status, code, title: code }));
  };
  /** The contract's exchange: an EdDSA assertion of a registered, enabled key → a credential. */
  const exchange = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    let body = '';
    for await (const chunk of request) body += String(chunk);
    let assertion: unknown;
    try {
      assertion = (JSON.parse(body) as { assertion?: unknown }).assertion;
    } catch {
      return refuse(response, 400, 'BAD_REQUEST');
    }
    if (typeof assertion !== 'string') return refuse(response, 400, 'BAD_REQUEST');
    const header = (() => {
      try {
        return decodeProtectedHeader(assertion);
      } catch {
        return undefined;
      }
    })();
    const registered = header?.kid === undefined ? undefined : keys.get(header.kid);
    if (registered === undefined || registered.disabled) return refuse(response, 401, 'DEPLOYMENT_KEY_REFUSED');
    try {
      const { payload } = await jwtVerify(assertion, registered.publicKey, { algorithms: ['EdDSA'], audience: CONTROL_PLANE, issuer: registered.deploymentId, subject: registered.deploymentId, maxTokenAge: 300, clockTolerance: 30 });
      if (typeof payload.jti !== 'string' || usedJtis.has(payload.jti) || (payload.exp ?? 0) - (payload.iat ?? 0) > 300) return refuse(response, 401, 'ASSERTION_REFUSED');
      usedJtis.add(payload.jti);
    } catch {
      return refuse(response, 401, 'ASSERTION_REFUSED');
    }
    const ttlSeconds = options.credentialTtlSeconds ?? 3600;
    const credential = await sign(registered, { ttlSeconds });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        credential,
        expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString(),
        deploymentId: registered.deploymentId,
        trustDomainId: registered.trustDomainId,
        organizationId: registered.organizationId,
      }),
    );
  };
  const forward = (request: IncomingMessage, response: ServerResponse, upstream: string): void => {
    const target = new URL(request.url ?? '/', upstream);
    const proxied = httpRequest(target, { method: request.method, headers: { ...request.headers, host: target.host } }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    proxied.on('error', () => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
    });
    response.on('close', () => proxied.destroy());
    request.pipe(proxied);
  };
  const server: Server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/api/v1/auth/jwks') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [jwk] }));
      return;
    }
    if (request.method === 'POST' && request.url === '/api/v1/auth/deployment-credentials') {
      exchange(request, response).catch(() => refuse(response, 500, 'INTERNAL'));
      return;
    }
    if (options.upstream !== undefined) return forward(request, response, options.upstream);
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    sign,
    registerDeploymentKey(key) {
      keys.set(key.keyId, { ...key, disabled: false });
    },
    disableDeploymentKey(keyId) {
      const key = keys.get(keyId);
      if (key !== undefined) key.disabled = true;
    },
    enableDeploymentKey(keyId) {
      const key = keys.get(keyId);
      if (key !== undefined) key.disabled = false;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
