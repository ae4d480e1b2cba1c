// `tpctl cluster create|list|info|disable|delete` and `tpctl cluster join-token create`.
import { Option, type Command } from 'commander';
import { apiPath, type ApiClient } from '../client.js';
import { ApiError, CliError } from '../errors.js';
import { durationSeconds } from '../parse.js';
import type { Invocation } from '../runtime.js';
import { trustDomainAndResource, trustDomainOf, type ScopeFlags } from '../scope.js';
import type { Cluster, ClusterConfigVersion, CreatedCluster, CreatedJoinToken, TrustDomain } from '../types.js';
import {
  clusterConfigInfo,
  clusterConfigList,
  clusterDeleted,
  clusterDisabled,
  clusterInfo,
  clusterKeyOnce,
  clusterList,
  joinTokenCreated,
} from '../views.js';
import { parse } from 'yaml';

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

/** Adds `--trust-domain` to a command. */
function withTrustDomain(command: Command): Command {
  return command.option('--trust-domain <trust-domain>', 'trust domain name or td-… id');
}

/** Adds the `cluster` group to the program. */
export function registerCluster(program: Command, invocation: Invocation): void {
  const group = program.command('cluster').description('manage the clusters of a trust domain');

  withTrustDomain(
    group
      .command('create')
      .description('create a cluster')
      .argument('<name...>', 'cluster name (or: <trust-domain> <name>)')
      .addOption(
        new Option('--platform <platform>', 'where its agents run')
          .choices(PLATFORMS)
          .makeOptionMandatory(),
      )
      .option('--description <text>', 'free-text description'),
  ).action(async (positionals: string[], flags: ClusterCreateFlags & ScopeFlags, command: Command) => {
    const rt = invocation.runtimeFor(command);
    const { trustDomain, resource: name } = trustDomainAndResource(positionals, flags, 'name');
    const client = await rt.client();
    const cluster = await client.post<CreatedCluster>(
      apiPath('trust-domains', trustDomain, 'clusters'),
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

  withTrustDomain(
    group
      .command('list')
      .description("list a trust domain's clusters")
      .argument('[trust-domain]', 'trust domain name or td-… id (or --trust-domain)'),
  ).action(async (td: string | undefined, flags: ScopeFlags, command: Command) => {
    const rt = invocation.runtimeFor(command);
    const trustDomain = trustDomainOf(td === undefined ? [] : [td], flags);
    const items = await (await rt.client()).list<Cluster>(apiPath('trust-domains', trustDomain, 'clusters'));
    rt.emit(items, () => clusterList(items));
  });

  withTrustDomain(
    group
      .command('info')
      .description('show a cluster')
      .argument('<cluster...>', 'cluster name or c-… id (or: <trust-domain> <cluster>)'),
  ).action(async (positionals: string[], flags: ScopeFlags, command: Command) => {
    const rt = invocation.runtimeFor(command);
    const { trustDomain, resource } = trustDomainAndResource(positionals, flags, 'cluster');
    const cluster = await (await rt.client()).get<Cluster>(apiPath('trust-domains', trustDomain, 'clusters', resource));
    rt.emit(cluster, () => clusterInfo(cluster));
  });

  withTrustDomain(
    group
      .command('disable')
      .description('disable a cluster and its config versions (its agents can no longer attest)')
      .argument('<cluster...>', 'cluster name or c-… id (or: <trust-domain> <cluster>)'),
  ).action(async (positionals: string[], flags: ScopeFlags, command: Command) => {
    const rt = invocation.runtimeFor(command);
    const { trustDomain, resource } = trustDomainAndResource(positionals, flags, 'cluster');
    const client = await rt.client();
    const cluster = await client.post<Cluster>(apiPath('trust-domains', trustDomain, 'clusters', resource, 'disable'));
    rt.emit(cluster, () => clusterDisabled(cluster));
  });

  withTrustDomain(
    group
      .command('delete')
      .description('delete a disabled cluster and its config versions')
      .argument('<cluster...>', 'cluster name or c-… id (or: <trust-domain> <cluster>)'),
  ).action(async (positionals: string[], flags: ScopeFlags, command: Command) => {
    const rt = invocation.runtimeFor(command);
    const { trustDomain, resource } = trustDomainAndResource(positionals, flags, 'cluster');
    const client = await rt.client();
    // Read it first: the confirmation names the config versions that go with it.
    const cluster = await client.get<Cluster>(apiPath('trust-domains', trustDomain, 'clusters', resource));
    await client.delete(apiPath('trust-domains', trustDomain, 'clusters', cluster.id));
    rt.emit({ id: cluster.id, name: cluster.name, deleted: true, configVersions: cluster.configVersions ?? [] }, () => clusterDeleted(cluster));
  });

  registerClusterConfig(group, invocation);

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

/** `cluster config …`: a cluster's config versions. */
function registerClusterConfig(group: Command, invocation: Invocation): void {
  const config = group.command('config').description("a cluster's config versions (cv-…), newest last");

  withTrustDomain(
    config
      .command('list')
      .description("list a cluster's config versions")
      .argument('<cluster...>', 'cluster name or c-… id (or: <trust-domain> <cluster>)'),
  ).action(async (positionals: string[], flags: ScopeFlags, command: Command) => {
    const rt = invocation.runtimeFor(command);
    const { trustDomain, resource } = trustDomainAndResource(positionals, flags, 'cluster');
    const items = await (await rt.client()).list<ClusterConfigVersion>(apiPath('trust-domains', trustDomain, 'clusters', resource, 'config-versions'));
    rt.emit(items, () => clusterConfigList(items));
  });

  withTrustDomain(
    config
      .command('show')
      .description('show one config version and its document')
      .argument('<version-id>', 'cv-… id')
      .requiredOption('--cluster <cluster>', 'cluster name or c-… id'),
  ).action(async (versionId: string, flags: ScopeFlags & { cluster: string }, command: Command) => {
    const rt = invocation.runtimeFor(command);
    const client = await rt.client();
    const trustDomain = flags.trustDomain ?? (await findClusterTrustDomain(client, flags.cluster));
    const shown = await client.get<ClusterConfigVersion>(apiPath('trust-domains', trustDomain, 'clusters', flags.cluster, 'config-versions', versionId));
    rt.emit(shown, () => clusterConfigInfo(shown));
  });

  withTrustDomain(
    config
      .command('create')
      .description('store a new config version from a YAML or JSON file (the 10 newest are kept)')
      .argument('<cluster...>', 'cluster name or c-… id (or: <trust-domain> <cluster>)')
      .requiredOption('--file <file>', 'YAML or JSON document (a mapping)'),
  ).action(async (positionals: string[], flags: ScopeFlags & { file: string }, command: Command) => {
    const rt = invocation.runtimeFor(command);
    const { trustDomain, resource } = trustDomainAndResource(positionals, flags, 'cluster');
    let document: unknown;
    try {
      document = parse(await rt.deps.readFile(flags.file));
    } catch (error) {
      throw new CliError('DOCUMENT_INVALID', `cannot read ${flags.file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (document === null || typeof document !== 'object' || Array.isArray(document)) {
      throw new CliError('DOCUMENT_INVALID', `${flags.file} must hold a mapping`);
    }
    const cluster = await (await rt.client()).post<Cluster>(apiPath('trust-domains', trustDomain, 'clusters', resource, 'config-versions'), { config: document });
    const latest = cluster.configVersions?.at(-1);
    rt.emit({ id: latest?.id ?? null, clusterId: cluster.id, createdAt: latest?.createdAt ?? null }, () => `Cluster config ${latest?.id ?? '(new)'} created for cluster ${cluster.name}.\n`);
  });
}
