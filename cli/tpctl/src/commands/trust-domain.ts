// `tpctl trust-domain create|list|info|delete` and `tpctl trust-domain deployment create|list|delete`.
import type { Command } from 'commander';
import { bundleX509AuthoritiesPem, type SpiffeBundleDocument } from '@trustplane/spiffe';
import { apiPath, type ApiClient } from '../client.js';
import { AcceptedAnswer, ApiError, CliError } from '../errors.js';
import { createKey, deploymentKeys, findKey, keyJson, keysInScope, keysPath, type CreatedDeploymentKey } from '../keys.js';
import type { Invocation, Runtime } from '../runtime.js';
import { trustDomainAndResource, trustDomainOf, type ScopeFlags } from '../scope.js';
import type { Deployment, Keyset, KeysetCommandResult, TrustDomain } from '../types.js';
import {
  deploymentCreated,
  deploymentInfo,
  deploymentList,
  keyCreated,
  keyList,
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
export interface DeploymentCreateFlags extends ScopeFlags {
  /** `--no-key`: create the deployment only (commander sets `key: false`). */
  key?: boolean;
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

/** `--output json` of `deployment create`: the deployment and its first key, in spirlctl's names. */
export function deploymentCreatedJson(d: Deployment, key: CreatedDeploymentKey | null): Record<string, unknown> {
  const json: Record<string, unknown> = {
    deployment_id: d.id,
    deployment_name: d.name,
    trust_domain_id: d.trustDomainId,
    trust_domain_name: d.trustDomainName ?? key?.trustDomainName ?? null,
    region: d.region,
    created_at: d.createdAt,
  };
  if (key !== null) {
    json['key_id'] = key.id;
    json['private_key_pem'] = key.privateKeyPem;
  }
  return json;
}

/** How long tpctl waits out read-model lag (a new deployment to show, the key service to know it, the registry to see a disabled key); generous for loaded machines. */
export const NEW_DEPLOYMENT_WAIT_MS = 60_000;
const POLL_MS = 250;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Creates a deployment. With `needsIt` (its first key follows), a 202 answer — committed, not
 * yet readable — is not the end: the deployment is read until it shows (bounded), since the key
 * cannot be created for a deployment nobody can see yet. Without it the 202 is reported as usual.
 */
async function createdDeployment(client: ApiClient, trustDomain: string, body: { name: string; region?: string }, needsIt: boolean): Promise<Deployment> {
  try {
    return await client.post<Deployment>(apiPath('trust-domains', trustDomain, 'deployments'), body);
  } catch (error) {
    if (!(error instanceof AcceptedAnswer) || !needsIt || typeof error.answer['id'] !== 'string') throw error;
    const id = error.answer['id'];
    for (const deadline = Date.now() + NEW_DEPLOYMENT_WAIT_MS; ; ) {
      try {
        return await client.get<Deployment>(apiPath('trust-domains', trustDomain, 'deployments', id));
      } catch (readError) {
        if (!(readError instanceof ApiError && readError.status === 404) || Date.now() >= deadline) throw readError;
        await pause(POLL_MS);
      }
    }
  }
}

/**
 * Creates a new deployment's first key. The key service learns of deployments from the event
 * log, so right after the deployment was created it may not know it yet (404
 * DEPLOYMENT_NOT_FOUND): the request is repeated, bounded. Each attempt is its own POST (a new
 * Idempotency-Key): a refused attempt created nothing.
 */
async function firstKey(client: ApiClient, d: Deployment): Promise<CreatedDeploymentKey> {
  for (const deadline = Date.now() + NEW_DEPLOYMENT_WAIT_MS; ; ) {
    try {
      return await createKey(client, d.trustDomainId, d.id);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404 && error.code === 'DEPLOYMENT_NOT_FOUND') || Date.now() >= deadline) throw error;
      await pause(POLL_MS);
    }
  }
}

/**
 * Deletes a deployment. The registry refuses (409 DEPLOYMENT_HAS_ACTIVE_KEYS, naming them) while
 * it sees active keys; it learns of key changes from the event log, so right after `key disable`
 * it may still see the key as active. When the key service (which decides key states) already
 * has none of the named keys active, the refusal is the registry's lag: the delete is repeated,
 * bounded. A key that is really active is reported at once.
 */
async function deleteDeployment(client: ApiClient, trustDomain: string, d: Deployment, force: boolean): Promise<void> {
  const path = apiPath('trust-domains', trustDomain, 'deployments', d.id);
  for (const deadline = Date.now() + NEW_DEPLOYMENT_WAIT_MS; ; ) {
    try {
      await client.delete(path, force ? { force: true } : {});
      return;
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 'DEPLOYMENT_HAS_ACTIVE_KEYS') || Date.now() >= deadline) throw error;
      const named = error.problem?.['activeKeys'];
      if (!Array.isArray(named) || named.length === 0) throw error;
      const active = new Set((await deploymentKeys(client, d.trustDomainId, d.id)).filter((k) => k.state === 'active').map((k) => k.id));
      if (named.some((id) => active.has(String(id)))) throw error;
      await pause(POLL_MS);
    }
  }
}

/** Adds `--trust-domain` and `--deployment-name` to a command. */
function scoped(command: Command, deployment = true): Command {
  command.option('--trust-domain <trust-domain>', 'trust domain name or td-… id');
  if (deployment) command.option('--deployment-name <deployment>', 'deployment name or tdd-… id');
  return command;
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

  scoped(
    group
      .command('info')
      .description('show a trust domain')
      .argument('[name-or-id]', 'trust domain name or td-… id (or --trust-domain)')
      .option('--show-deployments', 'also list its deployments'),
    false,
  ).action(async (nameOrId: string | undefined, flags: ScopeFlags & { showDeployments?: boolean }, command: Command) => {
    const rt = invocation.runtimeFor(command);
    const client = await rt.client();
    const td = await client.get<TrustDomain>(
      apiPath('trust-domains', trustDomainOf(nameOrId === undefined ? [] : [nameOrId], flags)),
      flags.showDeployments === true ? { showDeployments: true } : {},
    );
    rt.emit(td, () => trustDomainInfo(td));
  });

  scoped(
    group
      .command('bundle')
      .description(
        "print the trust domain's X.509 authorities as PEM (for TP_AGENT_TRUST_BUNDLE_PATH); --output json gives the SPIFFE bundle",
      )
      .argument('[name-or-id]', 'trust domain name or td-… id (or --trust-domain)'),
    false,
  ).action(async (nameOrId: string | undefined, flags: ScopeFlags, command: Command) => {
    const rt = invocation.runtimeFor(command);
    const client = await rt.client();
    const document = await client.get<SpiffeBundleDocument>(
      `${apiPath('trust-domains', trustDomainOf(nameOrId === undefined ? [] : [nameOrId], flags))}/bundle`,
    );
    rt.emitDocument(document, () => bundleX509AuthoritiesPem(document));
  });

  scoped(
    group
      .command('delete')
      .description('delete a trust domain and its entries (refused while clusters or self-hosted deployments remain)')
      .argument('[name-or-id]', 'trust domain name or td-… id (or --trust-domain)'),
    false,
  ).action(async (nameOrId: string | undefined, flags: ScopeFlags, command: Command) => {
    const rt = invocation.runtimeFor(command);
    const client = await rt.client();
    // Read it first so the confirmation names both the trust domain and its id.
    const td = await client.get<TrustDomain>(apiPath('trust-domains', trustDomainOf(nameOrId === undefined ? [] : [nameOrId], flags)));
    await client.delete(apiPath('trust-domains', td.id));
    rt.say(`Trust domain ${td.name} (${td.id}) deleted.\n`);
  });

  const deployment = group
    .command('deployment')
    .description("manage a self-hosted trust domain's deployments");

  scoped(
    deployment
      .command('create')
      .description('create a deployment of a self-hosted trust domain and its first deployment key (shown once)')
      .argument('<name...>', 'deployment name (or: <trust-domain> <name>)')
      .option('--region <region>', 'region label')
      .option('--no-key', 'create the deployment only; add keys with `deployment key create`'),
    false,
  ).action(async (positionals: string[], flags: DeploymentCreateFlags, command: Command) => {
    const rt = invocation.runtimeFor(command);
    const { trustDomain, resource: name } = trustDomainAndResource(positionals, flags, 'name');
    const client = await rt.client();
    const created = await createdDeployment(client, trustDomain, deploymentCreateBody(name, flags), flags.key !== false);
    if (flags.key === false) {
      rt.emit(deploymentCreatedJson(created, null), () => `Deployment '${created.name}' created.\n${deploymentInfo(created)}`);
      return;
    }
    let key: CreatedDeploymentKey;
    try {
      key = await firstKey(client, created);
    } catch (error) {
      // The deployment exists: say so, and how to get its key, before the failure is reported.
      rt.deps.stderr(
        `Deployment '${created.name}' (${created.id}) was created, but its first key was not. Create one with:\n` +
          `  tpctl trust-domain deployment key create --trust-domain ${created.trustDomainName ?? created.trustDomainId} --deployment-name ${created.name}\n`,
      );
      throw error;
    }
    rt.emit(deploymentCreatedJson(created, key), () => deploymentCreated(created, key));
  });

  scoped(
    deployment
      .command('list')
      .description('list deployments: of one trust domain, or across all of them')
      .argument('[trust-domain]', 'trust domain name or td-… id (or --trust-domain)'),
    false,
  ).action(async (td: string | undefined, flags: ScopeFlags, command: Command) => {
    const rt = invocation.runtimeFor(command);
    const client = await rt.client();
    const trustDomain = trustDomainOf(td === undefined ? [] : [td], flags, { optional: true });
    const items =
      trustDomain === undefined
        ? await client.list<Deployment>(apiPath('deployments'))
        : await client.list<Deployment>(apiPath('trust-domains', trustDomain, 'deployments'));
    rt.emit(items, () => deploymentList(items, { acrossTrustDomains: trustDomain === undefined }));
  });

  scoped(
    deployment
      .command('delete')
      .description('delete a deployment (refused while it has active keys, unless --force)')
      .argument('[deployment...]', 'deployment name or tdd-… id (or: <trust-domain> <deployment>, or --deployment-name)')
      .option('--force', 'delete even with active deployment keys: servers using them are cut off'),
  ).action(async (positionals: string[], flags: ScopeFlags & { force?: boolean }, command: Command) => {
    const rt = invocation.runtimeFor(command);
    let trustDomain: string;
    let name: string;
    if (flags.deploymentName !== undefined) {
      trustDomain = trustDomainOf(positionals, flags);
      name = flags.deploymentName;
    } else {
      ({ trustDomain, resource: name } = trustDomainAndResource(positionals, flags, 'deployment'));
    }
    const client = await rt.client();
    const shown = await client.get<Deployment>(apiPath('trust-domains', trustDomain, 'deployments', name));
    await deleteDeployment(client, trustDomain, shown, flags.force === true);
    rt.say(`Deployment ${shown.name} (${shown.id}) deleted.\n`);
  });

  registerKeysets(deployment, invocation);
  registerDeploymentKeys(deployment, invocation);
}

/** The trust domain and deployment of a keyset command: flags, or the positional aliases. */
function keysetScope(positionals: readonly string[], flags: ScopeFlags, extra: number): { trustDomain: string; deployment: string; rest: string[] } {
  const wanted = 2 + extra - (flags.trustDomain === undefined ? 0 : 1) - (flags.deploymentName === undefined ? 0 : 1);
  if (positionals.length !== wanted) {
    throw new CliError('INVALID_ARGUMENT', 'expected --trust-domain <td> --deployment-name <deployment> (or <trust-domain> <deployment>)' + (extra > 0 ? ' and the keyset id' : ''));
  }
  const queue = [...positionals];
  const trustDomain = flags.trustDomain ?? (queue.shift() as string);
  const deployment = flags.deploymentName ?? (queue.shift() as string);
  return { trustDomain, deployment, rest: queue };
}

/** `trust-domain deployment keyset …`: CA signing keysets (not deployment keys). */
function registerKeysets(deployment: Command, invocation: Invocation): void {
  const keyset = deployment
    .command('keyset')
    .description("manage a deployment's CA signing keysets (answered by the signer; not deployment keys)");

  scoped(
    keyset
      .command('list')
      .description("list a deployment's keysets")
      .argument('[scope...]', '<trust-domain> <deployment> (or the flags)'),
  ).action(async (positionals: string[], flags: ScopeFlags, command: Command) => {
    const rt = invocation.runtimeFor(command);
    const { trustDomain, deployment: id } = keysetScope(positionals, flags, 0);
    const items = await (await rt.client()).list<Keyset>(apiPath('trust-domains', trustDomain, 'deployments', id, 'keysets'));
    rt.emit(items, () => keysetList(items));
  });

  scoped(
    keyset
      .command('prepare')
      .description('prepare a new keyset (published in the bundle before it is activated)')
      .argument('[scope...]', '<trust-domain> <deployment> (or the flags)'),
  ).action(async (positionals: string[], flags: ScopeFlags, command: Command) => {
    const rt = invocation.runtimeFor(command);
    const { trustDomain, deployment: id } = keysetScope(positionals, flags, 0);
    const result = await (await rt.client()).post<KeysetCommandResult>(apiPath('trust-domains', trustDomain, 'deployments', id, 'keysets'));
    rt.emit(result, () => keysetCommandText(result, 'prepared', '(new)'));
  });

  for (const [action, done, description] of KEYSET_ACTIONS) {
    scoped(
      keyset
        .command(action)
        .description(description)
        .argument('<args...>', '<keyset-id> with the flags (or <trust-domain> <deployment> <keyset-id>)'),
    ).action(async (positionals: string[], flags: ScopeFlags, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const { trustDomain, deployment: id, rest } = keysetScope(positionals, flags, 1);
      const keysetId = rest[0] as string;
      const result = await (
        await rt.client()
      ).post<KeysetCommandResult>(apiPath('trust-domains', trustDomain, 'deployments', id, 'keysets', keysetId, action));
      rt.emit(result, () => keysetCommandText(result, done, keysetId));
    });
  }
}

/** The warning printed when a deployment key is disabled (spirlctl's words, then what follows). */
export const DISABLE_WARNING =
  'Important! Existing credentials issued to the trust domain deployment are still valid for up to 24 hours.\n' +
  'After that, a server still using this key can no longer reach the control plane and stops receiving\n' +
  'configuration, cluster and federation updates.\n';

/** `trust-domain deployment key …`: the deployment keys self-hosted servers authenticate with. */
function registerDeploymentKeys(deployment: Command, invocation: Invocation): void {
  const key = deployment
    .command('key')
    .description('manage deployment keys: what self-hosted trust-domain servers authenticate to the control plane with');

  scoped(
    key
      .command('create')
      .description('create a deployment key (the private key is shown once)')
      .argument('[scope...]', '(or <trust-domain> <deployment>)'),
  ).action(async (positionals: string[], flags: ScopeFlags, command: Command) => {
    const rt = invocation.runtimeFor(command);
    const { trustDomain, deployment: d } = keysetScope(positionals, flags, 0);
    const created = await createKey(await rt.client(), trustDomain, d);
    emitKey(rt, created, () => keyCreated(created));
  });

  scoped(
    key
      .command('list')
      .description('list deployment keys: all, of one trust domain, or of one deployment'),
  ).action(async (flags: ScopeFlags, command: Command) => {
    const rt = invocation.runtimeFor(command);
    const keys = await keysInScope(await rt.client(), scopeOf(flags));
    rt.emit(keys.map(keyJson), () => keyList(keys));
  });

  const actions = [
    ['enable', 'enabled', 'enable a disabled deployment key', 'POST'],
    ['disable', 'disabled', 'disable a deployment key: servers using it are cut off once their credential expires (≤ 24 h)', 'POST'],
    ['delete', 'deleted', 'delete a disabled deployment key (cannot be undone)', 'DELETE'],
  ] as const;
  for (const [action, done, description, method] of actions) {
    scoped(
      key
        .command(action)
        .description(description)
        .argument('<key-id>', 'tdk-… id'),
    ).action(async (keyId: string, flags: ScopeFlags, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const client = await rt.client();
      const found = await findKey(client, keyId, scopeOf(flags));
      const path = keysPath(found.trustDomainId, found.deploymentId, found.id);
      if (method === 'DELETE') await client.delete(path);
      else await client.post<unknown>(`${path}/${action}`);
      const json = { key_id: found.id, deployment_id: found.deploymentId, deployment_name: found.deploymentName, trust_domain_id: found.trustDomainId, trust_domain_name: found.trustDomainName, state: action === 'delete' ? 'deleted' : done === 'enabled' ? 'active' : 'disabled' };
      if (rt.json) rt.deps.stdout(JSON.stringify(json, null, 2) + '\n');
      else rt.deps.stdout(`Trust domain key ${found.id} ${done}.\n` + (action === 'disable' ? DISABLE_WARNING : ''));
    });
  }
}

function scopeOf(flags: ScopeFlags): { trustDomain?: string; deployment?: string } {
  return {
    ...(flags.trustDomain === undefined ? {} : { trustDomain: flags.trustDomain }),
    ...(flags.deploymentName === undefined ? {} : { deployment: flags.deploymentName }),
  };
}

/** Prints a created key: the text, or spirlctl's JSON (`key_id`, …, `private_key_pem`). */
function emitKey(rt: Runtime, created: CreatedDeploymentKey, human: () => string): void {
  if (rt.json) rt.deps.stdout(JSON.stringify(keyJson(created), null, 2) + '\n');
  else rt.deps.stdout(human());
}
