// Human renderings of the API resources (pure; exact text is unit-tested).
import { stringify } from 'yaml';
import { renderKeyValues, renderList, type Cell } from './format.js';
import type {
  Agent,
  Cluster,
  ClusterKey,
  CreatedJoinToken,
  ConfigSection,
  ConfigSectionResult,
  CreatedToken,
  Deployment,
  Entry,
  Keyset,
  Organization,
  TrustDomain,
} from './types.js';

/** Number of deployments whether the server sent a count or the deployments themselves. */
export function deploymentCount(trustDomain: TrustDomain): number {
  return Array.isArray(trustDomain.deployments)
    ? trustDomain.deployments.length
    : trustDomain.deployments;
}

/**
 * The deployments sent with `showDeployments=true`, or null. docs/api.md puts them in
 * `deployments`; the registry sends them in `deploymentList` next to the count. Both are read.
 */
export function shownDeployments(trustDomain: TrustDomain): Deployment[] | null {
  if (Array.isArray(trustDomain.deployments)) return trustDomain.deployments;
  return Array.isArray(trustDomain.deploymentList) ? trustDomain.deploymentList : null;
}

/** `tpctl trust-domain list`. */
export function trustDomainList(items: readonly TrustDomain[]): string {
  return renderList(
    ['Name', 'ID', 'State', 'Managed', 'Clusters', 'Federations'],
    items.map((td) => [
      td.name,
      td.id,
      td.status,
      td.kind === 'managed',
      td.clusters,
      td.federations,
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
    ['Agent endpoint', shown.agent],
    ['Bundle endpoint', shown.bundle],
    ['JWT issuer', shown.jwtIssuer],
    ['JWKS endpoint', shown.jwks],
    ['OIDC discovery endpoint', shown.oidcDiscovery],
  ];
  return lines.filter((line): line is [string, string] => typeof line[1] === 'string' && line[1] !== '');
}

/** `tpctl trust-domain info`: aligned key/values, then the deployments table when they were asked for. */
export function trustDomainInfo(td: TrustDomain): string {
  let text = renderKeyValues([
    ['Name', td.name],
    ['ID', td.id],
    ['Description', td.description],
    ['Kind', td.kind],
    ['State', td.status],
    ['Created', td.createdAt],
    ['Updated', td.updatedAt],
    ...endpointLines(td.endpoints),
    ['Clusters', td.clusters],
    ['Deployments', deploymentCount(td)],
  ]);
  const deployments = shownDeployments(td);
  if (deployments !== null) text += '\nDeployments:\n' + deploymentList(deployments);
  return text;
}

/** `tpctl trust-domain deployment list`. */
export function deploymentList(items: readonly Deployment[]): string {
  return renderList(
    ['Name', 'ID', 'Region', 'Active keys', 'Created'],
    items.map((d) => [d.name, d.id, d.region, d.activeKeys, d.createdAt]),
    { one: 'deployment', many: 'deployments' },
  );
}

/** One deployment as key/values (after `deployment create`). */
export function deploymentInfo(d: Deployment): string {
  return renderKeyValues([
    ['Name', d.name],
    ['ID', d.id],
    ['Trust domain', d.trustDomainId],
    ['Region', d.region],
    ['Active keys', d.activeKeys],
    ['Created', d.createdAt],
  ]);
}

/** `tpctl cluster list`. */
export function clusterList(items: readonly Cluster[]): string {
  return renderList(
    ['Name', 'ID', 'Platform', 'Status', 'Config versions', 'Created'],
    items.map((c) => [
      c.name,
      c.id,
      c.platform,
      c.status,
      c.configVersions?.length ?? 0,
      c.createdAt,
    ]),
    { one: 'cluster', many: 'clusters' },
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
export function createdToken(t: CreatedToken): string {
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
