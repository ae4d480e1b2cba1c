import {
  accept,
  assertNever,
  DomainError,
  reject,
  type Decider,
  type DeploymentCreated,
  type DeploymentDeleted,
} from '@trustplane/events';
import { checkTextField, refuseIdLikeName } from './text.js';

/** Aggregate type of trust domain deployments. */
export const DEPLOYMENT = 'deployment';
/** Longest region label. */
export const DEPLOYMENT_REGION_MAX = 64;
const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Events of a deployment. */
export type DeploymentEvent = DeploymentCreated | DeploymentDeleted;

/** State of one deployment. */
export type DeploymentState =
  | { readonly phase: 'absent' | 'deleted' }
  | { readonly phase: 'live'; readonly trustDomainId: string; readonly name: string; readonly managed: boolean };

/** Commands of a deployment. */
export type DeploymentCommand =
  | { readonly kind: 'create'; readonly trustDomainId: string; readonly name: string; readonly region: string; readonly managed: boolean }
  /**
   * `activeKeys`: how many of the deployment's CA keysets sign now, read by the caller from the
   * read model (keysets are the signer's `ca` aggregate, not this one's). Deleting a deployment
   * whose keys are active breaks the servers using them, so it takes `force`.
   */
  | { readonly kind: 'delete'; readonly force: boolean; readonly activeKeys: number; readonly cascadeFromTrustDomain?: boolean };

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
      default:
        return assertNever(event, 'deployment event');
    }
  },
  decide(command, state) {
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
      default:
        return assertNever(command, 'deployment command');
    }
  },
};
