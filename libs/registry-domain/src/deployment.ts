import {
  accept,
  assertNever,
  DomainError,
  reject,
  type Decider,
  type Decision,
  type EventDraft,
  type DeploymentConfigured,
  type DeploymentCreated,
  type DeploymentDeleted,
  type DeploymentReported,
  type ReportedAgent,
  type ReportedKeyset,
  type ReportedStatus,
} from '@trustplane/events';
import { checkTextField, refuseIdLikeName } from './text.js';

/** Aggregate type of trust domain deployments. */
export const DEPLOYMENT = 'deployment';
/** Longest region label. */
export const DEPLOYMENT_REGION_MAX = 64;
const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Events of a deployment. */
export type DeploymentEvent = DeploymentCreated | DeploymentDeleted | DeploymentReported | DeploymentConfigured;

/** A report is appended again, unchanged, once the last one is this old (a heartbeat for `Configuration State`). */
export const REPORT_HEARTBEAT_MS = 5 * 60_000;

/** State of one deployment. */
export type DeploymentState =
  | { readonly phase: 'absent' | 'deleted' }
  | {
      readonly phase: 'live';
      readonly trustDomainId: string;
      readonly name: string;
      readonly managed: boolean;
      /** Digest of the last report (self-hosted), or null before the first. */
      readonly reportDigest?: string | null;
      /** When the last report was appended (epoch ms), or null. */
      readonly reportedAt?: number | null;
      /** The last sync position the deployment was configured at, or 0. */
      readonly configuredPosition?: number;
    };

/** Commands of a deployment. */
export type DeploymentCommand =
  | { readonly kind: 'create'; readonly trustDomainId: string; readonly name: string; readonly region: string; readonly managed: boolean }
  /**
   * `activeKeys`: how many of the deployment's CA keysets sign now, read by the caller from the
   * read model (keysets are the signer's `ca` aggregate, not this one's). Deleting a deployment
   * whose keys are active breaks the servers using them, so it takes `force`.
   */
  | { readonly kind: 'delete'; readonly force: boolean; readonly activeKeys: number; readonly cascadeFromTrustDomain?: boolean }
  /**
   * A self-hosted signer's report, already validated by the caller (certificates against the
   * trust domain, JWKs public). `currentPosition`: the trust domain's sync position now.
   */
  | {
      readonly kind: 'report';
      readonly trustDomainId: string;
      readonly appliedPosition: number;
      readonly currentPosition: number;
      readonly keysets: readonly ReportedKeyset[];
      readonly agents: readonly ReportedAgent[];
      readonly status: ReportedStatus;
      readonly digest: string;
    };

/** A deployment name: lowercase DNS label (1–63), not shaped like a resource id. */
export function validateDeploymentName(name: string): DomainError | undefined {
  return NAME_PATTERN.test(name)
    ? refuseIdLikeName('DEPLOYMENT_NAME_INVALID', 'name', name)
    : new DomainError('DEPLOYMENT_NAME_INVALID', 'deployment name must be a lowercase DNS label (a-z, 0-9, "-", 1–63 characters)');
}

/** The deployment aggregate. */
export const deploymentDecider: Decider<DeploymentState, DeploymentCommand, DeploymentEvent> = {
  aggregateType: DEPLOYMENT,
  initialState: () => ({ phase: 'absent' }),
  evolve(_state, event) {
    switch (event.type) {
      case 'deployment.created':
        return { phase: 'live', trustDomainId: event.data.trustDomainId, name: event.data.name, managed: event.data.managed };
      case 'deployment.deleted':
        return { phase: 'deleted' };
      case 'deployment.reported':
        return _state.phase === 'live' ? { ..._state, reportDigest: event.data.digest, reportedAt: Date.parse(event.occurredAt) } : _state;
      case 'deployment.configured':
        return _state.phase === 'live' ? { ..._state, configuredPosition: event.data.position } : _state;
      default:
        return assertNever(event, 'deployment event');
    }
  },
  decide(command, state, { now }) {
    switch (command.kind) {
      case 'create': {
        if (state.phase !== 'absent') return reject(new DomainError('DEPLOYMENT_EXISTS', 'deployment already exists', 'conflict'));
        const invalid = validateDeploymentName(command.name);
        if (invalid !== undefined) return reject(invalid);
        const region = checkTextField('DEPLOYMENT_REGION_INVALID', 'region', command.region, { maxLength: DEPLOYMENT_REGION_MAX });
        if (region instanceof DomainError) return reject(region);
        return accept({
          type: 'deployment.created',
          schemaVersion: 1,
          data: { trustDomainId: command.trustDomainId, name: command.name, region, managed: command.managed },
        });
      }
      case 'delete': {
        if (state.phase !== 'live') return reject(new DomainError('DEPLOYMENT_NOT_FOUND', 'deployment not found', 'not_found'));
        if (state.managed && !command.cascadeFromTrustDomain) {
          return reject(new DomainError('MANAGED_TRUST_DOMAIN_DEPLOYMENT', 'the deployment of a managed trust domain is deleted with the trust domain', 'conflict'));
        }
        if (command.activeKeys > 0 && !command.force) {
          return reject(
            new DomainError('DEPLOYMENT_HAS_ACTIVE_KEYS', `deployment ${state.name} has ${command.activeKeys} active keys; stop the servers using them, then delete with --force`, 'conflict'),
          );
        }
        return accept({ type: 'deployment.deleted', schemaVersion: 1, data: { trustDomainId: state.trustDomainId, force: command.force } });
      }
      case 'report':
        return decideReport(command, state, now);
      default:
        return assertNever(command, 'deployment command');
    }
  },
};

/**
 * A self-hosted deployment's report: `deployment.reported` when what it says changed (or the
 * last one is older than {@link REPORT_HEARTBEAT_MS}); `deployment.configured` when it applied
 * the trust domain's current position for the first time. Managed deployments do not report.
 */
function decideReport(command: Extract<DeploymentCommand, { kind: 'report' }>, state: DeploymentState, now: Date): Decision<DeploymentEvent> {
  if (state.phase !== 'live' || state.trustDomainId !== command.trustDomainId) {
    return reject(new DomainError('DEPLOYMENT_NOT_FOUND', 'deployment not found', 'not_found'));
  }
  if (state.managed) return reject(new DomainError('DEPLOYMENT_MANAGED', 'a managed deployment does not report through the sync API', 'conflict'));
  if (!Number.isSafeInteger(command.appliedPosition) || command.appliedPosition < 0) {
    return reject(new DomainError('SYNC_POSITION_INVALID', 'appliedPosition must be a whole number ≥ 0'));
  }
  if (command.appliedPosition > command.currentPosition) {
    return reject(new DomainError('SYNC_POSITION_AHEAD', `appliedPosition ${command.appliedPosition} is ahead of the current position ${command.currentPosition}`));
  }
  const events: EventDraft<DeploymentEvent>[] = [];
  const stale = state.reportedAt === undefined || state.reportedAt === null || now.getTime() - state.reportedAt >= REPORT_HEARTBEAT_MS;
  if (state.reportDigest !== command.digest || stale) {
    events.push({
      type: 'deployment.reported',
      schemaVersion: 1,
      data: {
        trustDomainId: command.trustDomainId,
        appliedPosition: command.appliedPosition,
        keysets: command.keysets,
        agents: command.agents,
        status: command.status,
        digest: command.digest,
      },
    });
  }
  if (command.appliedPosition === command.currentPosition && command.appliedPosition > (state.configuredPosition ?? 0)) {
    events.push({ type: 'deployment.configured', schemaVersion: 1, data: { trustDomainId: command.trustDomainId, position: command.appliedPosition } });
  }
  return accept(...events);
}
