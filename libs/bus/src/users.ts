import type { OwningService } from '@trustplane/events';

/** What one NATS user may do; its permissions are derived from this (see permissions.ts). */
export interface BusUserSpec {
  /** NATS user name; also names its private inbox prefix. */
  readonly user: string;
  /**
   * `service`: least privilege from the fields below. `reader`: read-only consumer of the event
   * log for services outside the system. `admin`: every right (operators, provisioning).
   */
  readonly role: 'service' | 'reader' | 'admin';
  /** The service whose events it appends: the aggregate types libs/events says it writes. */
  readonly emits?: OwningService;
  /** Requests it sends, as `<service>.<operation>` (subject `<prefix>.cmd.<service>.<operation>`). */
  readonly requests?: readonly string[];
  /** The service whose requests it answers: `<prefix>.cmd.<service>.>`, queue group `<service>`. */
  readonly serves?: string;
  /** Projections it runs: their durable consumers and rebuild consumers, nothing else. */
  readonly projections?: readonly string[];
  /** Creates the event stream at start-up when it does not exist yet (never updates it). */
  readonly createsStream?: boolean;
  /** Publishes audit records of its commands (`<prefix>.audit.<this service>.<organization>`). */
  readonly publishesAudit?: string;
  /** Keeps the audit chain: creates the audit stream and reads it with the audit consumer. */
  readonly keepsAuditChain?: boolean;
}

/**
 * Every NATS user of TrustPlane, one entry each. Adding a service is one entry here (plus its
 * events in libs/events' ownership map); the local stack, the tests and the generated
 * `infra/nats/permissions.json` (which the Helm chart renders) all come from this.
 */
export const BUS_USERS = {
  registry: {
    user: 'tp-registry',
    role: 'service',
    emits: 'registry',
    requests: ['signer.keyset', 'signer.bundle', 'signer.seal-secret'],
    projections: ['registry.organizations', 'registry.model', 'registry.names', 'registry.deploymentkeys', 'registry.federations'],
    createsStream: true,
    publishesAudit: 'registry',
  },
  signer: {
    user: 'tp-signer',
    role: 'service',
    emits: 'signer',
    serves: 'signer',
    projections: ['signer.model'],
    createsStream: true,
  },
  auth: {
    user: 'tp-auth',
    role: 'service',
    emits: 'auth',
    projections: ['auth.model'],
    createsStream: true,
    publishesAudit: 'auth',
    keepsAuditChain: true,
  },
  reader: { user: 'tp-reader', role: 'reader' },
  admin: { user: 'tp-admin', role: 'admin' },
  /** The public bundle publisher: reads bundles and trust domains into memory, writes nothing. */
  federation: { user: 'tp-federation', role: 'reader' },
  /** The federation service's writer: records fetched peer bundles (`federatedbundle` events) and nothing else. */
  federationWriter: { user: 'tp-federation-writer', role: 'service', emits: 'federation' },
} as const satisfies Readonly<Record<string, BusUserSpec>>;

/** The name of a bus user in {@link BUS_USERS} (`registry`, `signer`, `reader`, `admin`). */
export type BusUserName = keyof typeof BUS_USERS;

/** Every bus user name. */
export const BUS_USER_NAMES = Object.keys(BUS_USERS) as BusUserName[];
