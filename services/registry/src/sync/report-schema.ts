// The self-hosted signer's report and the sync stream's messages: one schema each, used to
// validate the report (report.ts) and published as-is in the OpenAPI document (openapi.ts).
import { Bool, Enum, Int, List, Obj, Str, Type } from '@trustplane/platform';

/** Bounds of a report (the request body limit applies too). */
export const REPORT_LIMITS = { keysets: 16, x509PerKeyset: 4, jwtPerKeyset: 4, certificateBase64: 8192, agents: 1000, detail: 512, jwkMember: 1024 } as const;

/** Keyset states a self-hosted signer may report. */
export const REPORTED_KEYSET_STATES = ['prepared', 'active', 'old', 'tainted', 'revoked', 'dropped'] as const;

const instant = (description: string) => Str({ max: 40, description: `${description} (ISO-8601 instant)` });

/** One CA keyset of the reporting deployment: its X.509 authorities and JWT keys, public only. */
export const ReportedKeysetSchema = Obj({
  keysetId: Str({ max: 64, pattern: /^[A-Za-z0-9_-]{1,64}$/, patternHint: 'must be 1–64 of A-Z a-z 0-9 _ -' }),
  state: Enum(REPORTED_KEYSET_STATES),
  x509Authorities: List(Str({ max: REPORT_LIMITS.certificateBase64, pattern: /^[A-Za-z0-9+/]+={0,2}$/, patternHint: 'must be a base64 DER certificate', description: 'CA certificate, DER base64' }), { min: 1, max: REPORT_LIMITS.x509PerKeyset }),
  jwtAuthorities: List(
    Obj({
      kid: Str({ max: 128, pattern: /^[A-Za-z0-9._~-]{1,128}$/, patternHint: 'must be 1–128 of A-Z a-z 0-9 . _ ~ -' }),
      publicKeyJwk: Type.Record(Type.String(), Type.String({ maxLength: REPORT_LIMITS.jwkMember }), { description: 'public members only: kty, crv, x, y, n, e, alg, use, kid' }),
    }),
    { max: REPORT_LIMITS.jwtPerKeyset },
  ),
  notAfter: instant('when the CA certificate expires'),
});

/** One agent attested to the reporting deployment. */
export const ReportedAgentSchema = Obj({
  agentId: Str({ max: 13, pattern: /^ag-[0-9a-z]{10}$/, patternHint: 'must be an agent id (ag-…)' }),
  spiffeId: Str({ max: 2048, description: 'spiffe://<trust domain>/agent/…' }),
  clusterId: Str({ max: 12, pattern: /^c-[a-z0-9]{10}$/, patternHint: 'must be a cluster id (c-…)' }),
  nodeName: Str({ max: 253, pattern: /^[A-Za-z0-9._-]{1,253}$/, patternHint: 'is not a node name' }),
  expiresAt: instant('when its agent SVID expires'),
  banned: Bool(),
});

/** What a self-hosted signer reports back: position applied, CA keysets, agents, status. */
export const SyncReportBody = Obj({
  appliedPosition: Int({ min: 0, max: Number.MAX_SAFE_INTEGER, description: 'the last sync position the deployment applied' }),
  keysets: List(ReportedKeysetSchema, { max: REPORT_LIMITS.keysets }),
  agents: List(ReportedAgentSchema, { max: REPORT_LIMITS.agents }),
  status: Obj({ state: Enum(['serving', 'degraded'] as const), detail: Str({ min: 0, max: REPORT_LIMITS.detail }) }),
});

/** One line of the sync stream (NDJSON). */
export const SyncMessageSchema = Type.Object(
  {
    type: Enum(['state', 'heartbeat', 'end'] as const),
    position: Type.Optional(Type.Integer({ minimum: 0 })),
    state: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'the complete current state (type state)' })),
    reason: Type.Optional(Type.String({ description: 'why the stream ends (type end)' })),
  },
  { additionalProperties: false },
);
