import { createPublicKey, randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { CONTROL_PLANE_AUDIENCE } from '@trustplane/auth-client';
import { ecdsaDerToRaw } from '@trustplane/crypto';
import { quoteIdent } from '@trustplane/eventstore';
import { isKeyManagerError, type KeyInfo, type KeyManager } from '@trustplane/keymanager';
import { PG_POOL } from '@trustplane/platform';
import type { Pool } from 'pg';
import type { AuthConfig } from '../config.js';
import { AUTH_CONFIG, CREDENTIAL_KEY_MANAGER } from '../tokens.js';

/** The claims of a control-plane credential (see the issue 12 contract). */
export interface CredentialClaims {
  readonly deploymentId: string;
  readonly organizationId: string;
  readonly trustDomainId: string;
  readonly keyId: string;
  readonly issuedAt: Date;
  readonly ttlSeconds: number;
}

/** A public verification key as the JWKS route serves it. */
export type PublicJwk = Readonly<Record<string, string>>;

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/**
 * Signs control-plane credentials (ES256 JWTs) with a P-256 key that lives in a KeyManager: only
 * its handle is known here. Each replica registers the public half of its key in the shared
 * database, so the JWKS every replica serves holds the key of every replica.
 */
@Injectable()
export class CredentialSigner implements OnModuleInit, OnApplicationShutdown {
  private key: KeyInfo | undefined;
  private kid = '';

  constructor(
    @Inject(CREDENTIAL_KEY_MANAGER) private readonly keyManager: KeyManager,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    try {
      this.key = await this.keyManager.publicKey(this.config.signingKeyId);
    } catch (error) {
      if (!isKeyManagerError(error, 'KEY_NOT_FOUND')) throw error;
      this.key = await this.keyManager.create(this.config.signingKeyId, 'ec-p256');
    }
    // The kid names the public key itself, so replicas and restarts agree on it.
    this.kid = `cpk-${this.key.fingerprint.slice(0, 32)}`;
    const jwk = createPublicKey({ key: Buffer.from(this.key.publicKeyDer), format: 'der', type: 'spki' }).export({ format: 'jwk' });
    await this.pool.query(
      `INSERT INTO ${quoteIdent(this.config.schema)}.credential_signing_keys (kid, alg, public_jwk) VALUES ($1, 'ES256', $2) ON CONFLICT (kid) DO NOTHING`,
      [this.kid, JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid: this.kid, alg: 'ES256', use: 'sig' })],
    );
  }

  /** Signs a credential; returns the compact JWS and its expiry. */
  async sign(claims: CredentialClaims): Promise<{ token: string; expiresAt: Date }> {
    if (this.key === undefined) throw new Error('the credential signing key is not loaded');
    const iat = Math.floor(claims.issuedAt.getTime() / 1000);
    const exp = iat + claims.ttlSeconds;
    const header = b64url({ alg: 'ES256', kid: this.kid, typ: 'JWT' });
    const payload = b64url({
      iss: CONTROL_PLANE_AUDIENCE,
      aud: CONTROL_PLANE_AUDIENCE,
      sub: claims.deploymentId,
      org: claims.organizationId,
      td: claims.trustDomainId,
      key: claims.keyId,
      iat,
      exp,
      jti: randomUUID(),
    });
    const signingInput = `${header}.${payload}`;
    const der = await this.keyManager.sign(this.config.signingKeyId, { message: Buffer.from(signingInput, 'ascii'), hashAlgorithm: 'sha256' });
    // JWS carries ECDSA signatures as r ‖ s (RFC 7518 §3.4), not DER.
    return { token: `${signingInput}.${ecdsaDerToRaw(der, 32).toString('base64url')}`, expiresAt: new Date(exp * 1000) };
  }

  /** The verification keys of every replica. */
  async jwks(): Promise<{ keys: PublicJwk[] }> {
    const rows = await this.pool.query<{ public_jwk: PublicJwk }>(`SELECT public_jwk FROM ${quoteIdent(this.config.schema)}.credential_signing_keys ORDER BY created_at, kid`);
    return { keys: rows.rows.map((row) => row.public_jwk) };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.keyManager.close().catch(() => undefined);
  }
}
