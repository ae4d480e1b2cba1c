import { createHash, createPublicKey } from 'node:crypto';
import { validateCaCertificate } from '@trustplane/crypto';
import type { ReportedAgent, ReportedKeyset } from '@trustplane/events';
import { parseRequest, ProblemError, type FieldProblem, type Static } from '@trustplane/platform';
import { checkJsonText, parseSpiffeId } from '@trustplane/spiffe';
import { REPORT_LIMITS, SyncReportBody, type ReportedAgentSchema, type ReportedKeysetSchema } from './report-schema.js';

export { REPORT_LIMITS } from './report-schema.js';

/** A validated report of a self-hosted signer. */
export interface ValidatedReport {
  readonly appliedPosition: number;
  readonly keysets: readonly ReportedKeyset[];
  readonly agents: readonly ReportedAgent[];
  readonly status: Static<typeof SyncReportBody>['status'];
  /** sha256 hex of the canonical keysets, agents and status. */
  readonly digest: string;
}

/** JWK members that only a private (or symmetric) key has: a report carrying one is refused. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const PUBLIC_JWK_MEMBERS = new Set(['kty', 'crv', 'x', 'y', 'n', 'e', 'alg', 'use', 'kid']);

type Problem = (field: string, code: string, message: string) => void;
const isInstant = (value: string): boolean => !Number.isNaN(Date.parse(value));

/**
 * Validates a report against the reporting deployment's trust domain. The shape comes from
 * SyncReportBody (the schema the OpenAPI document publishes); on top of it every X.509 authority
 * must be a CA certificate of exactly `spiffe://<trustDomain>` (TrustPlane's CA profile), every
 * JWT authority a public JWK (private members refused), every agent an agent of this trust
 * domain. Throws a 400 REPORT_INVALID problem naming each bad field; nothing is appended then.
 */
export function validateReport(body: unknown, trustDomain: string): ValidatedReport {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ProblemError(400, 'REPORT_INVALID', 'the report must be a JSON object');
  // Every string of the document first: no NUL, control or bidi characters, lone surrogates, non-characters.
  const text = checkJsonText(body, { maxDepth: 8, key: { maxLength: 64, minLength: 1 }, value: { maxLength: REPORT_LIMITS.certificateBase64 } });
  if (!text.ok) throw new ProblemError(400, 'REPORT_INVALID', 'the report holds text no field may hold', [{ field: text.error.path, code: text.error.code, message: text.error.message }]);
  const report = shapeOf(body);
  const problems: FieldProblem[] = [];
  const problem: Problem = (field, code, message) => void problems.push({ field, code, message });
  const keysets = report.keysets.flatMap((keyset, i) => keysetOf(keyset, `keysets[${i}]`, trustDomain, problem) ?? []);
  const ids = report.keysets.map((k) => k.keysetId);
  if (new Set(ids).size !== ids.length) problem('keysets', 'DUPLICATE', 'keyset ids must be unique');
  const agents = report.agents.flatMap((agent, i) => agentOf(agent, `agents[${i}]`, trustDomain, problem) ?? []);
  if (problems.length > 0) throw new ProblemError(400, 'REPORT_INVALID', 'the report is not valid', problems);
  const status = { state: report.status.state, detail: report.status.detail };
  const canonical = JSON.stringify({ keysets, agents, status });
  return { appliedPosition: report.appliedPosition, keysets, agents, status, digest: createHash('sha256').update(canonical).digest('hex') };
}

/** The report's shape by its schema; the schema's field problems under REPORT_INVALID. */
function shapeOf(body: unknown): Static<typeof SyncReportBody> {
  try {
    return parseRequest(SyncReportBody, body);
  } catch (error) {
    if (error instanceof ProblemError) throw new ProblemError(400, 'REPORT_INVALID', 'the report is not valid', error.errors);
    throw error;
  }
}

function keysetOf(raw: Static<typeof ReportedKeysetSchema>, at: string, trustDomain: string, problem: Problem): ReportedKeyset | undefined {
  if (!isInstant(raw.notAfter)) return void problem(`${at}.notAfter`, 'INVALID', 'notAfter must be an ISO-8601 instant');
  for (const [j, cert] of raw.x509Authorities.entries()) {
    try {
      validateCaCertificate(Buffer.from(cert, 'base64'), { trustDomain });
    } catch (error) {
      return void problem(`${at}.x509Authorities[${j}]`, 'AUTHORITY_INVALID', `not a CA certificate of ${trustDomain}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  for (const [j, jwt] of raw.jwtAuthorities.entries()) {
    const field = `${at}.jwtAuthorities[${j}].publicKeyJwk`;
    const jwk = jwt.publicKeyJwk;
    if (PRIVATE_JWK_MEMBERS.some((m) => m in jwk)) return void problem(field, 'PRIVATE_KEY_REFUSED', 'a JWK with private key members is refused');
    if (Object.entries(jwk).some(([k, v]) => !PUBLIC_JWK_MEMBERS.has(k) || typeof v !== 'string' || v.length > REPORT_LIMITS.jwkMember)) {
      return void problem(field, 'INVALID', 'only public JWK members (kty, crv, x, y, n, e, alg, use, kid) are accepted');
    }
    try {
      const key = createPublicKey({ key: jwk as never, format: 'jwk' });
      if (key.type !== 'public' || (key.asymmetricKeyType !== 'ec' && key.asymmetricKeyType !== 'rsa')) throw new Error('not an EC or RSA public key');
    } catch (error) {
      return void problem(field, 'INVALID', `not a usable public key: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return {
    keysetId: raw.keysetId,
    state: raw.state,
    x509Authorities: [...raw.x509Authorities],
    jwtAuthorities: raw.jwtAuthorities.map((jwt) => ({ kid: jwt.kid, publicKeyJwk: { ...jwt.publicKeyJwk } })),
    notAfter: new Date(raw.notAfter).toISOString(),
  };
}

function agentOf(raw: Static<typeof ReportedAgentSchema>, at: string, trustDomain: string, problem: Problem): ReportedAgent | undefined {
  const parsed = parseSpiffeId(raw.spiffeId);
  if (!parsed.ok || parsed.value.trustDomain !== trustDomain || !raw.spiffeId.startsWith(`spiffe://${trustDomain}/agent/`)) {
    return void problem(`${at}.spiffeId`, 'INVALID', `spiffeId must be an agent ID in spiffe://${trustDomain}`);
  }
  if (!isInstant(raw.expiresAt)) return void problem(`${at}.expiresAt`, 'INVALID', 'expiresAt must be an ISO-8601 instant');
  return { agentId: raw.agentId, spiffeId: raw.spiffeId, clusterId: raw.clusterId, nodeName: raw.nodeName, expiresAt: new Date(raw.expiresAt).toISOString(), banned: raw.banned };
}
