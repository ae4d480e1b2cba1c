import { createHash, generateKeyPairSync } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { CommandBus, newIdFor, secretShownOnce, TenantDb, type WriteContext } from '@trustplane/api-kit';
import type { CommandContext } from '@trustplane/eventstore';
import type { DeploymentKeyView, NewDeploymentKeyView } from '@trustplane/auth-client';
import { ProblemError } from '@trustplane/platform';
import type { PoolClient } from 'pg';
import { DEPLOYMENT_KEY, deploymentKeyDecider, type DeploymentKeyCommand } from '../domain/deployment-key.js';

/** A deployment key as the API shows it (never its private key): libs/auth-client's DeploymentKeySchema. */
export type { DeploymentKeyView } from '@trustplane/auth-client';

/** A new key with its private half, returned once (NewDeploymentKeySchema). */
export type NewDeploymentKey = NewDeploymentKeyView;

/** The trust domain and deployment a key route names (id or name each). */
interface Target {
  /** A managed deployment's server runs inside the installation and needs no key. */
  readonly managed: boolean;
  readonly trustDomainId: string;
  readonly trustDomainName: string;
  readonly deploymentId: string;
  readonly deploymentName: string;
}

const iso = (value: unknown): string => (value instanceof Date ? value.toISOString() : String(value));

/** Deployment keys: generated here, the private half shown once; enable, disable, delete. */
@Injectable()
export class DeploymentKeysService {
  constructor(
    private readonly db: TenantDb,
    private readonly commands: CommandBus,
  ) {}

  /**
   * Generates an Ed25519 key pair, records the public half (`deploymentkey.created`) and returns
   * the private half once. A retry of a keyed request whose key exists already gets 409
   * SECRET_SHOWN_ONCE with the key: the private half was generated for the first attempt only.
   */
  async create(tenant: string, td: string, d: string, context: WriteContext): Promise<NewDeploymentKey> {
    const target = await this.db.read(tenant, (client) => this.target(client, td, d));
    if (target.managed) {
      throw new ProblemError(409, 'MANAGED_DEPLOYMENT', `deployment ${target.deploymentName} is managed: its server runs inside TrustPlane and needs no deployment key (keys are for self-hosted deployments)`);
    }
    const id = newIdFor('deploymentKey', context);
    const ref = { tenant, aggregateType: DEPLOYMENT_KEY, aggregateId: id };
    if (context.idempotencySeed !== undefined) {
      const existing = await this.commands.load(deploymentKeyDecider, ref);
      if (existing.state.phase !== 'absent') {
        await this.commands.settle(existing.version, { id });
        throw secretShownOnce(await this.get(tenant, td, d, id).catch(() => ({ id })));
      }
    }
    const pair = generateKeyPairSync('ed25519');
    const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
    const publicKeyPem = pair.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const fingerprint = createHash('sha256').update(spki).digest('hex');
    const created = await this.commands.run(
      deploymentKeyDecider,
      ref,
      { kind: 'create', deploymentId: target.deploymentId, trustDomainId: target.trustDomainId, publicKeyPem, fingerprint },
      context,
    );
    // The private half leaves only in this answer (also in the 202 answer when the read model is slow).
    const privateKeyPem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    await this.commands.settle(created.version, { id, location: `${this.keysPath(target)}/${id}`, extra: { privateKeyPem } });
    return { ...(await this.get(tenant, td, d, id)), privateKeyPem };
  }

  /** Every key of the deployment, oldest first. */
  async list(tenant: string, td: string, d: string): Promise<DeploymentKeyView[]> {
    return this.db.read(tenant, async (client) => {
      const target = await this.target(client, td, d);
      const rows = await client.query(
        `SELECT k.*, u.last_used_at FROM ${this.db.schema}.deployment_keys k LEFT JOIN ${this.db.schema}.key_usage u ON u.key_id = k.id
          WHERE k.deployment_id = $1 ORDER BY k.created_at, k.id`,
        [target.deploymentId],
      );
      return rows.rows.map((row: Record<string, unknown>) => this.view(row, target));
    });
  }

  /** One key of the deployment (404 for another deployment's or another organization's key). */
  async get(tenant: string, td: string, d: string, keyId: string): Promise<DeploymentKeyView> {
    return this.db.read(tenant, async (client) => {
      const target = await this.target(client, td, d);
      return this.view(await this.keyRow(client, target, keyId), target);
    });
  }

  /** Enables, disables or deletes a key of the deployment. */
  async change(tenant: string, td: string, d: string, keyId: string, command: Exclude<DeploymentKeyCommand, { kind: 'create' }>, context: CommandContext): Promise<DeploymentKeyView | undefined> {
    const target = await this.db.read(tenant, async (client) => {
      const found = await this.target(client, td, d);
      await this.keyRow(client, found, keyId);
      return found;
    });
    const result = await this.commands.run(deploymentKeyDecider, { tenant, aggregateType: DEPLOYMENT_KEY, aggregateId: keyId }, command, context);
    await this.commands.settle(result.version, { id: keyId, ...(command.kind === 'delete' ? {} : { location: `${this.keysPath(target)}/${keyId}` }) });
    return command.kind === 'delete' ? undefined : this.get(tenant, td, d, keyId);
  }

  private keysPath(target: Target): string {
    return `/api/v1/trust-domains/${target.trustDomainId}/deployments/${target.deploymentId}/keys`;
  }

  private async target(client: PoolClient, td: string, d: string): Promise<Target> {
    const tds = await client.query<{ id: string; name: string }>(`SELECT id, name FROM ${this.db.schema}.trust_domains WHERE id = $1 OR name = $1 LIMIT 1`, [td]);
    const trustDomain = tds.rows[0];
    if (trustDomain === undefined) throw new ProblemError(404, 'TRUST_DOMAIN_NOT_FOUND', `trust domain ${td} not found`);
    const ds = await client.query<{ id: string; name: string; managed: boolean }>(
      `SELECT id, name, managed FROM ${this.db.schema}.deployments WHERE trust_domain_id = $1 AND (id = $2 OR name = $2) LIMIT 1`,
      [trustDomain.id, d],
    );
    const deployment = ds.rows[0];
    if (deployment === undefined) throw new ProblemError(404, 'DEPLOYMENT_NOT_FOUND', `deployment ${d} not found in trust domain ${trustDomain.name}`);
    return { managed: deployment.managed, trustDomainId: trustDomain.id, trustDomainName: trustDomain.name, deploymentId: deployment.id, deploymentName: deployment.name };
  }

  private async keyRow(client: PoolClient, target: Target, keyId: string): Promise<Record<string, unknown>> {
    const rows = await client.query(
      `SELECT k.*, u.last_used_at FROM ${this.db.schema}.deployment_keys k LEFT JOIN ${this.db.schema}.key_usage u ON u.key_id = k.id
        WHERE k.id = $1 AND k.deployment_id = $2`,
      [keyId, target.deploymentId],
    );
    const row = rows.rows[0] as Record<string, unknown> | undefined;
    if (row === undefined) throw new ProblemError(404, 'DEPLOYMENT_KEY_NOT_FOUND', `deployment key ${keyId} not found in deployment ${target.deploymentName}`);
    return row;
  }

  private view(row: Record<string, unknown>, target: Target): DeploymentKeyView {
    return {
      id: String(row['id']),
      deploymentId: target.deploymentId,
      deploymentName: target.deploymentName,
      trustDomainId: target.trustDomainId,
      trustDomainName: target.trustDomainName,
      state: row['state'] === 'disabled' ? 'disabled' : 'active',
      fingerprint: String(row['fingerprint']),
      publicKeyPem: String(row['public_key_pem']),
      createdAt: iso(row['created_at']),
      updatedAt: iso(row['updated_at']),
      lastUsedAt: row['last_used_at'] === null || row['last_used_at'] === undefined ? null : iso(row['last_used_at']),
    };
  }
}
