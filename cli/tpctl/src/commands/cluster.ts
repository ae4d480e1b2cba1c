// `tpctl cluster create|list|info|disable|delete` and `tpctl cluster join-token create`.
import { Option, type Command } from 'commander';
import { apiPath, type ApiClient } from '../client.js';
import { ApiError, CliError } from '../errors.js';
import { durationSeconds } from '../parse.js';
import type { Invocation } from '../runtime.js';
import type { Cluster, CreatedCluster, CreatedJoinToken, TrustDomain } from '../types.js';
import { clusterInfo, clusterKeyOnce, clusterList, joinTokenCreated } from '../views.js';

/** Flags of `cluster join-token create`. */
export interface JoinTokenCreateFlags {
  /** `--cluster` (c-… id or name) */
  cluster: string;
  /** `--trust-domain` (name or td-… id); looked up when absent. */
  trustDomain?: string;
  /** `--ttl`, in seconds. */
  ttl?: number;
}

/** The body of `POST …/clusters/{id}/join-tokens`. */
export function joinTokenCreateBody(flags: JoinTokenCreateFlags): { ttlSeconds?: number } {
  return flags.ttl === undefined ? {} : { ttlSeconds: flags.ttl };
}

/**
 * The trust domain holding `cluster` (an id or a name), looked up across the organization's
 * trust domains. A name held in several trust domains is ambiguous and refused.
 */
export async function findClusterTrustDomain(client: ApiClient, cluster: string): Promise<string> {
  const found: string[] = [];
  for (const td of await client.list<TrustDomain>(apiPath('trust-domains'))) {
    try {
      await client.get<Cluster>(apiPath('trust-domains', td.id, 'clusters', cluster));
      found.push(td.id);
      // An id is unique: no need to look further.
      if (cluster.startsWith('c-')) break;
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
  }
  if (found.length === 0) throw new ApiError(404, 'CLUSTER_NOT_FOUND', `cluster ${cluster} not found in any trust domain`);
  if (found.length > 1) {
    throw new CliError('INVALID_ARGUMENT', `cluster name ${cluster} exists in several trust domains (${found.join(', ')}); pass --trust-domain or the c-… id`);
  }
  return found[0] as string;
}

/** The platforms a cluster can run on. */
export const PLATFORMS = ['k8s', 'linux', 'vm', 'other'] as const;

/** Flags of `cluster create`. */
export interface ClusterCreateFlags {
  /** `--platform` */
  platform: (typeof PLATFORMS)[number];
  /** `--description` */
  description?: string;
}

/** The body of `POST /trust-domains/{td}/clusters`. */
export function clusterCreateBody(
  name: string,
  flags: ClusterCreateFlags,
): { name: string; platform: string; description?: string } {
  const body: { name: string; platform: string; description?: string } = {
    name,
    platform: flags.platform,
  };
  if (flags.description !== undefined) body.description = flags.description;
  return body;
}

/** Adds the `cluster` group to the program. */
export function registerCluster(program: Command, invocation: Invocation): void {
  const group = program.command('cluster').description('manage the clusters of a trust domain');

  group
    .command('create')
    .description('create a cluster')
    .argument('<trust-domain>', 'trust domain name or td-… id')
    .argument('<name>', 'cluster name')
    .addOption(
      new Option('--platform <platform>', 'where its agents run')
        .choices(PLATFORMS)
        .makeOptionMandatory(),
    )
    .option('--description <text>', 'free-text description')
    .action(async (td: string, name: string, flags: ClusterCreateFlags, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const client = await rt.client();
      const cluster = await client.post<CreatedCluster>(
        apiPath('trust-domains', td, 'clusters'),
        clusterCreateBody(name, flags),
      );
      // The private key is in the JSON output too: it is the only time it can be had.
      rt.emit(
        cluster,
        () =>
          `Cluster ${cluster.name} (${cluster.id}) created.\n\n${clusterInfo(cluster)}` +
          (cluster.clusterKey === undefined ? '' : clusterKeyOnce(cluster.clusterKey)),
      );
    });

  group
    .command('list')
    .description("list a trust domain's clusters")
    .argument('<trust-domain>', 'trust domain name or td-… id')
    .action(async (td: string, _flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const items = await (
        await rt.client()
      ).list<Cluster>(apiPath('trust-domains', td, 'clusters'));
      rt.emit(items, () => clusterList(items));
    });

  group
    .command('info')
    .description('show a cluster')
    .argument('<trust-domain>', 'trust domain name or td-… id')
    .argument('<name-or-id>', 'cluster name or c-… id')
    .action(async (td: string, nameOrId: string, _flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const cluster = await (
        await rt.client()
      ).get<Cluster>(apiPath('trust-domains', td, 'clusters', nameOrId));
      rt.emit(cluster, () => clusterInfo(cluster));
    });

  group
    .command('disable')
    .description('disable a cluster (its agents can no longer attest)')
    .argument('<trust-domain>', 'trust domain name or td-… id')
    .argument('<cluster-id>', 'c-… id')
    .action(async (td: string, id: string, _flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const cluster = await (
        await rt.client()
      ).post<Cluster | undefined>(apiPath('trust-domains', td, 'clusters', id, 'disable'));
      rt.emit(cluster ?? null, () =>
        cluster === undefined
          ? `Cluster ${id} disabled.\n`
          : `Cluster ${cluster.name} (${cluster.id}) disabled.\n`,
      );
    });

  group
    .command('delete')
    .description('delete a disabled cluster')
    .argument('<trust-domain>', 'trust domain name or td-… id')
    .argument('<cluster-id>', 'c-… id')
    .action(async (td: string, id: string, _flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      await (await rt.client()).delete(apiPath('trust-domains', td, 'clusters', id));
      rt.say(`Cluster ${id} deleted.\n`);
    });

  const joinToken = group.command('join-token').description("manage a cluster's single-use join tokens");
  joinToken
    .command('create')
    .description('issue a single-use join token for a node agent (shown once)')
    .requiredOption('--cluster <cluster>', 'cluster c-… id or name')
    .option('--trust-domain <trust-domain>', 'trust domain name or td-… id (looked up when omitted)')
    .option('--ttl <duration>', 'lifetime: seconds or 90s/10m/1h/1d (60s–24h, default 1h)', durationSeconds)
    .action(async (flags: JoinTokenCreateFlags, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const client = await rt.client();
      const td = flags.trustDomain ?? (await findClusterTrustDomain(client, flags.cluster));
      const created = await client.post<CreatedJoinToken>(
        apiPath('trust-domains', td, 'clusters', flags.cluster, 'join-tokens'),
        joinTokenCreateBody(flags),
      );
      rt.emit(created, () => joinTokenCreated(created));
    });
}
