import { jwtAuthorityJwk, x509AuthorityJwk } from '@trustplane/crypto';
import {
  accept,
  assertNever,
  reject,
  type BundleEvent,
  type Decider,
  type SpiffeBundleDocument,
  type SpiffeBundleKey,
} from '@trustplane/events';
import { caError } from './errors.js';
import { inBundle, type CaState, type Keyset } from './keyset.js';

/** Aggregate type of a trust domain's published bundle (aggregate id = the trust domain id). */
export const BUNDLE = 'bundle';

/** A keyset in the bundle, with the deployment it belongs to. */
export interface BundleKeyset {
  readonly deploymentId: string;
  readonly keyset: Keyset;
}

/** A computed trust bundle. */
export interface TrustBundle {
  /** The SPIFFE bundle document to publish. */
  readonly document: SpiffeBundleDocument;
  /** Whether the content differs from the previous document (then the sequence was bumped). */
  readonly changed: boolean;
  /** `<deploymentId>/<keysetId>` of every keyset in the bundle, sorted. */
  readonly keysets: readonly string[];
}

/**
 * The keysets of all deployments of a trust domain that belong in the bundle at `now`: prepared
 * (published before use), active, old and tainted, not yet past their notAfter. Revoked and
 * dropped keysets are out. Ordered by notBefore, then deployment and keyset id (deterministic).
 */
export function bundleKeysets(deployments: readonly CaState[], now: Date): BundleKeyset[] {
  const nowMs = now.getTime();
  const out: BundleKeyset[] = [];
  for (const state of deployments) {
    for (const keyset of state.keysets) {
      if (inBundle(keyset, nowMs)) out.push({ deploymentId: state.deploymentId ?? '', keyset });
    }
  }
  return out.sort(
    (a, b) =>
      a.keyset.notBefore - b.keyset.notBefore ||
      compare(a.deploymentId, b.deploymentId) ||
      compare(a.keyset.keysetId, b.keyset.keysetId),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The JWKS keys of a bundle: first every X.509 authority (`use: x509-svid`, exactly one `x5c`,
 * no `kid`), then every JWT authority (`use: jwt-svid` with its `kid`), in keyset order.
 */
export function bundleKeys(keysets: readonly BundleKeyset[]): SpiffeBundleKey[] {
  const x509 = keysets.map(({ keyset }) =>
    x509AuthorityJwk(Buffer.from(keyset.x509.certificate, 'base64')),
  );
  const jwt = keysets.map(({ keyset }) =>
    jwtAuthorityJwk(Buffer.from(keyset.jwt.publicKey, 'base64'), keyset.jwt.keyId),
  );
  return [...x509, ...jwt];
}

/** What computeTrustBundle needs. */
export interface TrustBundleInput {
  /** The CA state of every deployment of the trust domain. */
  readonly deployments: readonly CaState[];
  /** The instant the bundle is computed for. */
  readonly now: Date;
  /** The previously published document, or null before the first. */
  readonly previous: SpiffeBundleDocument | null;
  /** `spiffe_refresh_hint` in seconds. */
  readonly refreshHintSeconds: number;
}

/**
 * Computes the trust bundle of a trust domain. `spiffe_sequence` is the previous sequence when
 * nothing changed (keys and refresh hint compared), previous + 1 when something did, 1 for the
 * first bundle.
 */
export function computeTrustBundle(input: TrustBundleInput): TrustBundle {
  const members = bundleKeysets(input.deployments, input.now);
  const keys = bundleKeys(members);
  const previous = input.previous;
  const same =
    previous !== null &&
    previous.spiffe_refresh_hint === input.refreshHintSeconds &&
    JSON.stringify(previous.keys) === JSON.stringify(keys);
  const sequence =
    previous === null ? 1 : same ? previous.spiffe_sequence : previous.spiffe_sequence + 1;
  return {
    document: { keys, spiffe_sequence: sequence, spiffe_refresh_hint: input.refreshHintSeconds },
    changed: !same,
    keysets: members.map((m) => `${m.deploymentId}/${m.keyset.keysetId}`).sort(),
  };
}

/** State of a trust domain's bundle aggregate. */
export interface BundleState {
  readonly trustDomainId: string | null;
  /** The last published document, or null. */
  readonly document: SpiffeBundleDocument | null;
  /** Keysets in the last published document. */
  readonly keysets: readonly string[];
}

/** Recompute and, when it changed, publish the bundle of a trust domain. */
export interface PublishBundleCommand {
  readonly kind: 'publish';
  readonly trustDomainId: string;
  readonly trustDomain: string;
  /** The CA state of every deployment of the trust domain. */
  readonly deployments: readonly CaState[];
  /** `spiffe_refresh_hint` in seconds. */
  readonly refreshHintSeconds: number;
}

/** Commands of the bundle aggregate. */
export type BundleCommand = PublishBundleCommand;

/**
 * The bundle aggregate: the sequence lives here, so optimistic concurrency on its subject keeps
 * `spiffe_sequence` strictly increasing even with several publishers. Publishing unchanged
 * content is a no-op; keysets of another trust domain are refused.
 */
export const bundleDecider: Decider<BundleState, BundleCommand, BundleEvent> = {
  aggregateType: BUNDLE,
  initialState: () => ({ trustDomainId: null, document: null, keysets: [] }),
  evolve(_state, event) {
    switch (event.type) {
      case 'bundle.updated':
        return {
          trustDomainId: event.data.trustDomainId,
          document: event.data.document,
          keysets: event.data.keysets,
        };
      default:
        return assertNever(event.type, 'bundle event');
    }
  },
  decide(command, state, { now }) {
    switch (command.kind) {
      case 'publish': {
        if (!Number.isSafeInteger(command.refreshHintSeconds) || command.refreshHintSeconds <= 0) {
          return reject(
            caError(
              'BUNDLE_REFRESH_HINT_INVALID',
              'the refresh hint must be a positive whole number of seconds',
            ),
          );
        }
        const foreign = command.deployments.find(
          (d) =>
            d.trustDomainId !== null &&
            (d.trustDomainId !== command.trustDomainId || d.trustDomain !== command.trustDomain),
        );
        if (
          (state.trustDomainId !== null && state.trustDomainId !== command.trustDomainId) ||
          foreign
        ) {
          return reject(
            caError(
              'BUNDLE_TRUST_DOMAIN_MISMATCH',
              `the bundle of ${command.trustDomain} only holds its own keysets`,
              'conflict',
            ),
          );
        }
        const bundle = computeTrustBundle({
          deployments: command.deployments,
          now,
          previous: state.document,
          refreshHintSeconds: command.refreshHintSeconds,
        });
        if (!bundle.changed) return accept();
        return accept({
          type: 'bundle.updated',
          schemaVersion: 1,
          data: {
            trustDomainId: command.trustDomainId,
            trustDomain: command.trustDomain,
            sequence: bundle.document.spiffe_sequence,
            document: bundle.document,
            keysets: bundle.keysets,
          },
        });
      }
      default:
        return assertNever(command.kind, 'bundle command');
    }
  },
};
