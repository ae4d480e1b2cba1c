// `tpctl cluster create|list|info|disable|delete`.
import { Option, type Command } from 'commander';
import { apiPath } from '../client.js';
import type { Invocation } from '../runtime.js';
import type { Cluster } from '../types.js';
import { clusterInfo, clusterList } from '../views.js';

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
      const cluster = await client.post<Cluster>(
        apiPath('trust-domains', td, 'clusters'),
        clusterCreateBody(name, flags),
      );
      rt.emit(
        cluster,
        () => `Cluster ${cluster.name} (${cluster.id}) created.\n\n${clusterInfo(cluster)}`,
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
}
