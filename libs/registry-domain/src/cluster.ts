import {
  accept,
  assertNever,
  DomainError,
  reject,
  type ClusterConfigVersionAdded,
  type ClusterCreated,
  type ClusterDeleted,
  type ClusterDisabled,
  type ClusterPlatform,
  type Decider,
} from '@trustplane/events';

/** Aggregate type of clusters. */
export const CLUSTER = 'cluster';
/** Platforms a cluster can declare. */
export const CLUSTER_PLATFORMS: readonly ClusterPlatform[] = ['k8s', 'linux', 'vm', 'other'];
/** How many configuration versions are kept per cluster. */
export const CLUSTER_CONFIG_VERSIONS_KEPT = 10;
const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Events of a cluster. */
export type ClusterEvent = ClusterCreated | ClusterDisabled | ClusterDeleted | ClusterConfigVersionAdded;

/** State of one cluster. */
export type ClusterState =
  | { readonly phase: 'absent' | 'deleted' }
  | { readonly phase: 'active' | 'disabled'; readonly trustDomainId: string; readonly name: string; readonly configVersions: readonly string[] };

type LiveCluster = Extract<ClusterState, { readonly trustDomainId: string }>;
function isLive(state: ClusterState): state is LiveCluster {
  return state.phase === 'active' || state.phase === 'disabled';
}

/** Commands of a cluster. */
export type ClusterCommand =
  | { readonly kind: 'create'; readonly trustDomainId: string; readonly name: string; readonly platform: string; readonly description: string }
  | { readonly kind: 'disable' }
  | { readonly kind: 'delete' }
  | { readonly kind: 'add-config-version'; readonly versionId: string; readonly config: Readonly<Record<string, unknown>> };

/** The cluster aggregate: created active, disabled, then deleted. */
export const clusterDecider: Decider<ClusterState, ClusterCommand, ClusterEvent> = {
  aggregateType: CLUSTER,
  initialState: () => ({ phase: 'absent' }),
  evolve(state, event) {
    switch (event.type) {
      case 'cluster.created':
        return { phase: 'active', trustDomainId: event.data.trustDomainId, name: event.data.name, configVersions: [] };
      case 'cluster.disabled':
        return state.phase === 'active' ? { ...state, phase: 'disabled' } : state;
      case 'cluster.deleted':
        return { phase: 'deleted' };
      case 'cluster.config_version_added':
        return isLive(state)
          ? { ...state, configVersions: [event.data.versionId, ...state.configVersions].slice(0, CLUSTER_CONFIG_VERSIONS_KEPT) }
          : state;
      default:
        return assertNever(event, 'cluster event');
    }
  },
  decide(command, state) {
    switch (command.kind) {
      case 'create': {
        if (state.phase !== 'absent') return reject(new DomainError('CLUSTER_EXISTS', 'cluster already exists', 'conflict'));
        if (!NAME_PATTERN.test(command.name)) {
          return reject(new DomainError('CLUSTER_NAME_INVALID', 'cluster name must be a lowercase DNS label (a-z, 0-9, "-", 1–63 characters)'));
        }
        if (!(CLUSTER_PLATFORMS as readonly string[]).includes(command.platform)) {
          return reject(new DomainError('CLUSTER_PLATFORM_INVALID', `platform must be one of ${CLUSTER_PLATFORMS.join(', ')}`));
        }
        if (command.description.length > 1024) return reject(new DomainError('CLUSTER_DESCRIPTION_INVALID', 'description must be at most 1024 characters'));
        return accept({
          type: 'cluster.created',
          schemaVersion: 1,
          data: { trustDomainId: command.trustDomainId, name: command.name, platform: command.platform as ClusterPlatform, description: command.description },
        });
      }
      case 'disable':
        if (!isLive(state)) return reject(notFound());
        if (state.phase === 'disabled') return accept();
        return accept({ type: 'cluster.disabled', schemaVersion: 1, data: { trustDomainId: state.trustDomainId } });
      case 'delete':
        if (!isLive(state)) return reject(notFound());
        if (state.phase === 'active') {
          return reject(new DomainError('CLUSTER_NOT_DISABLED', `cluster ${state.name} is active; disable it before deleting it`, 'conflict'));
        }
        return accept({ type: 'cluster.deleted', schemaVersion: 1, data: { trustDomainId: state.trustDomainId } });
      case 'add-config-version':
        if (!isLive(state)) return reject(notFound());
        return accept({
          type: 'cluster.config_version_added',
          schemaVersion: 1,
          data: { trustDomainId: state.trustDomainId, versionId: command.versionId, config: command.config },
        });
      default:
        return assertNever(command, 'cluster command');
    }
  },
};

function notFound(): DomainError {
  return new DomainError('CLUSTER_NOT_FOUND', 'cluster not found', 'not_found');
}
