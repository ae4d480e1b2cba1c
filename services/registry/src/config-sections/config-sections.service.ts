import { Inject, Injectable } from '@nestjs/common';
import type { ConfigTargetKind } from '@trustplane/events';
import type { CommandContext } from '@trustplane/eventstore';
import { ProblemError } from '@trustplane/platform';
import { CONFIG_SECTION, configSectionDecider, configSectionId, type ConfigSectionCommand } from '@trustplane/registry-domain';
import type { PoolClient } from 'pg';
import { CommandBus } from '../command-bus.js';
import { configSectionView } from '../model/views.js';
import { TenantDb } from '../tenant-db.js';
import type { KeyManagerPolicy } from '@trustplane/keymanager';
import type { Principal } from '../auth/principal.js';
import type { RegistryConfig } from '../config.js';
import { SignerClient } from '../keysets/signer.client.js';
import { REGISTRY_CONFIG } from '../tokens.js';
import { sectionValidatorsFor, takeWebhookToken, withTokenRef } from './section-validators.js';

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
  /** Tenant-written key-manager sections are confined by the operator's policy. */
  private readonly keyManagerPolicy: KeyManagerPolicy;

  constructor(
    private readonly commands: CommandBus,
    private readonly db: TenantDb,
    private readonly signer: SignerClient,
    @Inject(REGISTRY_CONFIG) config: RegistryConfig,
  ) {
    this.keyManagerPolicy = { kind: 'confined', pathRoots: config.keyManagerPathRoots, webhookUrlPrefixes: config.keyManagerWebhookUrls };
  }

  /** Validates and stores a section (or only validates it); refuses stale expected versions. */
  async set(
    principal: Principal,
    target: { kind: ConfigTargetKind; id: string; section: string },
    input: ConfigSectionInput,
    validateOnly: boolean,
    context: CommandContext,
  ): Promise<ConfigSectionResult> {
    const tenant = principal.tenant;
    const { trustDomainId, managed } = await this.db.read(tenant, (client) => this.target(client, target.kind, target.id));
    // A managed deployment's section is applied on the operator's host: confined. A self-hosted
    // deployment's signer is its operator's own.
    const decider = configSectionDecider(sectionValidatorsFor(managed ? this.keyManagerPolicy : { kind: 'unrestricted' }, tenant));
    const ref = { tenant, aggregateType: CONFIG_SECTION, aggregateId: configSectionId(target.id, target.section) };
    // A webhook bearer token never reaches the log: the signer seals it, the document keeps the reference.
    const { spec, token } = managed ? takeWebhookToken(target.section, input.spec) : { spec: input.spec, token: undefined };
    const command: ConfigSectionCommand = {
      kind: 'set',
      targetKind: target.kind,
      targetId: target.id,
      trustDomainId,
      section: target.section,
      schema: input.schema,
      spec,
      ...(input.expectedVersion === undefined ? {} : { expectedVersion: input.expectedVersion }),
    };
    if (validateOnly) {
      const state = await this.commands.state(decider, ref);
      const decision = decider.decide(command, state, { now: context.now });
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
    let sealed = command;
    if (token !== undefined) {
      // Validated before anything is sealed: a refused document leaves no secret behind.
      const decision = decider.decide(command, await this.commands.state(decider, ref), { now: context.now });
      if (!decision.ok) throw decision.error;
      const secretRef = await this.signer.sealSecret(principal, { deploymentId: target.id, purpose: 'webhook-bearer-token', secret: token });
      sealed = { ...command, spec: withTokenRef(spec, secretRef) };
    }
    const result = await this.commands.run(decider, ref, sealed, context);
    await this.commands.settle(result.version, { id: ref.aggregateId, location: `/api/v1/config/${target.kind}/${target.id}/${target.section}` });
    return { ...(await this.get(tenant, target)), changed: result.events.length > 0, validateOnly: false };
  }

  /** The current document of a section (404 when the target or the section is unknown to the tenant). */
  async get(tenant: string, target: { kind: ConfigTargetKind; id: string; section: string }): Promise<ConfigSectionView> {
    return this.db.read(tenant, async (client) => {
      await this.target(client, target.kind, target.id);
      const rows = await client.query(`SELECT * FROM ${this.db.schema}.config_sections WHERE target_id = $1 AND section = $2`, [target.id, target.section]);
      const row = rows.rows[0];
      if (row === undefined) throw new ProblemError(404, 'CONFIG_SECTION_NOT_FOUND', `${target.id} has no ${target.section} section`);
      return configSectionView(row);
    });
  }

  /** The trust domain of a deployment or cluster the tenant can see (404 otherwise), and whether it is a managed deployment. */
  private async target(client: PoolClient, kind: ConfigTargetKind, id: string): Promise<{ trustDomainId: string; managed: boolean }> {
    const { table, notFound, noun } = TARGET_TABLES[kind];
    const managed = kind === 'trust-domain-deployment' ? 'managed' : 'false AS managed';
    const rows = await client.query(`SELECT trust_domain_id, ${managed} FROM ${this.db.schema}.${table} WHERE id = $1`, [id]);
    const row = rows.rows[0];
    if (row === undefined) throw new ProblemError(404, notFound, `${noun} ${id} not found`);
    return { trustDomainId: String(row['trust_domain_id']), managed: row['managed'] === true };
  }
}
