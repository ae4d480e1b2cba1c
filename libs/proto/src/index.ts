/**
 * @trustplane/proto: TypeScript generated from /proto by tools/gen-proto.sh (ts-proto,
 * grpc-js service definitions). Never edit `generated/`; change the .proto and regenerate.
 */

/**
 * The SPIFFE Workload API (proto3, no package): message codecs, the grpc-js service
 * definition `SpiffeWorkloadAPIService` (methods `/SpiffeWorkloadAPI/<Rpc>`), the server
 * interface `SpiffeWorkloadAPIServer` and the client constructor `SpiffeWorkloadAPIClient`.
 */
export * as workload from './generated/spiffe/workload/workload.js';

/**
 * TrustPlane's agent API (package `trustplane.agent.v1`): node attestation, entry sync,
 * SVID signing and bundle streaming between the agent and the signer over mutual TLS.
 * grpc-js service definition `AgentAPIService` and client constructor `AgentAPIClient`.
 */
export * as agentApi from './generated/trustplane/agent/v1/agent.js';

export { AGENT_SNI_SUFFIX, agentApiSni } from './agent-sni.js';
