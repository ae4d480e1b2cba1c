// `tpctl trust-domain create|list|info|delete` and `tpctl trust-domain deployment create|list|delete`.
import type { Command } from 'commander';
import { bundleX509AuthoritiesPem, type SpiffeBundleDocument } from '@trustplane/spiffe';
import { apiPath } from '../client.js';
import type { Invocation } from '../runtime.js';
import type { Deployment, Keyset, KeysetCommandResult, TrustDomain } from '../types.js';
import {
  deploymentInfo,
  deploymentList,
  keysetList,
  trustDomainInfo,
  trustDomainList,
} from '../views.js';

/** The keyset actions after `prepare`, with the past tense tpctl reports. */
export const KEYSET_ACTIONS = [
  ['activate', 'activated', 'activate a prepared keyset: it signs from now on'],
  ['taint', 'tainted', 'taint a keyset: stop trusting it and rotate away from it'],
  ['revoke', 'revoked', 'revoke a tainted keyset: remove it from the trust bundle'],
] as const;

/** The human report of a keyset command: the confirmation, then every keyset. */
export function keysetCommandText(
  result: KeysetCommandResult,
  done: string,
  fallbackId: string,
): string {
  const id = result.keyset?.id ?? fallbackId;
  return `Keyset ${id} ${done}.\n\n${keysetList(result.keysets ?? [])}`;
}

/** Flags of `trust-domain create`. */
export interface TrustDomainCreateFlags {
  /** `--self-hosted` */
  selfHosted?: boolean;
  /** `--description` */
  description?: string;
}

/** The body of `POST /trust-domains`. */
export function trustDomainCreateBody(
  name: string,
  flags: TrustDomainCreateFlags,
): { name: string; kind: 'managed' | 'self-hosted'; description?: string } {
  const body: { name: string; kind: 'managed' | 'self-hosted'; description?: string } = {
    name,
    kind: flags.selfHosted === true ? 'self-hosted' : 'managed',
  };
  if (flags.description !== undefined) body.description = flags.description;
  return body;
}

/** Flags of `trust-domain deployment create`. */
export interface DeploymentCreateFlags {
  /** `--region` */
  region?: string;
}

/** The body of `POST /trust-domains/{td}/deployments`. */
export function deploymentCreateBody(
  name: string,
  flags: DeploymentCreateFlags,
): { name: string; region?: string } {
  return flags.region === undefined ? { name } : { name, region: flags.region };
}

/** Adds the `trust-domain` group to the program. */
export function registerTrustDomain(program: Command, invocation: Invocation): void {
  const group = program.command('trust-domain').alias('td').description('manage trust domains');

  group
    .command('create')
    .description('create a trust domain (managed unless --self-hosted)')
    .argument('<name>', 'trust domain name, e.g. example.org')
    .option('--self-hosted', 'the trust-domain server runs in your own deployments')
    .option('--description <text>', 'free-text description')
    .action(async (name: string, flags: TrustDomainCreateFlags, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const client = await rt.client();
      const td = await client.post<TrustDomain>(
        '/trust-domains',
        trustDomainCreateBody(name, flags),
      );
      rt.emit(td, () => `Trust domain ${td.name} (${td.id}) created.\n\n${trustDomainInfo(td)}`);
    });

  group
    .command('list')
    .description('list trust domains')
    .action(async (_flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const items = await (await rt.client()).list<TrustDomain>('/trust-domains');
      rt.emit(items, () => trustDomainList(items));
    });

  group
    .command('info')
    .description('show a trust domain')
    .argument('<name-or-id>', 'trust domain name or td-… id')
    .option('--show-deployments', 'also list its deployments')
    .action(async (nameOrId: string, flags: { showDeployments?: boolean }, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const client = await rt.client();
      const td = await client.get<TrustDomain>(
        apiPath('trust-domains', nameOrId),
        flags.showDeployments === true ? { showDeployments: true } : {},
      );
      rt.emit(td, () => trustDomainInfo(td));
    });

  group
    .command('bundle')
    .description(
      "print the trust domain's X.509 authorities as PEM (for TP_AGENT_TRUST_BUNDLE_PATH); --output json gives the SPIFFE bundle",
    )
    .argument('<name-or-id>', 'trust domain name or td-… id')
    .action(async (nameOrId: string, _flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const client = await rt.client();
      const document = await client.get<SpiffeBundleDocument>(
        `${apiPath('trust-domains', nameOrId)}/bundle`,
      );
      rt.emit(document, () => bundleX509AuthoritiesPem(document));
    });

  group
    .command('delete')
    .description('delete a trust domain and its entries (refused while clusters or self-hosted deployments remain)')
    .argument('<name-or-id>', 'trust domain name or td-… id')
    .action(async (nameOrId: string, _flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const client = await rt.client();
      // Read it first so the confirmation names both the trust domain and its id.
      const td = await client.get<TrustDomain>(apiPath('trust-domains', nameOrId));
      await client.delete(apiPath('trust-domains', td.id));
      rt.say(`Trust domain ${td.name} (${td.id}) deleted.\n`);
    });

  const deployment = group
    .command('deployment')
    .description("manage a self-hosted trust domain's deployments");

  deployment
    .command('create')
    .description('create a deployment of a self-hosted trust domain')
    .argument('<trust-domain>', 'trust domain name or td-… id')
    .argument('<name>', 'deployment name')
    .option('--region <region>', 'region label')
    .action(async (td: string, name: string, flags: DeploymentCreateFlags, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const client = await rt.client();
      const created = await client.post<Deployment>(
        apiPath('trust-domains', td, 'deployments'),
        deploymentCreateBody(name, flags),
      );
      rt.emit(
        created,
        () => `Deployment ${created.name} (${created.id}) created.\n\n${deploymentInfo(created)}`,
      );
    });

  deployment
    .command('list')
    .description("list a trust domain's deployments")
    .argument('<trust-domain>', 'trust domain name or td-… id')
    .action(async (td: string, _flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const items = await (
        await rt.client()
      ).list<Deployment>(apiPath('trust-domains', td, 'deployments'));
      rt.emit(items, () => deploymentList(items));
    });

  const keyset = deployment
    .command('keyset')
    .description("manage a deployment's CA keysets (answered by the signer)");

  keyset
    .command('list')
    .description("list a deployment's keysets")
    .argument('<trust-domain>', 'trust domain name or td-… id')
    .argument('<deployment-id>', 'tdd-… id')
    .action(async (td: string, id: string, _flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const items = await (
        await rt.client()
      ).list<Keyset>(apiPath('trust-domains', td, 'deployments', id, 'keysets'));
      rt.emit(items, () => keysetList(items));
    });

  keyset
    .command('prepare')
    .description('prepare a new keyset (published in the bundle before it is activated)')
    .argument('<trust-domain>', 'trust domain name or td-… id')
    .argument('<deployment-id>', 'tdd-… id')
    .action(async (td: string, id: string, _flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const result = await (
        await rt.client()
      ).post<KeysetCommandResult>(apiPath('trust-domains', td, 'deployments', id, 'keysets'));
      rt.emit(result, () => keysetCommandText(result, 'prepared', '(new)'));
    });

  for (const [action, done, description] of KEYSET_ACTIONS) {
    keyset
      .command(action)
      .description(description)
      .argument('<trust-domain>', 'trust domain name or td-… id')
      .argument('<deployment-id>', 'tdd-… id')
      .argument('<keyset-id>', 'ks-… id')
      .action(
        async (td: string, id: string, keysetId: string, _flags: object, command: Command) => {
          const rt = invocation.runtimeFor(command);
          const result = await (
            await rt.client()
          ).post<KeysetCommandResult>(
            apiPath('trust-domains', td, 'deployments', id, 'keysets', keysetId, action),
          );
          rt.emit(result, () => keysetCommandText(result, done, keysetId));
        },
      );
  }

  deployment
    .command('delete')
    .description('delete a deployment (refused while it has active keys, unless --force)')
    .argument('<trust-domain>', 'trust domain name or td-… id')
    .argument('<deployment-id>', 'tdd-… id')
    .option('--force', 'delete even with active deployment keys')
    .action(async (td: string, id: string, flags: { force?: boolean }, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const client = await rt.client();
      await client.delete(
        apiPath('trust-domains', td, 'deployments', id),
        flags.force === true ? { force: true } : {},
      );
      rt.say(`Deployment ${id} deleted.\n`);
    });
}
