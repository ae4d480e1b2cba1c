import { Injectable } from '@nestjs/common';
import type { ConfigTargetKind } from '@trustplane/events';
import type { CommandContext } from '@trustplane/eventstore';
import { ProblemError } from '@trustplane/platform';
import { CONFIG_SECTION, configSectionDecider, configSectionId, type ConfigSectionCommand } from '@trustplane/registry-domain';
import type { PoolClient } from 'pg';
import { CommandBus } from '../command-bus.js';
import { configSectionView } from '../model/views.js';
import { TenantDb } from '../tenant-db.js';
import { sectionValidators } from './section-validators.js';

/** A config section as the API shows it. */
export type ConfigSectionView = ReturnType<typeof configSectionView>;

/** The answer to a PUT: the document as stored (or as it would be, with validateOnly). */
export type ConfigSectionResult = ConfigSectionView & {
  /** False when the document equals the stored one (nothing appended). */
  readonly changed: boolean;
  /** True when nothing was stored because only validation was asked for. */
  readonly validateOnly: boolean;
};

/** What a PUT carries. */
export interface ConfigSectionInput {
  readonly schema: string;
  readonly spec: unknown;
  readonly expectedVersion?: number;
}

const TARGET_TABLES: { readonly [K in ConfigTargetKind]: { table: string; notFound: string; noun: string } } = {
  'trust-domain-deployment': { table: 'deployments', notFound: 'DEPLOYMENT_NOT_FOUND', noun: 'deployment' },
  cluster: { table: 'clusters', notFound: 'CLUSTER_NOT_FOUND', noun: 'cluster' },
};

/** Config sections of deployments and clusters: validated documents with versions. */
@Injectable()
export class ConfigSectionsService {
  private readonly decider = configSectionDecider(sectionValidators);

  constructor(
    private readonly commands: CommandBus,
    private readonly db: TenantDb,
  ) {}

  /** Validates and stores a section (or only validates it); refuses stale expected versions. */
  async set(
    tenant: string,
    target: { kind: ConfigTargetKind; id: string; section: string },
    input: ConfigSectionInput,
    validateOnly: boolean,
    context: CommandContext,
  ): Promise<ConfigSectionResult> {
    const trustDomainId = await this.db.read(tenant, (client) => this.targetTrustDomain(client, target.kind, target.id));
    const ref = { tenant, aggregateType: CONFIG_SECTION, aggregateId: configSectionId(target.id, target.section) };
    const command: ConfigSectionCommand = {
      kind: 'set',
      targetKind: target.kind,
      targetId: target.id,
      trustDomainId,
      section: target.section,
      schema: input.schema,
      spec: input.spec,
      ...(input.expectedVersion === undefined ? {} : { expectedVersion: input.expectedVersion }),
    };
    if (validateOnly) {
      const state = await this.commands.state(this.decider, ref);
      const decision = this.decider.decide(command, state, { now: context.now });
      if (!decision.ok) throw decision.error;
      const stored = state.phase === 'set' ? await this.get(tenant, target) : undefined;
      const next = decision.events[0]?.data;
      if (next === undefined && stored !== undefined) return { ...stored, changed: false, validateOnly: true };
      return {
        targetKind: target.kind,
        targetId: target.id,
        trustDomainId,
        section: target.section,
        schema: next?.schema ?? 'v1',
        spec: { ...(next?.spec ?? {}) },
        version: next?.version ?? state.version,
        createdAt: stored?.createdAt ?? null,
        updatedAt: stored?.updatedAt ?? null,
        changed: next !== undefined,
        validateOnly: true,
      };
    }
    const result = await this.commands.run(this.decider, ref, command, context);
    await this.commands.settle(result.version, { id: ref.aggregateId, location: `/api/v1/config/${target.kind}/${target.id}/${target.section}` });
    return { ...(await this.get(tenant, target)), changed: result.events.length > 0, validateOnly: false };
  }

  /** The current document of a section (404 when the target or the section is unknown to the tenant). */
  async get(tenant: string, target: { kind: ConfigTargetKind; id: string; section: string }): Promise<ConfigSectionView> {
    return this.db.read(tenant, async (client) => {
      await this.targetTrustDomain(client, target.kind, target.id);
      const rows = await client.query(`SELECT * FROM ${this.db.schema}.config_sections WHERE target_id = $1 AND section = $2`, [target.id, target.section]);
      const row = rows.rows[0];
      if (row === undefined) throw new ProblemError(404, 'CONFIG_SECTION_NOT_FOUND', `${target.id} has no ${target.section} section`);
      return configSectionView(row);
    });
  }

  /** The trust domain of a deployment or cluster the tenant can see (404 otherwise). */
  private async targetTrustDomain(client: PoolClient, kind: ConfigTargetKind, id: string): Promise<string> {
    const { table, notFound, noun } = TARGET_TABLES[kind];
    const rows = await client.query(`SELECT trust_domain_id FROM ${this.db.schema}.${table} WHERE id = $1`, [id]);
    const row = rows.rows[0];
    if (row === undefined) throw new ProblemError(404, notFound, `${noun} ${id} not found`);
    return String(row['trust_domain_id']);
  }
}
