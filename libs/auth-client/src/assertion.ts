import { createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { ASSERTION_MAX_LIFETIME_SECONDS, CONTROL_PLANE_AUDIENCE, isDeploymentId, isDeploymentKeyId } from './contract.js';
import { AuthClientError } from './errors.js';

/** What a self-hosted server signs an assertion with (the values the guide puts in Helm values). */
export interface DeploymentAssertionInput {
  /** The deployment key's private key, PKCS#8 PEM (Ed25519), as `key create` printed it. */
  readonly privateKeyPem: string;
  /** `tdk-…`: the `kid` of the assertion. */
  readonly keyId: string;
  /** `tdd-…`: `iss` and `sub`. */
  readonly deploymentId: string;
  /** `aud`; default {@link CONTROL_PLANE_AUDIENCE}. */
  readonly audience?: string;
  /** `exp − iat`; default 60, at most {@link ASSERTION_MAX_LIFETIME_SECONDS}. */
  readonly ttlSeconds?: number;
  /** `iat`; default now. */
  readonly now?: Date;
  /** `jti`; default a random UUID (each assertion is single use). */
  readonly jti?: string;
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

function ed25519Key(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new AuthClientError('ASSERTION_INPUT_INVALID', 'privateKeyPem is not a PEM private key', { cause });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AuthClientError('ASSERTION_INPUT_INVALID', `a deployment key is Ed25519, not ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  return key;
}

/**
 * Signs the short-lived assertion a self-hosted server exchanges for a control-plane credential:
 * an EdDSA compact JWS with header `{alg: "EdDSA", kid, typ: "JWT"}` and claims `iss` = `sub` =
 * the deployment id, `aud`, `iat`, `exp`, `jti`.
 */
export function signDeploymentAssertion(input: DeploymentAssertionInput): string {
  if (!isDeploymentKeyId(input.keyId)) throw new AuthClientError('ASSERTION_INPUT_INVALID', `keyId must be tdk-…, got ${String(input.keyId).slice(0, 40)}`);
  if (!isDeploymentId(input.deploymentId)) {
    throw new AuthClientError('ASSERTION_INPUT_INVALID', `deploymentId must be tdd-…, got ${String(input.deploymentId).slice(0, 40)}`);
  }
  const ttl = input.ttlSeconds ?? 60;
  if (!Number.isSafeInteger(ttl) || ttl <= 0 || ttl > ASSERTION_MAX_LIFETIME_SECONDS) {
    throw new AuthClientError('ASSERTION_INPUT_INVALID', `ttlSeconds must be 1–${ASSERTION_MAX_LIFETIME_SECONDS}`);
  }
  const key = ed25519Key(input.privateKeyPem);
  const iat = Math.floor((input.now ?? new Date()).getTime() / 1000);
  const header = b64url({ alg: 'EdDSA', kid: input.keyId, typ: 'JWT' });
  const claims = b64url({
    iss: input.deploymentId,
    sub: input.deploymentId,
    aud: input.audience ?? CONTROL_PLANE_AUDIENCE,
    iat,
    exp: iat + ttl,
    jti: input.jti ?? randomUUID(),
  });
  const signingInput = `${header}.${claims}`;
  // Ed25519 signs the message itself (no separate digest).
  const signature = sign(null, Buffer.from(signingInput, 'ascii'), key);
  return `${signingInput}.${signature.toString('base64url')}`;
}
