import type { EventDefinition } from './envelope.js';

/** The deployment and trust domain a deployment key belongs to (on every key event). */
export interface DeploymentKeyScope {
  /** `tdd-…`. */
  readonly deploymentId: string;
  /** `td-…`. */
  readonly trustDomainId: string;
}

/**
 * A deployment key was created (active). Only the public half is recorded; the private key was
 * returned once to the caller and exists nowhere else.
 */
export type DeploymentKeyCreated = EventDefinition<
  'deploymentkey.created',
  1,
  DeploymentKeyScope & {
    /** Ed25519 public key, SubjectPublicKeyInfo PEM. */
    readonly publicKeyPem: string;
    /** Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER. */
    readonly fingerprint: string;
  }
>;
/** A disabled deployment key was enabled again: its assertions are accepted from now on. */
export type DeploymentKeyEnabled = EventDefinition<'deploymentkey.enabled', 1, DeploymentKeyScope>;
/** A deployment key was disabled: no further exchange; credentials already issued run out on their own. */
export type DeploymentKeyDisabled = EventDefinition<'deploymentkey.disabled', 1, DeploymentKeyScope>;
/** A disabled deployment key was deleted. */
export type DeploymentKeyDeleted = EventDefinition<'deploymentkey.deleted', 1, DeploymentKeyScope>;

/** Every event of the deployment key aggregate. */
export type DeploymentKeyEvent = DeploymentKeyCreated | DeploymentKeyEnabled | DeploymentKeyDisabled | DeploymentKeyDeleted;

/**
 * The head of an organization's audit chain was anchored in the event log: whoever verifies the
 * chain later knows it held at least `seq` records ending in `hash`, so a deleted tail shows.
 */
export type AuditAnchored = EventDefinition<
  'audit.anchored',
  1,
  {
    /** `t-…` (also the event's tenant and aggregate id). */
    readonly organizationId: string;
    /** Sequence number of the newest record of the chain (1-based). */
    readonly seq: number;
    /** Lowercase hex hash of that record. */
    readonly hash: string;
  }
>;

/** Every event of the auth context. */
export type AuthEvent = DeploymentKeyEvent | AuditAnchored;
