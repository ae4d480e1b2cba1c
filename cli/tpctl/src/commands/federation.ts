// `tpctl federation create|list|info|refresh|delete`: federation relationships of a trust domain
// (one-way: the peer's bundle goes to this trust domain's workloads; bundles are never merged).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { apiPath } from '../client.js';
import { CliError } from '../errors.js';
import { renderKeyValues, renderList } from '../format.js';
import type { Invocation } from '../runtime.js';

/** A federation relationship as the API returns it. */
export interface Federation {
  id: string;
  trustDomainId: string;
  trustDomain: string;
  peer: {
    kind: 'internal' | 'external';
    trustDomain: string;
    trustDomainId: string | null;
    bundleEndpointUrl: string | null;
    profile: string | null;
    endpointSpiffeId: string | null;
    bootstrapBundle: boolean;
  };
  refreshRequestedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Flags of `federation create`. */
export interface FederationCreateFlags {
  /** `--peer-trust-domain-id td-…`: a trust domain of this installation. */
  peerTrustDomainId?: string;
  /** `--peer-trust-domain <name>`: an external peer. */
  peerTrustDomain?: string;
  bundleEndpointUrl?: string;
  profile?: string;
  endpointSpiffeId?: string;
  /** `--bootstrap-bundle <file>`: SPIFFE bundle JSON. */
  bootstrapBundle?: string;
}

/** The body of `POST /trust-domains/{td}/federations` from the flags (file read for the bootstrap bundle). */
export function federationCreateBody(flags: FederationCreateFlags, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): Record<string, string> {
  if (flags.peerTrustDomainId !== undefined) {
    if (flags.peerTrustDomain !== undefined || flags.bundleEndpointUrl !== undefined) {
      throw new CliError('INVALID_ARGUMENT', '--peer-trust-domain-id names a trust domain of this installation: give no --peer-trust-domain or --bundle-endpoint-url with it');
    }
    return { peerTrustDomainId: flags.peerTrustDomainId };
  }
  if (flags.peerTrustDomain === undefined || flags.bundleEndpointUrl === undefined) {
    throw new CliError('INVALID_ARGUMENT', 'give --peer-trust-domain-id td-… (this installation) or --peer-trust-domain and --bundle-endpoint-url (external)');
  }
  const body: Record<string, string> = { trustDomain: flags.peerTrustDomain, bundleEndpointUrl: flags.bundleEndpointUrl, profile: flags.profile ?? 'https_web' };
  if (flags.endpointSpiffeId !== undefined) body['endpointSpiffeId'] = flags.endpointSpiffeId;
  if (flags.bootstrapBundle !== undefined) {
    try {
      body['bootstrapBundle'] = readFile(flags.bootstrapBundle);
    } catch (error) {
      throw new CliError('INVALID_ARGUMENT', `cannot read --bootstrap-bundle ${flags.bootstrapBundle}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return body;
}

/** `tpctl federation list`. */
export function federationList(items: readonly Federation[]): string {
  return renderList(
    ['Peer', 'ID', 'Kind', 'Endpoint', 'Profile', 'Created'],
    items.map((f) => [f.peer.trustDomain, f.id, f.peer.kind, f.peer.bundleEndpointUrl ?? f.peer.trustDomainId, f.peer.profile, f.createdAt]),
    { one: 'federation relationship', many: 'federation relationships' },
  );
}

/** `tpctl federation info`. */
export function federationInfo(f: Federation): string {
  return renderKeyValues([
    ['ID', f.id],
    ['Trust domain', `${f.trustDomain} (${f.trustDomainId})`],
    ['Peer trust domain', f.peer.trustDomain],
    ['Peer kind', f.peer.kind],
    ['Peer trust domain ID', f.peer.trustDomainId],
    ['Bundle endpoint URL', f.peer.bundleEndpointUrl],
    ['Profile', f.peer.profile],
    ['Endpoint SPIFFE ID', f.peer.endpointSpiffeId],
    ['Bootstrap bundle', f.peer.kind === 'external' ? (f.peer.bootstrapBundle ? 'yes' : 'no') : null],
    ['Refresh requested', f.refreshRequestedAt],
    ['Created', f.createdAt],
    ['Updated', f.updatedAt],
  ]);
}

/** Adds the `federation` group to the program. */
export function registerFederation(program: Command, invocation: Invocation): void {
  const group = program.command('federation').description("manage a trust domain's federation relationships (one-way)");

  group
    .command('create')
    .description('trust a peer trust domain: its bundle is handed to this trust domain\'s workloads')
    .argument('<trust-domain>', 'trust domain name or td-… id')
    .option('--peer-trust-domain-id <td-id>', 'a trust domain of this installation (same organization)')
    .option('--peer-trust-domain <name>', 'an external peer: its trust domain name')
    .option('--bundle-endpoint-url <url>', 'an external peer: https:// URL of its SPIFFE bundle endpoint')
    .option('--profile <profile>', 'https_web (default) or https_spiffe')
    .option('--endpoint-spiffe-id <id>', 'https_spiffe: the SPIFFE ID the endpoint presents')
    .option('--bootstrap-bundle <file>', 'https_spiffe: the peer bundle (SPIFFE bundle JSON) to trust before the first fetch')
    .action(async (td: string, flags: FederationCreateFlags, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const body = federationCreateBody(flags);
      const created = await (await rt.client()).post<Federation>(apiPath('trust-domains', td, 'federations'), body);
      rt.emit(created, () => `Federation ${created.id} created: ${created.trustDomain} trusts ${created.peer.trustDomain}.\n`);
    });

  group
    .command('list')
    .description('list the federation relationships of a trust domain')
    .argument('<trust-domain>', 'trust domain name or td-… id')
    .action(async (td: string, _flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const items = await (await rt.client()).list<Federation>(apiPath('trust-domains', td, 'federations'));
      rt.emit(items, () => federationList(items));
    });

  group
    .command('info')
    .description('show a federation relationship')
    .argument('<trust-domain>', 'trust domain name or td-… id')
    .argument('<federation>', 'fr-… id or peer trust domain name')
    .action(async (td: string, id: string, _flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const item = await (await rt.client()).get<Federation>(apiPath('trust-domains', td, 'federations', id));
      rt.emit(item, () => federationInfo(item));
    });

  group
    .command('refresh')
    .description("ask for the peer's bundle to be fetched now")
    .argument('<trust-domain>', 'trust domain name or td-… id')
    .argument('<federation>', 'fr-… id or peer trust domain name')
    .action(async (td: string, id: string, _flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const item = await (await rt.client()).post<Federation>(apiPath('trust-domains', td, 'federations', id, 'refresh'));
      rt.emit(item, () => `Refresh of ${item.peer.trustDomain} requested.\n`);
    });

  group
    .command('delete')
    .description("delete a federation relationship (the peer's bundle leaves this trust domain's workloads)")
    .argument('<trust-domain>', 'trust domain name or td-… id')
    .argument('<federation>', 'fr-… id or peer trust domain name')
    .action(async (td: string, id: string, _flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      await (await rt.client()).delete(apiPath('trust-domains', td, 'federations', id));
      rt.say(`Federation ${id} deleted.\n`);
    });
}
