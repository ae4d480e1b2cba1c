import type { ReportedKeyset } from '@trustplane/events';

/**
 * What the control plane's sync stream sends (services/registry `sync.state.ts`, NDJSON): the
 * wire contract, restated here because the signer never imports the registry. Everything in it
 * is checked before use ({@link parseSyncMessage}); the control plane is another installation.
 */
export interface SyncEntry {
  readonly id: string;
  readonly spiffeId: string;
  readonly parentId: string;
  readonly selectors: readonly string[];
  readonly x509SvidTtl: number | null;
  readonly jwtSvidTtl: number | null;
  readonly dnsNames: readonly string[];
  readonly federatesWith: readonly string[];
  readonly admin: boolean;
  readonly downstream: boolean;
  readonly hint: string | null;
  readonly expiresAt: string | null;
}

/** A cluster with its public attestation keys. */
export interface SyncCluster {
  readonly id: string;
  readonly name: string;
  readonly platform: string;
  readonly status: string;
  readonly keys: readonly { readonly keyId: string; readonly publicKey: string }[];
}

/** The complete state for one deployment at one position. */
export interface SyncStateMessage {
  readonly trustDomain: { readonly id: string; readonly name: string; readonly organizationId: string };
  readonly deployment: { readonly id: string; readonly name: string; readonly region: string };
  readonly entries: readonly SyncEntry[];
  readonly clusters: readonly SyncCluster[];
  readonly joinTokens: readonly { readonly id: string; readonly clusterId: string; readonly salt: string; readonly hash: string; readonly expiresAt: string }[];
  readonly authorities: readonly { readonly deploymentId: string; readonly keysets: readonly ReportedKeyset[] }[];
}

/** One line of the stream. */
export type SyncMessage =
  | { readonly type: 'state'; readonly position: number; readonly state: SyncStateMessage }
  | { readonly type: 'heartbeat'; readonly position: number }
  | { readonly type: 'end'; readonly reason: string };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isString = (value: unknown): value is string => typeof value === 'string';
const isArray = (value: unknown): value is unknown[] => Array.isArray(value);

/** Parses one stream line; throws on anything that is not a well-formed message. */
export function parseSyncMessage(line: string): SyncMessage {
  const value: unknown = JSON.parse(line);
  if (!isObject(value) || !isString(value['type'])) throw new Error('sync message without a type');
  if (value['type'] === 'end') return { type: 'end', reason: String(value['reason'] ?? '') };
  const position = value['position'];
  if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0) throw new Error('sync message without a valid position');
  if (value['type'] === 'heartbeat') return { type: 'heartbeat', position };
  if (value['type'] !== 'state') throw new Error(`unknown sync message type ${value['type']}`);
  const state = value['state'];
  if (
    !isObject(state) ||
    !isObject(state['trustDomain']) ||
    !isObject(state['deployment']) ||
    !isArray(state['entries']) ||
    !isArray(state['clusters']) ||
    !isArray(state['joinTokens']) ||
    !isArray(state['authorities'])
  ) {
    throw new Error('sync state is malformed');
  }
  const td = state['trustDomain'];
  const deployment = state['deployment'];
  if (!isString(td['id']) || !isString(td['name']) || !isString(td['organizationId']) || !isString(deployment['id']) || !isString(deployment['name'])) {
    throw new Error('sync state names no trust domain or deployment');
  }
  return { type: 'state', position, state: state as unknown as SyncStateMessage };
}
