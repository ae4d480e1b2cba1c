import { createHash } from 'node:crypto';
import { DomainError, uuidv7, type AggregateRef, type Decider, type DomainEvent, type EventDefinition } from '@trustplane/events';
import { EventLog, handleCommand, quoteIdent, type CommandContext } from '@trustplane/eventstore';
import type { Clock } from '@trustplane/platform';
import {
  CLUSTER,
  DEPLOYMENT,
  ENTRY,
  JOIN_TOKEN,
  JOIN_TOKEN_TTL_BOUNDS,
  TRUST_DOMAIN,
  clusterDecider,
  deploymentDecider,
  entryDecider,
  entryInputOf,
  joinTokenDecider,
  trustDomainDecider,
} from '@trustplane/registry-domain';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { SyncEntry, SyncStateMessage } from './wire.js';

/** What the mirror needs. */
export interface MirrorOptions {
  /** This installation's own event log, opened as its registry bus user. */
  readonly log: EventLog;
  /** The signer's database (its read model tells what the local log already holds). */
  readonly pool: Pool;
  readonly schema: string;
  /** The deployment this signer serves. */
  readonly deploymentId: string;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * Records the control plane's state in this installation's own event log as the registry's
 * events (trust domain, its deployments, clusters and their keys, join tokens, entries; peer
 * deployments' reported keysets), through the same deciders the registry uses. The unchanged
 * signer projection, CA service and agent API then serve from the local log as in a managed
 * installation: only the source of these events differs. Applying a state is a diff against the
 * signer's read model, so applying the same state twice appends nothing.
 */
export class SyncMirror {
  constructor(private readonly options: MirrorOptions) {}

  private table(name: string): string {
    return `${quoteIdent(this.options.schema)}.${name}`;
  }

  /** Applies one state; returns the highest stream sequence appended (0 when nothing changed). */
  async apply(state: SyncStateMessage): Promise<number> {
    if (state.deployment.id !== this.options.deploymentId) throw new Error(`the sync state is for deployment ${state.deployment.id}, not ${this.options.deploymentId}`);
    const tenant = state.trustDomain.organizationId;
    const td = state.trustDomain;
    let last = 0;
    const run = async <S, C, E extends DomainEvent & EventDefinition<string, number, unknown>>(decider: Decider<S, C, E>, ref: Omit<AggregateRef, 'tenant'>, command: C): Promise<void> => {
      try {
        const result = await handleCommand(this.options.log, decider, { tenant, ...ref }, command, this.context());
        if (result.events.length > 0) last = Math.max(last, result.version);
      } catch (error) {
        // Already there (a read model that had not caught up): the state converges on the next pass.
        if (error instanceof DomainError && error.kind === 'conflict') {
          this.options.logger.debug({ code: error.code, ref }, 'mirror: already applied');
          return;
        }
        throw error;
      }
    };
    if (!(await this.exists('trust_domains', td.id))) {
      await run(trustDomainDecider, { aggregateType: TRUST_DOMAIN, aggregateId: td.id }, { kind: 'create', name: td.name, description: '', trustDomainKind: 'self-hosted' });
    }
    if (!(await this.exists('deployments', state.deployment.id))) {
      await run(deploymentDecider, { aggregateType: DEPLOYMENT, aggregateId: state.deployment.id }, { kind: 'create', trustDomainId: td.id, name: state.deployment.name, region: state.deployment.region, managed: false });
    }
    // Clusters and their public keys.
    const localClusters = new Map((await this.rows('clusters', td.id)).map((r) => [String(r['id']), r]));
    const localKeys = new Set((await this.rows('cluster_keys', td.id)).map((r) => `${String(r['cluster_id'])}/${String(r['key_id'])}`));
    for (const cluster of state.clusters) {
      const ref = { aggregateType: CLUSTER, aggregateId: cluster.id };
      const local = localClusters.get(cluster.id);
      const [first, ...more] = cluster.keys;
      if (local === undefined) {
        await run(clusterDecider, ref, { kind: 'create', trustDomainId: td.id, name: cluster.name, platform: cluster.platform, description: '', ...(first === undefined ? {} : { key: first }) });
      }
      for (const key of local === undefined ? more : cluster.keys) {
        if (!localKeys.has(`${cluster.id}/${key.keyId}`)) await run(clusterDecider, ref, { kind: 'register-key', key });
      }
      if (cluster.status === 'disabled' && local?.['status'] !== 'disabled') await run(clusterDecider, ref, { kind: 'disable' });
    }
    const wanted = new Set(state.clusters.map((c) => c.id));
    for (const [id, local] of localClusters) {
      if (wanted.has(id)) continue;
      if (local['status'] !== 'disabled') await run(clusterDecider, { aggregateType: CLUSTER, aggregateId: id }, { kind: 'disable' });
      await run(clusterDecider, { aggregateType: CLUSTER, aggregateId: id }, { kind: 'delete' });
    }
    // Join tokens (salted hashes): spent here, by this deployment's agents.
    const localTokens = new Set((await this.rows('join_tokens', td.id)).map((r) => String(r['id'])));
    for (const token of state.joinTokens) {
      if (localTokens.has(token.id)) continue;
      const ttlSeconds = Math.floor((Date.parse(token.expiresAt) - this.options.clock.now().getTime()) / 1000);
      if (ttlSeconds < JOIN_TOKEN_TTL_BOUNDS.min || ttlSeconds > JOIN_TOKEN_TTL_BOUNDS.max) continue;
      await run(joinTokenDecider, { aggregateType: JOIN_TOKEN, aggregateId: token.id }, { kind: 'create', trustDomainId: td.id, clusterId: token.clusterId, salt: token.salt, hash: token.hash, ttlSeconds });
    }
    // Registration entries.
    const localEntries = new Map((await this.rows('entries', td.id)).map((r) => [String(r['id']), r]));
    for (const entry of state.entries) {
      const ref = { aggregateType: ENTRY, aggregateId: entry.id };
      const local = localEntries.get(entry.id);
      const input = entryInputOf({ trustDomainId: td.id, ...entry });
      if (local === undefined) await run(entryDecider, ref, { kind: 'create', trustDomainId: td.id, trustDomainName: td.name, input });
      else if (differs(entry, local)) await run(entryDecider, ref, { kind: 'update', trustDomainName: td.name, expectedRevision: Number(local['revision']), input });
    }
    const wantedEntries = new Set(state.entries.map((e) => e.id));
    for (const id of localEntries.keys()) {
      if (!wantedEntries.has(id)) await run(entryDecider, { aggregateType: ENTRY, aggregateId: id }, { kind: 'delete' });
    }
    // Peer deployments' public keysets: this deployment's bundle carries them too.
    const localDeployments = new Set((await this.rows('deployments', td.id)).map((r) => String(r['id'])));
    const peers = state.authorities.filter((a) => a.deploymentId !== state.deployment.id);
    const reported = new Map((await this.rows('reported_keysets', td.id)).map((r) => [String(r['id']), JSON.stringify(r['keysets'])]));
    for (const peer of peers) {
      const ref = { aggregateType: DEPLOYMENT, aggregateId: peer.deploymentId };
      if (!localDeployments.has(peer.deploymentId)) {
        await run(deploymentDecider, ref, { kind: 'create', trustDomainId: td.id, name: `peer-${peer.deploymentId.slice(4)}`, region: '', managed: false });
      }
      if (reported.get(peer.deploymentId) === JSON.stringify(peer.keysets)) continue;
      const digest = createHash('sha256').update(JSON.stringify(peer.keysets)).digest('hex');
      await run(deploymentDecider, ref, { kind: 'report', trustDomainId: td.id, appliedPosition: 0, currentPosition: 0, keysets: peer.keysets, agents: [], status: { state: 'serving', detail: 'mirrored from the control plane' }, digest });
    }
    for (const [id] of reported) {
      if (id === state.deployment.id || peers.some((p) => p.deploymentId === id)) continue;
      await run(deploymentDecider, { aggregateType: DEPLOYMENT, aggregateId: id }, { kind: 'report', trustDomainId: td.id, appliedPosition: 0, currentPosition: 0, keysets: [], agents: [], status: { state: 'serving', detail: 'gone from the control plane' }, digest: 'gone' });
    }
    return last;
  }

  private async exists(table: string, id: string): Promise<boolean> {
    return ((await this.options.pool.query(`SELECT 1 FROM ${this.table(table)} WHERE id = $1`, [id])).rowCount ?? 0) > 0;
  }

  private async rows(table: string, trustDomainId: string): Promise<Record<string, unknown>[]> {
    return (await this.options.pool.query(`SELECT * FROM ${this.table(table)} WHERE trust_domain_id = $1`, [trustDomainId])).rows;
  }

  private context(): CommandContext {
    const id = uuidv7();
    return { actor: { kind: 'service', id: 'signer-sync' }, correlationId: id, causationId: id, now: this.options.clock.now() };
  }
}

/** Whether the local entry row differs from the control plane's entry in what agents use. */
function differs(entry: SyncEntry, local: Record<string, unknown>): boolean {
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  return !(
    same(entry.spiffeId, local['spiffe_id']) &&
    same(entry.parentId, local['parent_id']) &&
    same(entry.selectors, local['selectors']) &&
    same(entry.x509SvidTtl, local['x509_svid_ttl']) &&
    same(entry.jwtSvidTtl, local['jwt_svid_ttl']) &&
    same(entry.dnsNames, local['dns_names']) &&
    same(entry.federatesWith, local['federates_with']) &&
    same(entry.hint, local['hint'])
  );
}
