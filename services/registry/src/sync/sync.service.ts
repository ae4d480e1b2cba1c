import { Injectable } from '@nestjs/common';
import { uuidv7 } from '@trustplane/events';
import type { CommandContext } from '@trustplane/eventstore';
import { DEPLOYMENT, deploymentDecider } from '@trustplane/registry-domain';
import { CommandBus } from '../command-bus.js';
import { TenantDb } from '../tenant-db.js';
import { validateReport } from './report.js';
import { readSyncState, syncDeploymentOf, syncPositionOf, type SyncCaller, type SyncDeployment, type SyncState } from './sync.state.js';

/** What a report changed. */
export interface ReportOutcome {
  /** The trust domain's position when the report was handled. */
  readonly currentPosition: number;
  /** Whether the deployment now runs the current configuration. */
  readonly configured: boolean;
  /** Event types appended. */
  readonly appended: readonly string[];
}

/** The control-plane side of self-hosted sync: state snapshots and reports. */
@Injectable()
export class SyncService {
  constructor(
    private readonly db: TenantDb,
    private readonly commands: CommandBus,
  ) {}

  /** The caller's deployment (refused unless it is a self-hosted deployment of the credential's trust domain). */
  async deployment(caller: SyncCaller): Promise<SyncDeployment> {
    return this.db.read(caller.tenant, (client) => syncDeploymentOf(client, this.db.schema, caller));
  }

  /**
   * The current position and, when it is past `after`, the state at that position. Position and
   * state are read by separate statements, so the position is read again: a change committed in
   * between (which always moves the position) makes the read start over.
   */
  async snapshot(caller: SyncCaller, deployment: SyncDeployment, after: number): Promise<{ position: number; state?: SyncState }> {
    for (;;) {
      const read = await this.db.read(caller.tenant, async (client) => {
        const position = await syncPositionOf(client, this.db.schema, deployment.trustDomainId);
        if (position <= after) return { position, settled: true };
        const state = await readSyncState(client, this.db.schema, caller.tenant, deployment);
        const again = await syncPositionOf(client, this.db.schema, deployment.trustDomainId);
        return again === position ? { position, state, settled: true } : { position, settled: false };
      });
      if (read.settled) return read.state === undefined ? { position: read.position } : { position: read.position, state: read.state };
    }
  }

  /** Validates a report and appends what it changed (`deployment.reported`, `deployment.configured`). */
  async report(caller: SyncCaller, body: unknown, now: Date): Promise<ReportOutcome> {
    const deployment = await this.deployment(caller);
    const report = validateReport(body, deployment.trustDomainName);
    const currentPosition = await this.db.read(caller.tenant, (client) => syncPositionOf(client, this.db.schema, deployment.trustDomainId));
    const id = uuidv7();
    const context: CommandContext = { actor: { kind: 'service', id: `signer/${deployment.id}` }, correlationId: id, causationId: id, now };
    const result = await this.commands.run(
      deploymentDecider,
      { tenant: caller.tenant, aggregateType: DEPLOYMENT, aggregateId: deployment.id },
      {
        kind: 'report',
        trustDomainId: deployment.trustDomainId,
        appliedPosition: report.appliedPosition,
        currentPosition,
        keysets: report.keysets,
        agents: report.agents,
        status: report.status,
        digest: report.digest,
      },
      context,
    );
    if (result.events.length > 0) await this.commands.settle(result.version, { id: deployment.id });
    return {
      currentPosition,
      configured: report.appliedPosition === currentPosition,
      appended: result.events.map((e) => e.type),
    };
  }
}
