// The auth service's REST shapes (issue 12 contract), one TypeBox (JSON Schema) value each: the
// auth service validates the exchange body and types its answers with them, the registry (which
// forwards these routes, so clients use one URL) publishes them in its OpenAPI document, and
// tpctl's client types are generated from that document. Plain TypeBox, so this lib stays light.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Text = (description?: string) => Type.String(description === undefined ? {} : { description });
const Time = (description?: string) => Type.String({ description: description ?? 'RFC 3339 time' });
/** One of these strings: a union of literals (checkable with TypeBox's Value, published as anyOf/const). */
const L = Type.Literal;
const Closed = <T extends Record<string, TSchema>>(properties: T, description?: string) =>
  Type.Object(properties, { additionalProperties: false, ...(description === undefined ? {} : { description }) });

/** Body of `POST /api/v1/auth/deployment-credentials`. */
export const ExchangeCredentialBody = Closed({
  assertion: Type.String({ minLength: 1, maxLength: 4096, description: 'EdDSA compact JWS signed with the deployment key (kid tdk-…, iss = sub = tdd-…, aud trustplane-control-plane, ≤ 300 s)' }),
});

/** A deployment key as the auth service shows it: never its private key. */
export const DeploymentKeySchema = Closed({
  id: Text('tdk-…'),
  deploymentId: Text('tdd-…'),
  deploymentName: Text(),
  trustDomainId: Text('td-…'),
  trustDomainName: Text(),
  state: Type.Union([L('active'), L('disabled')]),
  fingerprint: Text('lowercase hex SHA-256 of the public key (SubjectPublicKeyInfo DER)'),
  publicKeyPem: Text('the Ed25519 public key, SPKI PEM'),
  createdAt: Time(),
  updatedAt: Time(),
  lastUsedAt: Nullable(Time('last successful credential exchange with the key; null if never used')),
});
export type DeploymentKeyView = Static<typeof DeploymentKeySchema>;

/** A key as created: the one answer that carries its private half. */
export const NewDeploymentKeySchema = Closed(
  { ...DeploymentKeySchema.properties, privateKeyPem: Text('Ed25519 private key, PKCS#8 PEM; shown once, never stored') },
  'A created deployment key with its private key (shown once: a keyed retry is 409 SECRET_SHOWN_ONCE)',
);
export type NewDeploymentKeyView = Static<typeof NewDeploymentKeySchema>;

/** Answer of the credential exchange. */
export const DeploymentCredentialSchema = Closed({
  credential: Text('control-plane credential: a JWT (iss = aud = trustplane-control-plane, sub tdd-…, ≤ 24 h) to send as Bearer'),
  expiresAt: Time(),
  deploymentId: Text('tdd-…'),
  trustDomainId: Text('td-…'),
  organizationId: Text('t-…'),
});
export type DeploymentCredentialView = Static<typeof DeploymentCredentialSchema>;

/** The control-plane credentials' verification keys. */
export const CredentialJwksSchema = Type.Object(
  { keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) },
  { description: 'JWK set of the keys control-plane credentials are signed with (each with kid and alg)' },
);

/** One record of an organization's audit chain. */
export const AuditRecordSchema = Closed({
  seq: Type.Integer({ description: 'position in the organization chain, from 1' }),
  id: Text('record id (UUIDv7)'),
  service: Text('the service that handled the command'),
  organizationId: Text('t-…'),
  actor: Closed({ kind: Type.Union([L('token'), L('deployment-key')]), id: Text('tok-… or tdk-…') }),
  action: Text('method and route, e.g. POST /api/v1/trust-domains/:td/deployments'),
  resource: Text('the request path'),
  outcome: Type.Union([L('succeeded'), L('refused'), L('failed')]),
  status: Type.Integer({ description: 'HTTP status answered' }),
  code: Nullable(Text('problem code of a refusal or failure')),
  occurredAt: Time(),
  prevHash: Text('hash of the record before'),
  hash: Text('SHA-256 (hex) of prevHash ‖ canonical JSON of the record'),
  recordedAt: Time(),
});

/** Answer of `POST /api/v1/audit/verify`. */
export const AuditVerdictSchema = Closed({
  ok: Type.Boolean(),
  checked: Type.Integer({ description: 'records checked' }),
  firstBadSeq: Type.Optional(Type.Integer({ description: 'the first position that does not verify' })),
  reason: Type.Optional(Type.Union([L('RECORD_EDITED'), L('SEQUENCE_BROKEN'), L('LINK_BROKEN'), L('TAIL_MISSING'), L('ANCHOR_MISMATCH')])),
  anchoredSeq: Type.Integer({ description: 'newest anchored position checked against' }),
});

/** Answer of `POST /api/v1/audit/anchor`. */
export const AuditAnchorSchema = Closed({
  anchored: Nullable(Closed({ seq: Type.Integer(), hash: Text() })),
});

/** Query of `GET /api/v1/audit`. */
export const AuditQuerySchema = Closed({
  actor: Type.Optional(Type.String({ pattern: '^tok-[0-9a-z]{10}$|^tdk-[0-9a-z]{10}$', description: 'token id (tok-…) or deployment key id (tdk-…)' })),
  resource: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'exact request path' })),
  since: Type.Optional(Type.String({ maxLength: 40, description: 'ISO-8601 time' })),
  until: Type.Optional(Type.String({ maxLength: 40, description: 'ISO-8601 time' })),
  after: Type.Optional(Type.String({ pattern: '^\\d{1,12}$', description: 'seq of the last record of the previous page' })),
  limit: Type.Optional(Type.String({ pattern: '^\\d{1,4}$', description: '1–1000, default 200' })),
});

/** The auth service's shapes, by OpenAPI component name. */
export const AUTH_RESPONSE_SCHEMAS = {
  DeploymentKey: DeploymentKeySchema,
  NewDeploymentKey: NewDeploymentKeySchema,
  DeploymentCredential: DeploymentCredentialSchema,
  CredentialJwks: CredentialJwksSchema,
  AuditRecord: AuditRecordSchema,
  AuditVerdict: AuditVerdictSchema,
  AuditAnchor: AuditAnchorSchema,
} as const;
