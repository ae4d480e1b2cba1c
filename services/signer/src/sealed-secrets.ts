import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { quoteIdent } from '@trustplane/eventstore';
import type { Clock } from '@trustplane/platform';
import type { SealedSecretPurpose } from '@trustplane/signer-api';
import type { Pool } from 'pg';
import { SignerForbiddenError } from './authority.js';

const SEAL_LABEL = 'trustplane-signer/sealed-secret/v1';
const NONCE_LENGTH = 12;
/** `sec-` and 20 lowercase hex characters. */
export const SECRET_REF = /^sec-[0-9a-f]{20}$/;

/** What a secret is bound to: it opens only for the same organization, deployment and purpose. */
export interface SecretBinding {
  readonly tenant: string;
  readonly deploymentId: string;
  readonly purpose: SealedSecretPurpose;
}

interface SealedBox {
  readonly v: 1;
  readonly alg: 'A256GCM';
  readonly nonce: string;
  readonly ciphertext: string;
  readonly tag: string;
}

function additionalData(ref: string, binding: SecretBinding): Buffer {
  return Buffer.from(`${SEAL_LABEL}\0${ref}\0${binding.tenant}\0${binding.deploymentId}\0${binding.purpose}`, 'utf8');
}

/**
 * The sealing key: HKDF-SHA256 of the key-encryption key with this purpose as info, so a sealed
 * secret and a sealed CA key never share a key. The KEK buffer is wiped once derived.
 */
export function sealingKeyFrom(kek: Buffer): Buffer {
  const key = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), SEAL_LABEL, 32));
  kek.fill(0);
  return key;
}

/**
 * Seals secrets given through the API (AES-256-GCM, a fresh nonce each, the reference and the
 * binding as additional data) into the signer's `sealed_secrets` table, and opens them for
 * the deployment they belong to. Only references leave: config sections carry `sec-…`.
 */
export class SecretSealer {
  private readonly table: string;

  constructor(
    private readonly pool: Pool,
    schema: string,
    private readonly key: Buffer,
    private readonly clock: Clock,
  ) {
    this.table = `${quoteIdent(schema)}.sealed_secrets`;
  }

  /** Seals and stores a secret; resolves to its reference. */
  async seal(binding: SecretBinding & { readonly secret: string }): Promise<string> {
    const ref = `sec-${randomBytes(10).toString('hex')}`;
    const nonce = randomBytes(NONCE_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(additionalData(ref, binding));
    const ciphertext = Buffer.concat([cipher.update(binding.secret, 'utf8'), cipher.final()]);
    const box: SealedBox = { v: 1, alg: 'A256GCM', nonce: nonce.toString('base64'), ciphertext: ciphertext.toString('base64'), tag: cipher.getAuthTag().toString('base64') };
    await this.pool.query(`INSERT INTO ${this.table} (id, tenant_id, deployment_id, purpose, sealed, created_at) VALUES ($1, $2, $3, $4, $5, $6)`, [
      ref,
      binding.tenant,
      binding.deploymentId,
      binding.purpose,
      JSON.stringify(box),
      this.clock.now(),
    ]);
    return ref;
  }

  /** Opens a sealed secret for its binding; SignerForbiddenError when it belongs elsewhere or was tampered with. */
  async open(ref: string, binding: SecretBinding): Promise<string> {
    if (!SECRET_REF.test(ref)) throw new SignerForbiddenError('SECRET_NOT_FOUND', 'not a sealed-secret reference');
    const rows = await this.pool.query<{ tenant_id: string; deployment_id: string; purpose: string; sealed: SealedBox }>(
      `SELECT tenant_id, deployment_id, purpose, sealed FROM ${this.table} WHERE id = $1`,
      [ref],
    );
    const row = rows.rows[0];
    if (row === undefined || row.tenant_id !== binding.tenant || row.deployment_id !== binding.deploymentId || row.purpose !== binding.purpose) {
      throw new SignerForbiddenError('SECRET_NOT_FOUND', `no sealed secret ${ref} for this deployment`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(row.sealed.nonce, 'base64'));
      decipher.setAAD(additionalData(ref, binding));
      decipher.setAuthTag(Buffer.from(row.sealed.tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(row.sealed.ciphertext, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new SignerForbiddenError('SECRET_SEAL_INVALID', `sealed secret ${ref} does not open (tampered, or another key-encryption key)`);
    }
  }
}
