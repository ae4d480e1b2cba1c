// Deployment keys: the credentials self-hosted trust-domain servers authenticate to the control
// plane with. Served by the auth service, which the registry forwards
// `/api/v1/trust-domains/{td}/deployments/{d}/keys*` to, so tpctl keeps one server URL.
import { apiPath, type ApiClient } from './client.js';
import { ApiError, CliError } from './errors.js';
import type * as api from './api-types.generated.js';
import type { Deployment, TrustDomain } from './types.js';

/** A deployment key as the auth service lists it (never with its private key); generated from the OpenAPI document. */
export type DeploymentKey = api.DeploymentKey;

/** A key as created: the private key (PKCS#8 PEM) is in this answer only. */
export type CreatedDeploymentKey = api.NewDeploymentKey;

/** The REST path of a deployment's keys (or one key, or one key's action). */
export function keysPath(trustDomain: string, deployment: string, ...rest: string[]): string {
  return apiPath('trust-domains', trustDomain, 'deployments', deployment, 'keys', ...rest);
}

/** `--output json` of one key: spirlctl's field names (`key_id`, …). */
export function keyJson(key: DeploymentKey | CreatedDeploymentKey): Record<string, unknown> {
  const json: Record<string, unknown> = {
    key_id: key.id,
    deployment_id: key.deploymentId,
    deployment_name: key.deploymentName,
    trust_domain_id: key.trustDomainId,
    trust_domain_name: key.trustDomainName,
    state: key.state,
    fingerprint: key.fingerprint,
  };
  json['public_key_pem'] = key.publicKeyPem;
  json['created_at'] = key.createdAt;
  json['last_used_at'] = key.lastUsedAt;
  if ('privateKeyPem' in key) json['private_key_pem'] = key.privateKeyPem;
  return json;
}

/** Creates a key for the deployment (trust domain and deployment by id or name). */
export async function createKey(client: ApiClient, trustDomain: string, deployment: string): Promise<CreatedDeploymentKey> {
  const created = await client.post<CreatedDeploymentKey>(keysPath(trustDomain, deployment));
  if (created === undefined || typeof created.privateKeyPem !== 'string' || typeof created.id !== 'string') {
    throw new CliError('BAD_RESPONSE', 'the key service answered a created key without its id or private key');
  }
  return created;
}

/** The keys of one deployment. */
export async function deploymentKeys(client: ApiClient, trustDomain: string, deployment: string): Promise<DeploymentKey[]> {
  return client.list<DeploymentKey>(keysPath(trustDomain, deployment));
}

/**
 * The self-hosted deployments in scope: of one trust domain (and one deployment by name or id)
 * or, with no trust domain, of all the organization's trust domains.
 */
export async function deploymentsInScope(client: ApiClient, scope: { trustDomain?: string; deployment?: string }): Promise<Deployment[]> {
  if (scope.trustDomain === undefined) {
    if (scope.deployment !== undefined) throw new CliError('INVALID_ARGUMENT', '--deployment-name needs --trust-domain');
    return client.list<Deployment>(apiPath('deployments'), { managed: false });
  }
  if (scope.deployment !== undefined) {
    return [await client.get<Deployment>(apiPath('trust-domains', scope.trustDomain, 'deployments', scope.deployment))];
  }
  const td = await client.get<TrustDomain>(apiPath('trust-domains', scope.trustDomain));
  const items = await client.list<Deployment>(apiPath('trust-domains', td.id, 'deployments'));
  return items.filter((d) => d.managed !== true).map((d) => ({ ...d, trustDomainName: d.trustDomainName ?? td.name }));
}

/** Every key of the deployments in scope, deployment by deployment. */
export async function keysInScope(client: ApiClient, scope: { trustDomain?: string; deployment?: string }): Promise<DeploymentKey[]> {
  const keys: DeploymentKey[] = [];
  for (const deployment of await deploymentsInScope(client, scope)) {
    keys.push(...(await deploymentKeys(client, deployment.trustDomainId, deployment.id)));
  }
  return keys;
}

/** Finds key `keyId` among the deployments in scope (404 DEPLOYMENT_KEY_NOT_FOUND otherwise). */
export async function findKey(client: ApiClient, keyId: string, scope: { trustDomain?: string; deployment?: string }): Promise<DeploymentKey> {
  if (!/^tdk-[0-9a-z]+$/.test(keyId)) throw new CliError('INVALID_ARGUMENT', `"${keyId}" is not a deployment key id (tdk-…)`);
  for (const deployment of await deploymentsInScope(client, scope)) {
    const found = (await deploymentKeys(client, deployment.trustDomainId, deployment.id)).find((key) => key.id === keyId);
    if (found !== undefined) return found;
  }
  const where = scope.trustDomain === undefined ? 'any trust domain' : `trust domain ${scope.trustDomain}${scope.deployment === undefined ? '' : `, deployment ${scope.deployment}`}`;
  throw new ApiError(404, 'DEPLOYMENT_KEY_NOT_FOUND', `deployment key ${keyId} not found in ${where}`);
}
