import {
  accept,
  assertNever,
  DomainError,
  reject,
  type AgentAttestationMethod,
  type AgentAttested,
  type AgentBanned,
  type AgentRenewed,
  type Decider,
} from '@trustplane/events';
import { RESOURCE_ID_PREFIXES, RESOURCE_ID_RANDOM_LENGTH, spiffeIdFromParts } from '@trustplane/spiffe';
import { derivedResourceSuffix } from './ids.js';
import { checkTextField } from './text.js';

/** Aggregate type of node agents. */
export const AGENT = 'agent';
/** The ways a node agent can attest. */
export const AGENT_ATTESTATION_METHODS: readonly AgentAttestationMethod[] = ['join_token', 'cluster_key'];
/** Longest node name. */
export const NODE_NAME_MAX = 63;
/** Longest ban reason. */
export const BAN_REASON_MAX = 500;
// Lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit: a DNS label
// or a short host name, and always a valid SPIFFE ID path segment (never `.` or `..`).
const NODE_NAME_PATTERN = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const AGENT_ID_PATTERN = new RegExp(`^${RESOURCE_ID_PREFIXES.agent}[0-9a-z]{${RESOURCE_ID_RANDOM_LENGTH}}$`);

/** Events of a node agent. */
export type AgentEvent = AgentAttested | AgentRenewed | AgentBanned;

/** State of one node agent. */
export type AgentState =
  | { readonly phase: 'absent' }
  | {
      readonly phase: 'active' | 'banned';
      readonly trustDomainId: string;
      readonly clusterId: string;
      readonly nodeName: string;
      readonly spiffeId: string;
      readonly method: AgentAttestationMethod;
      /** Serial of the current agent SVID. */
      readonly serialNumber: string;
      readonly expiresAt: string;
    };

/** Commands of a node agent. */
export type AgentCommand =
  | {
      /** The node proved its identity (the signer checked the join token or cluster key). */
      readonly kind: 'attest';
      readonly trustDomainId: string;
      /** Trust domain name, e.g. `example.org`, for the SPIFFE ID. */
      readonly trustDomain: string;
      readonly clusterId: string;
      readonly clusterName: string;
      readonly nodeName: string;
      readonly method: AgentAttestationMethod;
      readonly serialNumber: string;
      /** Expiry of the issued agent SVID. */
      readonly expiresAt: Date;
    }
  | { readonly kind: 'renew'; readonly serialNumber: string; readonly expiresAt: Date }
  | { readonly kind: 'ban'; readonly reason: string };

/** Why a node name is unacceptable, or undefined when it is fine (1–63 of `a-z 0-9 - .`, alphanumeric at both ends). */
export function validateNodeName(nodeName: string): DomainError | undefined {
  if (nodeName.length === 0 || nodeName.length > NODE_NAME_MAX || !NODE_NAME_PATTERN.test(nodeName)) {
    return new DomainError(
      'NODE_NAME_INVALID',
      `node name must be 1–${NODE_NAME_MAX} characters of a-z, 0-9, "-" and ".", starting and ending with a letter or digit`,
    );
  }
  return undefined;
}

/** True when `nodeName` passes {@link validateNodeName}. */
export function isValidNodeName(nodeName: string): boolean {
  return validateNodeName(nodeName) === undefined;
}

/**
 * The agent id of a node in a cluster: `ag-` + 10 base36 characters taken from
 * SHA-256(`<clusterId>/<nodeName>`), one per digest byte below 252 (`byte % 36`), hashing the
 * digest again in the (practically impossible) case that 32 bytes do not yield 10 characters.
 * Deterministic, so a node that attests again keeps its id.
 */
export function agentIdFor(clusterId: string, nodeName: string): string {
  return RESOURCE_ID_PREFIXES.agent + derivedResourceSuffix(`${clusterId}/${nodeName}`);
}

/** True when `input` is a well-formed agent id. */
export function isAgentId(input: string): boolean {
  return AGENT_ID_PATTERN.test(input);
}

/**
 * The SPIFFE ID of a node agent, `spiffe://<trustDomain>/agent/<clusterName>/<nodeName>`.
 * Throws a {@link DomainError} (`NODE_NAME_INVALID` or `AGENT_SPIFFE_ID_INVALID`) on bad parts.
 */
export function agentSpiffeId(trustDomain: string, clusterName: string, nodeName: string): string {
  const nodeError = validateNodeName(nodeName);
  if (nodeError !== undefined) throw nodeError;
  const id = spiffeIdFromParts(trustDomain, 'agent', clusterName, nodeName);
  if (!id.ok) throw new DomainError('AGENT_SPIFFE_ID_INVALID', `agent SPIFFE ID: ${id.error.message}`);
  return id.value.toString();
}

/** The node agent aggregate: attested (again and again), renewed, banned for good. */
export const agentDecider: Decider<AgentState, AgentCommand, AgentEvent> = {
  aggregateType: AGENT,
  initialState: () => ({ phase: 'absent' }),
  evolve(state, event) {
    switch (event.type) {
      case 'agent.attested':
        // A banned agent stays banned even if an attestation was somehow recorded.
        return {
          phase: state.phase === 'banned' ? 'banned' : 'active',
          trustDomainId: event.data.trustDomainId,
          clusterId: event.data.clusterId,
          nodeName: event.data.nodeName,
          spiffeId: event.data.spiffeId,
          method: event.data.method,
          serialNumber: event.data.serialNumber,
          expiresAt: event.data.expiresAt,
        };
      case 'agent.renewed':
        return state.phase === 'absent' ? state : { ...state, serialNumber: event.data.serialNumber, expiresAt: event.data.expiresAt };
      case 'agent.banned':
        return state.phase === 'absent' ? state : { ...state, phase: 'banned' };
      default:
        return assertNever(event, 'agent event');
    }
  },
  decide(command, state) {
    switch (command.kind) {
      case 'attest': {
        if (state.phase === 'banned') return reject(banned());
        if (!(AGENT_ATTESTATION_METHODS as readonly string[]).includes(command.method)) {
          return reject(new DomainError('AGENT_METHOD_INVALID', `method must be one of ${AGENT_ATTESTATION_METHODS.join(', ')}`));
        }
        if (state.phase === 'active' && (state.clusterId !== command.clusterId || state.nodeName !== command.nodeName)) {
          return reject(new DomainError('AGENT_IDENTITY_MISMATCH', 'agent id belongs to another cluster or node', 'conflict'));
        }
        const serialError = validateSerial(command.serialNumber);
        if (serialError !== undefined) return reject(serialError);
        let spiffeId: string;
        try {
          spiffeId = agentSpiffeId(command.trustDomain, command.clusterName, command.nodeName);
        } catch (error) {
          if (error instanceof DomainError) return reject(error);
          throw error;
        }
        return accept({
          type: 'agent.attested',
          schemaVersion: 1,
          data: {
            trustDomainId: command.trustDomainId,
            clusterId: command.clusterId,
            clusterName: command.clusterName,
            nodeName: command.nodeName,
            spiffeId,
            method: command.method,
            serialNumber: command.serialNumber,
            expiresAt: command.expiresAt.toISOString(),
          },
        });
      }
      case 'renew': {
        if (state.phase === 'absent') return reject(notFound());
        if (state.phase === 'banned') return reject(banned());
        const serialError = validateSerial(command.serialNumber);
        if (serialError !== undefined) return reject(serialError);
        return accept({ type: 'agent.renewed', schemaVersion: 1, data: { serialNumber: command.serialNumber, expiresAt: command.expiresAt.toISOString() } });
      }
      case 'ban': {
        if (state.phase === 'absent') return reject(notFound());
        const reason = checkTextField('AGENT_BAN_REASON_INVALID', 'reason', command.reason, { maxLength: BAN_REASON_MAX, multiline: true });
        if (reason instanceof DomainError) return reject(reason);
        if (state.phase === 'banned') return accept();
        return accept({ type: 'agent.banned', schemaVersion: 1, data: { reason } });
      }
      default:
        return assertNever(command, 'agent command');
    }
  },
};

function validateSerial(serial: string): DomainError | undefined {
  return /^[0-9a-f]{1,40}$/i.test(serial) ? undefined : new DomainError('AGENT_SERIAL_INVALID', 'serialNumber must be 1–40 hex characters');
}

function banned(): DomainError {
  return new DomainError('AGENT_BANNED', 'agent is banned', 'forbidden');
}

function notFound(): DomainError {
  return new DomainError('AGENT_NOT_FOUND', 'agent not found', 'not_found');
}
