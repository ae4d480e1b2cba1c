import { createHash, createPublicKey } from 'node:crypto';
import { validateCaCertificate } from '@trustplane/crypto';
import type { ReportedAgent, ReportedKeyset, ReportedKeysetState, ReportedStatus } from '@trustplane/events';
import { ProblemError, type FieldProblem } from '@trustplane/platform';
import { isAgentId } from '@trustplane/registry-domain';
import { checkJsonText, parseSpiffeId } from '@trustplane/spiffe';

/** A validated report of a self-hosted signer. */
export interface ValidatedReport {
  readonly appliedPosition: number;
  readonly keysets: readonly ReportedKeyset[];
  readonly agents: readonly ReportedAgent[];
  readonly status: ReportedStatus;
  /** sha256 hex of the canonical keysets, agents and status. */
  readonly digest: string;
}

/** Bounds of a report (the request body limit applies too). */
export const REPORT_LIMITS = { keysets: 16, x509PerKeyset: 4, jwtPerKeyset: 4, certificateBase64: 8192, agents: 1000, detail: 512 } as const;

const KEYSET_STATES: readonly ReportedKeysetState[] = ['prepared', 'active', 'old', 'tainted', 'revoked', 'dropped'];
const KEYSET_ID = /^[A-Za-z0-9_-]{1,64}$/;
const KID = /^[A-Za-z0-9._~-]{1,128}$/;
const CLUSTER_ID = /^c-[a-z0-9]{10}$/;
const NODE_NAME = /^[A-Za-z0-9._-]{1,253}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** JWK members that only a private (or symmetric) key has: a report carrying one is refused. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const PUBLIC_JWK_MEMBERS = new Set(['kty', 'crv', 'x', 'y', 'n', 'e', 'alg', 'use', 'kid']);

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isInstant = (value: unknown): value is string => typeof value === 'string' && value.length <= 40 && !Number.isNaN(Date.parse(value));

/**
 * Validates a report against the reporting deployment's trust domain: every X.509 authority
 * must be a CA certificate of exactly `spiffe://<trustDomain>` (TrustPlane's CA profile), every
 * JWT authority a public JWK (private members refused), every agent an agent of this trust
 * domain. Throws a 400 problem naming each bad field; nothing is appended then.
 */
export function validateReport(body: unknown, trustDomain: string): ValidatedReport {
  const problems: FieldProblem[] = [];
  const problem = (field: string, code: string, message: string): void => void problems.push({ field, code, message });
  if (!isObject(body)) throw new ProblemError(400, 'REPORT_INVALID', 'the report must be a JSON object');
  // Every string of the document first: no NUL, control or bidi characters, lone surrogates, non-characters.
  const text = checkJsonText(body, { maxDepth: 8, key: { maxLength: 64, minLength: 1 }, value: { maxLength: REPORT_LIMITS.certificateBase64 } });
  if (!text.ok) throw new ProblemError(400, 'REPORT_INVALID', 'the report holds text no field may hold', [{ field: text.error.path, code: text.error.code, message: text.error.message }]);
  for (const key of Object.keys(body)) {
    if (!['appliedPosition', 'keysets', 'agents', 'status'].includes(key)) problem(key, 'UNKNOWN_FIELD', `unknown field ${key}`);
  }
  const appliedPosition = body['appliedPosition'];
  if (typeof appliedPosition !== 'number' || !Number.isSafeInteger(appliedPosition) || appliedPosition < 0) {
    problem('appliedPosition', 'INVALID', 'appliedPosition must be a whole number ≥ 0');
  }
  const keysets: ReportedKeyset[] = [];
  const rawKeysets = body['keysets'];
  if (!Array.isArray(rawKeysets) || rawKeysets.length > REPORT_LIMITS.keysets) {
    problem('keysets', 'INVALID', `keysets must be an array of at most ${REPORT_LIMITS.keysets}`);
  } else {
    rawKeysets.forEach((raw: unknown, i) => {
      const at = `keysets[${i}]`;
      const keyset = keysetOf(raw, at, trustDomain, problem);
      if (keyset !== undefined) keysets.push(keyset);
    });
    const ids = keysets.map((k) => k.keysetId);
    if (new Set(ids).size !== ids.length) problem('keysets', 'DUPLICATE', 'keyset ids must be unique');
  }
  const agents: ReportedAgent[] = [];
  const rawAgents = body['agents'];
  if (!Array.isArray(rawAgents) || rawAgents.length > REPORT_LIMITS.agents) {
    problem('agents', 'INVALID', `agents must be an array of at most ${REPORT_LIMITS.agents}`);
  } else {
    rawAgents.forEach((raw: unknown, i) => {
      const agent = agentOf(raw, `agents[${i}]`, trustDomain, problem);
      if (agent !== undefined) agents.push(agent);
    });
  }
  const rawStatus = body['status'];
  let status: ReportedStatus | undefined;
  if (
    !isObject(rawStatus) ||
    Object.keys(rawStatus).some((k) => k !== 'state' && k !== 'detail') ||
    (rawStatus['state'] !== 'serving' && rawStatus['state'] !== 'degraded') ||
    typeof rawStatus['detail'] !== 'string' ||
    rawStatus['detail'].length > REPORT_LIMITS.detail
  ) {
    problem('status', 'INVALID', `status must be {state: serving|degraded, detail: string ≤ ${REPORT_LIMITS.detail}}`);
  } else {
    status = { state: rawStatus['state'], detail: rawStatus['detail'] };
  }
  if (problems.length > 0 || status === undefined) throw new ProblemError(400, 'REPORT_INVALID', 'the report is not valid', problems);
  const canonical = JSON.stringify({ keysets, agents, status });
  return { appliedPosition: appliedPosition as number, keysets, agents, status, digest: createHash('sha256').update(canonical).digest('hex') };
}

function keysetOf(raw: unknown, at: string, trustDomain: string, problem: (field: string, code: string, message: string) => void): ReportedKeyset | undefined {
  if (!isObject(raw)) return void problem(at, 'INVALID', 'a keyset must be an object');
  const { keysetId, state, x509Authorities, jwtAuthorities, notAfter, ...rest } = raw;
  if (Object.keys(rest).length > 0) return void problem(at, 'UNKNOWN_FIELD', `unknown fields ${Object.keys(rest).join(', ')}`);
  if (typeof keysetId !== 'string' || !KEYSET_ID.test(keysetId)) return void problem(`${at}.keysetId`, 'INVALID', 'keysetId must be 1–64 of A-Z a-z 0-9 _ -');
  if (!KEYSET_STATES.includes(state as ReportedKeysetState)) return void problem(`${at}.state`, 'INVALID', `state must be one of ${KEYSET_STATES.join(', ')}`);
  if (!isInstant(notAfter)) return void problem(`${at}.notAfter`, 'INVALID', 'notAfter must be an ISO-8601 instant');
  if (!Array.isArray(x509Authorities) || x509Authorities.length < 1 || x509Authorities.length > REPORT_LIMITS.x509PerKeyset) {
    return void problem(`${at}.x509Authorities`, 'INVALID', `x509Authorities must hold 1–${REPORT_LIMITS.x509PerKeyset} certificates`);
  }
  const certificates: string[] = [];
  for (const [j, cert] of x509Authorities.entries()) {
    const field = `${at}.x509Authorities[${j}]`;
    if (typeof cert !== 'string' || cert.length > REPORT_LIMITS.certificateBase64 || !BASE64.test(cert)) return void problem(field, 'INVALID', 'must be a base64 DER certificate');
    try {
      validateCaCertificate(Buffer.from(cert, 'base64'), { trustDomain });
    } catch (error) {
      return void problem(field, 'AUTHORITY_INVALID', `not a CA certificate of ${trustDomain}: ${error instanceof Error ? error.message : String(error)}`);
    }
    certificates.push(cert);
  }
  if (!Array.isArray(jwtAuthorities) || jwtAuthorities.length > REPORT_LIMITS.jwtPerKeyset) {
    return void problem(`${at}.jwtAuthorities`, 'INVALID', `jwtAuthorities must hold at most ${REPORT_LIMITS.jwtPerKeyset} keys`);
  }
  const jwts: { kid: string; publicKeyJwk: Record<string, string> }[] = [];
  for (const [j, jwt] of jwtAuthorities.entries()) {
    const field = `${at}.jwtAuthorities[${j}]`;
    if (!isObject(jwt) || typeof jwt['kid'] !== 'string' || !KID.test(jwt['kid']) || !isObject(jwt['publicKeyJwk'])) {
      return void problem(field, 'INVALID', 'must be {kid, publicKeyJwk}');
    }
    const jwk = jwt['publicKeyJwk'];
    if (PRIVATE_JWK_MEMBERS.some((m) => m in jwk)) return void problem(`${field}.publicKeyJwk`, 'PRIVATE_KEY_REFUSED', 'a JWK with private key members is refused');
    if (Object.entries(jwk).some(([k, v]) => !PUBLIC_JWK_MEMBERS.has(k) || typeof v !== 'string' || v.length > 1024)) {
      return void problem(`${field}.publicKeyJwk`, 'INVALID', 'only public JWK members (kty, crv, x, y, n, e, alg, use, kid) are accepted');
    }
    try {
      const key = createPublicKey({ key: jwk as never, format: 'jwk' });
      if (key.type !== 'public' || (key.asymmetricKeyType !== 'ec' && key.asymmetricKeyType !== 'rsa')) throw new Error('not an EC or RSA public key');
    } catch (error) {
      return void problem(`${field}.publicKeyJwk`, 'INVALID', `not a usable public key: ${error instanceof Error ? error.message : String(error)}`);
    }
    jwts.push({ kid: jwt['kid'], publicKeyJwk: jwk as Record<string, string> });
  }
  return { keysetId, state: state as ReportedKeysetState, x509Authorities: certificates, jwtAuthorities: jwts, notAfter: new Date(notAfter).toISOString() };
}

function agentOf(raw: unknown, at: string, trustDomain: string, problem: (field: string, code: string, message: string) => void): ReportedAgent | undefined {
  if (!isObject(raw)) return void problem(at, 'INVALID', 'an agent must be an object');
  const { agentId, spiffeId, clusterId, nodeName, expiresAt, banned, ...rest } = raw;
  if (Object.keys(rest).length > 0) return void problem(at, 'UNKNOWN_FIELD', `unknown fields ${Object.keys(rest).join(', ')}`);
  if (typeof agentId !== 'string' || !isAgentId(agentId)) return void problem(`${at}.agentId`, 'INVALID', 'agentId must be an ag-… id');
  const parsed = typeof spiffeId === 'string' ? parseSpiffeId(spiffeId) : undefined;
  if (typeof spiffeId !== 'string' || parsed === undefined || !parsed.ok || parsed.value.trustDomain !== trustDomain || !spiffeId.startsWith(`spiffe://${trustDomain}/agent/`)) {
    return void problem(`${at}.spiffeId`, 'INVALID', `spiffeId must be an agent ID in spiffe://${trustDomain}`);
  }
  if (typeof clusterId !== 'string' || !CLUSTER_ID.test(clusterId)) return void problem(`${at}.clusterId`, 'INVALID', 'clusterId must be a c-… id');
  if (typeof nodeName !== 'string' || !NODE_NAME.test(nodeName)) return void problem(`${at}.nodeName`, 'INVALID', 'nodeName is not a node name');
  if (!isInstant(expiresAt)) return void problem(`${at}.expiresAt`, 'INVALID', 'expiresAt must be an ISO-8601 instant');
  if (typeof banned !== 'boolean') return void problem(`${at}.banned`, 'INVALID', 'banned must be a boolean');
  return { agentId, spiffeId, clusterId, nodeName, expiresAt: new Date(expiresAt).toISOString(), banned };
}
