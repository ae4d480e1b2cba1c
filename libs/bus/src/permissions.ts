import { aggregatesWrittenBy } from '@trustplane/events';
import {
  AUDIT_CHAIN_CONSUMER,
  auditStreamName,
  credentialsEnvPrefix,
  inboxPrefixFor,
  projectionConsumerName,
  rebuildConsumerName,
} from './naming.js';
import { BUS_USER_NAMES, BUS_USERS, type BusUserSpec } from './users.js';

/** Subjects a user may (allow) and may never (deny) use; deny wins. */
export interface SubjectRules {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

/** A NATS user's `permissions` block (nats-server configuration, same field names). */
export interface NatsUserPermissions {
  readonly publish: SubjectRules;
  readonly subscribe: SubjectRules;
  /** May publish one reply to the reply subject of each request it received. */
  readonly allow_responses: boolean;
}

/**
 * The event log a set of permissions is for: the first subject token and the stream name.
 * Concrete values in production; a wildcard token `*` for a shared test server on which every
 * test file has its own prefix and stream; placeholders in the generated document.
 */
export interface BusScope {
  readonly prefix: string;
  readonly stream: string;
}

/** The placeholders of the generated document, replaced by whoever renders it. */
export const PLACEHOLDER_SCOPE: BusScope = { prefix: '{prefix}', stream: '{stream}' };

/** A wildcard token in place of the prefix and the stream (the shared test server). */
export const WILDCARD_SCOPE: BusScope = { prefix: '*', stream: '*' };

const api = (operation: string): string => `$JS.API.${operation}`;

/**
 * What no user but the admin may ever do to the stream, denied explicitly on top of not being
 * allowed: deleting or purging it or its messages, and updating it (a shorter max_age or a
 * smaller max_msgs would erase history just as well).
 */
const NEVER_BUT_ADMIN = [
  api('STREAM.DELETE.>'),
  api('STREAM.PURGE.>'),
  api('STREAM.MSG.DELETE.>'),
  api('STREAM.UPDATE.>'),
  api('STREAM.RESTORE.>'),
  api('STREAM.PEER.REMOVE.>'),
];

/** Reading the stream's state and single messages by subject (aggregate loads). */
function streamReads(scope: BusScope): string[] {
  return [api('INFO'), api(`STREAM.INFO.${scope.stream}`), api(`STREAM.MSG.GET.${scope.stream}`)];
}

/** Creating, inspecting, pulling from, acknowledging and removing one named consumer. */
function consumerRights(scope: BusScope, consumer: string): string[] {
  const s = scope.stream;
  return [
    api(`CONSUMER.CREATE.${s}.${consumer}`),
    // nats.js appends the filter subject to the create subject.
    api(`CONSUMER.CREATE.${s}.${consumer}.>`),
    api(`CONSUMER.INFO.${s}.${consumer}`),
    api(`CONSUMER.DELETE.${s}.${consumer}`),
    api(`CONSUMER.MSG.NEXT.${s}.${consumer}`),
    `$JS.ACK.${s}.${consumer}.>`,
  ];
}

/**
 * A projection runner's own consumers: ordered, unacknowledged, named by the client at random
 * (`proj_<projection>_<random>_<n>`), created only over every event of the log. Creating one
 * reads nothing the user could not read message by message already.
 */
function runnerConsumerRights(scope: BusScope): string[] {
  const s = scope.stream;
  return [
    api(`CONSUMER.CREATE.${s}.*.${scope.prefix}.evt.>`),
    api(`CONSUMER.INFO.${s}.*`),
    api(`CONSUMER.MSG.NEXT.${s}.*`),
  ];
}

/** The named consumers of the services that `spec` is not: denied to it explicitly. */
function otherServicesConsumers(scope: BusScope, spec: BusUserSpec): string[] {
  const own = new Set(
    (spec.projections ?? []).flatMap((projection) => [
      projectionConsumerName(projection),
      rebuildConsumerName(projection),
    ]),
  );
  return serviceConsumers()
    .filter((consumer) => !own.has(consumer))
    .flatMap((consumer) => protectedConsumerSubjects(scope, consumer));
}

/** Every API subject that names `consumer`, and its acknowledgements. */
function protectedConsumerSubjects(scope: BusScope, consumer: string): string[] {
  const s = scope.stream;
  return [
    api(`CONSUMER.*.${s}.${consumer}`),
    api(`CONSUMER.*.${s}.${consumer}.>`),
    api(`CONSUMER.*.*.${s}.${consumer}`),
    `$JS.ACK.${s}.${consumer}.>`,
  ];
}

/** The consumers of every service: no other user may pull from, ack on or remove them. */
function serviceConsumers(): string[] {
  return Object.values(BUS_USERS).flatMap((spec: BusUserSpec) =>
    (spec.projections ?? []).flatMap((projection) => [
      projectionConsumerName(projection),
      rebuildConsumerName(projection),
    ]),
  );
}

/**
 * Audit records: a publisher may publish its own service's subjects of the audit stream (and
 * read the stream's info to know it is there); the keeper of the chain creates that stream and
 * pulls from it with the audit consumer. Nobody but the admin deletes or purges it.
 */
function auditRights(spec: BusUserSpec, scope: BusScope): string[] {
  const stream = auditStreamName(scope.stream);
  const publish = spec.publishesAudit === undefined ? [] : [`${scope.prefix}.audit.${spec.publishesAudit}.*`, api(`STREAM.INFO.${stream}`)];
  const keep = spec.keepsAuditChain === true ? [api(`STREAM.CREATE.${stream}`), ...consumerRights({ ...scope, stream }, AUDIT_CHAIN_CONSUMER)] : [];
  return [...publish, ...keep];
}

function servicePermissions(spec: BusUserSpec, scope: BusScope): NatsUserPermissions {
  const events =
    spec.emits === undefined
      ? []
      : aggregatesWrittenBy(spec.emits).map((type) => `${scope.prefix}.evt.*.${type}.*`);
  const requests = (spec.requests ?? []).map((request) => `${scope.prefix}.cmd.${request}`);
  const consumers = (spec.projections ?? []).flatMap((projection) => [
    ...consumerRights(scope, projectionConsumerName(projection)),
    ...consumerRights(scope, rebuildConsumerName(projection)),
  ]);
  const runners = spec.projections === undefined ? [] : runnerConsumerRights(scope);
  const create = spec.createsStream === true ? [api(`STREAM.CREATE.${scope.stream}`)] : [];
  const audit = auditRights(spec, scope);
  const served =
    spec.serves === undefined ? [] : [`${scope.prefix}.cmd.${spec.serves}.> ${spec.serves}`];
  return {
    publish: {
      allow: [...events, ...requests, ...streamReads(scope), ...create, ...consumers, ...runners, ...audit],
      deny: [...NEVER_BUT_ADMIN, ...otherServicesConsumers(scope, spec)],
    },
    subscribe: { allow: [`${inboxPrefixFor(spec.user)}.>`, ...served], deny: [] },
    allow_responses: spec.serves !== undefined,
  };
}

function readerPermissions(spec: BusUserSpec, scope: BusScope): NatsUserPermissions {
  const protectedConsumers = serviceConsumers().flatMap((consumer) =>
    protectedConsumerSubjects(scope, consumer),
  );
  return {
    publish: {
      allow: [...streamReads(scope), ...consumerRights(scope, '*')],
      deny: [
        ...NEVER_BUT_ADMIN,
        `${scope.prefix}.evt.>`,
        `${scope.prefix}.cmd.>`,
        ...protectedConsumers,
      ],
    },
    subscribe: { allow: [`${inboxPrefixFor(spec.user)}.>`], deny: [] },
    allow_responses: false,
  };
}

/** A user's permissions on the given event log; undefined for the admin (every right). */
export function permissionsOf(spec: BusUserSpec, scope: BusScope): NatsUserPermissions | undefined {
  switch (spec.role) {
    case 'service':
      return servicePermissions(spec, scope);
    case 'reader':
      return readerPermissions(spec, scope);
    case 'admin':
      return undefined;
  }
}

/** One user in the generated document. */
export interface BusUserEntry {
  /** Key in BUS_USERS (`registry`, …). */
  readonly name: string;
  /** NATS user name. */
  readonly user: string;
  readonly role: BusUserSpec['role'];
  /** Prefix of the variables holding its credentials (`<prefix>_USER`, `<prefix>_PASSWORD`). */
  readonly credentialsEnv: string;
  /** Its private inbox prefix (the nats.js `inboxPrefix` option). */
  readonly inboxPrefix: string;
  /** Its permissions with placeholders; null for the admin (no restrictions). */
  readonly permissions: NatsUserPermissions | null;
}

/** The generated, checked-in description of every bus user (`infra/nats/permissions.json`). */
export interface BusPermissionsDocument {
  readonly $comment: string;
  readonly placeholders: Readonly<Record<string, string>>;
  readonly users: readonly BusUserEntry[];
}

/** Builds the document the local stack, the tests and the Helm chart render nats-server users from. */
export function permissionsDocument(): BusPermissionsDocument {
  return {
    $comment:
      'Generated from libs/bus/src/users.ts and the ownership map in libs/events by `node tools/gen-nats-permissions.mjs`; do not edit. Rendered into nats-server `authorization { users }` by tools/nats-conf.mjs (local stack, tests) and by the Helm chart.',
    placeholders: {
      [PLACEHOLDER_SCOPE.prefix]:
        'first subject token of the event log (TP_SUBJECT_PREFIX, `tp`), or `*` on a shared test server',
      [PLACEHOLDER_SCOPE.stream]:
        'JetStream stream of the event log (TP_EVENT_STREAM, `TP_EVENTS`), or `*` on a shared test server',
      '{audit_stream}':
        'JetStream stream of audit records, named after the event stream (`TP_EVENTS` → `TP_AUDIT`, `<name>` → `<name>_AUDIT`), or `*` on a shared test server',
    },
    users: BUS_USER_NAMES.map((name) => {
      const spec: BusUserSpec = BUS_USERS[name];
      return {
        name,
        user: spec.user,
        role: spec.role,
        credentialsEnv: credentialsEnvPrefix(name),
        inboxPrefix: inboxPrefixFor(spec.user),
        permissions: permissionsOf(spec, PLACEHOLDER_SCOPE) ?? null,
      };
    }),
  };
}

/** The document as it is stored: two-space JSON with a final newline. */
export function permissionsDocumentText(): string {
  return `${JSON.stringify(permissionsDocument(), null, 2)}\n`;
}
