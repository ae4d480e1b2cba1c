// Human renderings of the API resources (pure; exact text is unit-tested).
import { stringify } from 'yaml';
import { countFooter, renderKeyValues, renderList, renderTable, type Cell } from './format.js';
import type { CreatedDeploymentKey, DeploymentKey } from './keys.js';
import { displayTime, shortTime } from './time.js';
import type {
  Agent,
  Cluster,
  ClusterConfigVersion,
  ClusterKey,
  CreatedJoinToken,
  ConfigSection,
  ConfigSectionResult,
  CreatedToken,
  Deployment,
  Entry,
  Keyset,
  Organization,
  Token,
  TrustDomain,
  Whoami,
} from './types.js';

/** The deployments the registry sends with `showDeployments=true` (in `deploymentList`), or null. */
export function shownDeployments(trustDomain: TrustDomain): Deployment[] | null {
  return Array.isArray(trustDomain.deploymentList) ? trustDomain.deploymentList : null;
}

/** `active/total`, e.g. `2/5`. */
export function activeOfTotal(active: number | undefined, total: number): string {
  return `${active ?? total}/${total}`;
}

/** `tpctl trust-domain list`: spirlctl's columns, counts as active/total. */
export function trustDomainList(items: readonly TrustDomain[]): string {
  return renderList(
    ['Name', 'ID', 'State', 'Self-hosted', 'Clusters', 'Federations'],
    items.map((td) => [
      td.name,
      td.id,
      td.status,
      td.kind === 'self-hosted',
      activeOfTotal(td.activeClusters, td.clusters),
      activeOfTotal(td.activeFederations, td.federations),
    ]),
    { one: 'trust domain', many: 'trust domains' },
  );
}

/**
 * The public endpoints worth printing: those the server gives. The registry sends null for the
 * ones not served yet (bundle, JWKS, OIDC discovery, JWT issuer until federation exists), and a
 * URL that answers 404 is worse than none, so those lines are left out.
 */
export function endpointLines(endpoints: TrustDomain['endpoints']): [string, Cell][] {
  const shown = endpoints ?? {};
  const lines: [string, string | null | undefined][] = [
    ['Agent Endpoint', shown.agent],
    ['SPIFFE Bundle Endpoint', shown.bundle],
    ['JWT Issuer', shown.jwtIssuer],
    ['JWKS Endpoint', shown.jwks],
    ['OIDC Discovery Endpoint', shown.oidcDiscovery],
  ];
  return lines.filter((line): line is [string, string] => typeof line[1] === 'string' && line[1] !== '');
}

/** `tpctl trust-domain info`: spirlctl's labels, then the deployments when they were asked for. */
export function trustDomainInfo(td: TrustDomain): string {
  const pairs: [string, Cell][] = [
    ['ID', td.id],
    ['Name', td.name],
  ];
  if (td.description !== null && td.description !== '') pairs.push(['Description', td.description]);
  pairs.push(
    ['Status', td.status],
    ['Self-Managed', td.kind === 'self-hosted'],
    ...endpointLines(td.endpoints),
    ['Clusters', activeOfTotal(td.activeClusters, td.clusters)],
    ['Created At', displayTime(td.createdAt)],
    ['Last Updated At', displayTime(td.updatedAt)],
  );
  let text = renderKeyValues(pairs);
  const deployments = shownDeployments(td);
  if (deployments !== null) {
    text += `\nDeployments: ${deployments.length}\n`;
    if (deployments.length > 0) text += renderTable(DEPLOYMENT_COLUMNS, deployments.map(deploymentRow));
  }
  return text;
}

/** The columns of a deployments table. */
export const DEPLOYMENT_COLUMNS = ['Name', 'ID', 'Configuration State', 'Last Configured'] as const;

/** One row of a deployments table. */
export function deploymentRow(d: Deployment): Cell[] {
  return [d.name, d.id, d.configurationState, displayTime(d.lastConfiguredAt)];
}

/**
 * `tpctl trust-domain deployment list`: spirlctl's columns; across trust domains each row also
 * names its trust domain.
 */
export function deploymentList(items: readonly Deployment[], options: { acrossTrustDomains?: boolean } = {}): string {
  const across = options.acrossTrustDomains === true;
  return renderList(
    across ? [...DEPLOYMENT_COLUMNS, 'Trust Domain'] : DEPLOYMENT_COLUMNS,
    items.map((d) => (across ? [...deploymentRow(d), d.trustDomainName ?? d.trustDomainId] : deploymentRow(d))),
    { one: 'trust domain deployment', many: 'trust domain deployments' },
  );
}

/** One deployment as key/values. */
export function deploymentInfo(d: Deployment): string {
  return renderKeyValues([
    ['Deployment name', d.name],
    ['Deployment ID', d.id],
    ['Trust domain name', d.trustDomainName],
    ['Trust domain ID', d.trustDomainId],
    ['Configuration State', d.configurationState],
    ['Last Configured', displayTime(d.lastConfiguredAt)],
    ['Created At', displayTime(d.createdAt)],
  ]);
}

/** The private key block and the shown-once notice. */
export function privateKeyOnce(pem: string): string {
  return (
    'Private Key:\n' +
    pem.replace(/\n?$/, '\n') +
    '\nStore the private key now: it is shown this one time and cannot be retrieved again. The\n' +
    'trust-domain server needs the deployment ID, the key ID and this private key; keep the key in a\n' +
    'secret store.\n'
  );
}

/** The Helm values of the trust-domain server chart for a deployment and its key. */
export function helmValues(d: Deployment, key: CreatedDeploymentKey): string {
  const pem = key.privateKeyPem.trimEnd().split('\n').map((line) => `          ${line}`).join('\n');
  return (
    'trustDomainDeployment:\n' +
    `  id: ${d.id}\n` +
    `  name: "${d.name}"\n` +
    `  trustDomainID: "${d.trustDomainId}"\n` +
    `  trustDomainName: "${d.trustDomainName ?? key.trustDomainName}"\n` +
    '  controlPlane:\n' +
    '    auth:\n' +
    '      key:\n' +
    `        id: "${key.id}"\n` +
    '        pem: |\n' +
    `${pem}\n`
  );
}

/** `tpctl trust-domain deployment create`: the deployment, its first key once, the Helm values. */
export function deploymentCreated(d: Deployment, key: CreatedDeploymentKey): string {
  return (
    `Trust domain deployment '${d.name}' created successfully.\n` +
    renderKeyValues([
      ['Deployment name', d.name],
      ['Deployment ID', d.id],
      ['Trust domain name', d.trustDomainName ?? key.trustDomainName],
      ['Trust domain ID', d.trustDomainId],
      ['Key id', key.id],
    ]) +
    privateKeyOnce(key.privateKeyPem) +
    '\nThe trust-domain server authenticates to the control plane with this key. With the server\n' +
    'Helm chart, these are the values.yaml settings:\n\n' +
    helmValues(d, key) +
    '\nWithout Helm, the signer reads the same values from TP_SIGNER_DEPLOYMENT_ID,\n' +
    'TP_SIGNER_DEPLOYMENT_KEY_ID and TP_SIGNER_DEPLOYMENT_PRIVATE_KEY_FILE.\n'
  );
}

/** `tpctl trust-domain deployment key create`. */
export function keyCreated(key: CreatedDeploymentKey): string {
  return (
    `Trust domain key '${key.id}' created successfully.\n` +
    renderKeyValues([
      ['Deployment name', key.deploymentName],
      ['Trust domain name', key.trustDomainName],
      ['Key id', key.id],
    ]) +
    privateKeyOnce(key.privateKeyPem)
  );
}

/** One key of `tpctl trust-domain deployment key list`. */
export function keyBlock(key: DeploymentKey): string {
  const pairs: [string, Cell][] = [
    ['Trust Domain Name', key.trustDomainName],
    ['Trust Domain ID', key.trustDomainId],
    ['Deployment Name', key.deploymentName],
    ['Trust Domain Key ID', key.id],
    ['State', key.state],
    ['Last Used At', displayTime(key.lastUsedAt)],
  ];
  return renderKeyValues(pairs) + 'Public Key:\n' + key.publicKeyPem.replace(/\n?$/, '\n');
}

/** `tpctl trust-domain deployment key list`: one block per key, a blank line between, a count. */
export function keyList(keys: readonly DeploymentKey[]): string {
  const noun = { one: 'trust domain key', many: 'trust domain keys' };
  if (keys.length === 0) return countFooter(0, noun);
  return keys.map(keyBlock).join('\n') + '\n' + countFooter(keys.length, noun);
}

/** `tpctl cluster list`: spirlctl's columns. */
export function clusterList(items: readonly Cluster[]): string {
  return renderList(
    ['Name', 'ID', 'Configs', 'Created'],
    items.map((c) => [c.name, c.id, c.configVersions?.length ?? 0, shortTime(c.createdAt)]),
    { one: 'cluster', many: 'clusters' },
  );
}

/** `tpctl cluster disable`: each config version, then the cluster. */
export function clusterDisabled(c: Cluster): string {
  return (c.configVersions ?? []).map((v) => `Cluster config ${v.id} disabled.\n`).join('') + `Cluster ${c.name} (${c.id}) disabled.\n`;
}

/** `tpctl cluster delete`: each config version, then the cluster. */
export function clusterDeleted(c: Cluster): string {
  return (c.configVersions ?? []).map((v) => `Deleted cluster version ${v.id}.\n`).join('') + `Cluster ${c.name} (${c.id}) deleted.\n`;
}

/** `tpctl cluster config list`. */
export function clusterConfigList(items: readonly ClusterConfigVersion[]): string {
  return renderList(
    ['ID', 'Created'],
    items.map((v) => [v.id, shortTime(v.createdAt)]),
    { one: 'cluster config version', many: 'cluster config versions' },
  );
}

/** `tpctl cluster config show`: the version's facts, then its document as YAML. */
export function clusterConfigInfo(v: ClusterConfigVersion): string {
  const config = stringify(v.config ?? {}).trimEnd();
  return (
    renderKeyValues([
      ['ID', v.id],
      ['Cluster ID', v.clusterId],
      ['Created At', displayTime(v.createdAt)],
    ]) +
    'Config:\n' +
    config
      .split('\n')
      .map((line) => `  ${line}`)
      .join('\n') +
    '\n'
  );
}

/** `tpctl whoami`. */
export function whoamiInfo(w: Whoami): string {
  return renderKeyValues([
    ['Organization', `${w.organizationName} (${w.organizationId})`],
    ['Token ID', w.tokenId],
    ['Token Name', w.tokenName],
    ['Scopes', w.scopes.join(', ')],
    ['Expires At', w.expiresAt === null ? 'never' : displayTime(w.expiresAt)],
  ]);
}

/** `tpctl token list`. */
export function tokenList(items: readonly Token[], now: Date): string {
  return renderList(
    ['Name', 'ID', 'Scopes', 'State', 'Created', 'Expires'],
    items.map((t) => [
      t.name,
      t.id,
      t.scopes.join(','),
      t.revoked ? 'revoked' : t.expiresAt !== null && Date.parse(t.expiresAt) <= now.getTime() ? 'expired' : 'active',
      shortTime(t.createdAt),
      t.expiresAt === null ? 'never' : shortTime(t.expiresAt),
    ]),
    { one: 'token', many: 'tokens' },
  );
}

/** `tpctl cluster info`. */
export function clusterInfo(c: Cluster): string {
  const versions = c.configVersions ?? [];
  const latest = versions[versions.length - 1];
  return renderKeyValues([
    ['Name', c.name],
    ['ID', c.id],
    ['Trust domain', c.trustDomainId],
    ['Platform', c.platform],
    ['Description', c.description],
    ['Status', c.status],
    ['Config versions', versions.length],
    ['Latest config version', latest === undefined ? null : `${latest.id} (${latest.createdAt})`],
    ['Created', c.createdAt],
    ['Updated', c.updatedAt],
  ]);
}

/** The private cluster key printed once by `tpctl cluster create`, with its warning. */
export function clusterKeyOnce(key: ClusterKey): string {
  return (
    `\nCluster key ${key.keyId} (Ed25519). Save the private key now: it is shown only this once and\n` +
    'is not stored anywhere. Agents of this cluster attest with it.\n\n' +
    key.privateKey.replace(/\n?$/, '\n')
  );
}

/** `tpctl cluster join-token create`. */
export function joinTokenCreated(t: CreatedJoinToken): string {
  return (
    renderKeyValues([
      ['ID', t.id],
      ['Cluster', t.clusterId],
      ['Trust domain', t.trustDomainId],
      ['Expires', t.expiresAt],
    ]) +
    '\nJoin token (single use; shown only this once):\n' +
    `${t.token}\n`
  );
}

/** `tpctl agent list`. */
export function agentList(items: readonly Agent[]): string {
  return renderList(
    ['ID', 'SPIFFE ID', 'Cluster', 'Node', 'Method', 'Serial', 'Expires', 'Banned', 'Attested'],
    items.map((a) => [
      a.id,
      a.spiffeId,
      a.clusterId,
      a.nodeName,
      a.method,
      a.serialNumber,
      a.expiresAt,
      a.banned ? 'yes' : 'no',
      a.attestedAt,
    ]),
    { one: 'agent', many: 'agents' },
  );
}

/** `tpctl agent show`. */
export function agentInfo(a: Agent): string {
  return renderKeyValues([
    ['ID', a.id],
    ['SPIFFE ID', a.spiffeId],
    ['Trust domain', a.trustDomainId],
    ['Cluster', `${a.clusterName} (${a.clusterId})`],
    ['Node', a.nodeName],
    ['Method', a.method],
    ['Serial number', a.serialNumber],
    ['Expires', a.expiresAt],
    ['Banned', a.banned ? (a.banReason ? `yes (${a.banReason})` : 'yes') : 'no'],
    ['Attested', a.attestedAt],
  ]);
}

/** `tpctl entry list`. */
export function entryList(items: readonly Entry[]): string {
  return renderList(
    ['ID', 'SPIFFE ID', 'Parent ID', 'Selectors', 'Revision'],
    items.map((e) => [e.id, e.spiffeId, e.parentId, e.selectors.join(','), e.revision]),
    { one: 'entry', many: 'entries' },
  );
}

function ttl(seconds: number | null): Cell {
  return seconds === null || seconds === undefined ? 'default' : `${seconds}s`;
}

function joined(values: readonly string[] | null | undefined): Cell {
  return values === null || values === undefined || values.length === 0 ? null : values.join(', ');
}

/** `tpctl entry show` (and the result of create/update). */
export function entryInfo(e: Entry): string {
  return renderKeyValues([
    ['ID', e.id],
    ['Trust domain', e.trustDomainId],
    ['SPIFFE ID', e.spiffeId],
    ['Parent ID', e.parentId],
    ['Selectors', joined(e.selectors)],
    ['X509-SVID TTL', ttl(e.x509SvidTtl)],
    ['JWT-SVID TTL', ttl(e.jwtSvidTtl)],
    ['DNS names', joined(e.dnsNames)],
    ['Federates with', joined(e.federatesWith)],
    ['Admin', e.admin],
    ['Downstream', e.downstream],
    ['Hint', e.hint],
    ['Expires at', e.expiresAt],
    ['Revision', e.revision],
    ['Created', e.createdAt],
    ['Updated', e.updatedAt],
  ]);
}

/** A freshly created API token: the secret once, with the warning. */
export function createdToken(t: Pick<CreatedToken, 'id' | 'name' | 'expiresAt' | 'token'> & { scopes: readonly string[] }): string {
  return (
    `Token ${t.name} (${t.id}) created.\n` +
    renderKeyValues([
      ['Scopes', t.scopes.join(', ')],
      ['Expires', t.expiresAt ?? 'never'],
    ]) +
    `\n${t.token}\n\n` +
    'Copy this token now: it is not shown again.\n'
  );
}

/** A freshly created organization. */
export function createdOrganization(o: Organization): string {
  return `Organization ${o.name} (${o.id}) created.\n`;
}

/** `tpctl trust-domain deployment keyset list` (and the result of a keyset command). */
export function keysetList(items: readonly Keyset[]): string {
  return renderList(
    ['ID', 'State', 'Key type', 'Not before', 'Not after', 'JWT kid'],
    items.map((k) => [k.id, k.state, k.keyType, k.x509?.notBefore, k.x509?.notAfter, k.jwt?.kid]),
    { one: 'keyset', many: 'keysets' },
  );
}

/** `tpctl config get`: the section's facts, then its spec as YAML. */
export function configSectionInfo(c: ConfigSection): string {
  const spec = stringify(c.spec ?? {}).trimEnd();
  return (
    renderKeyValues([
      ['Target', `${c.targetKind} ${c.targetId}`],
      ['Trust domain', c.trustDomainId],
      ['Section', c.section],
      ['Schema', c.schema],
      ['Version', c.version],
      ['Updated', c.updatedAt],
    ]) +
    'Spec:\n' +
    spec
      .split('\n')
      .map((line) => `  ${line}`)
      .join('\n') +
    '\n'
  );
}

/** The outcome of `tpctl config set`. */
export function configSectionSet(r: ConfigSectionResult): string {
  const what = `Section ${r.section} of ${r.targetKind} ${r.targetId}`;
  if (r.validateOnly) {
    return r.changed
      ? `${what} is valid; nothing was stored (--validate-only). Storing it would make version ${r.version}.\n`
      : `${what} is valid and equals the stored version ${r.version}; nothing was stored (--validate-only).\n`;
  }
  return r.changed
    ? `${what} stored as version ${r.version}.\n`
    : `${what} unchanged (version ${r.version}).\n`;
}
