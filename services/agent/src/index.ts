/**
 * @trustplane/agent — the node agent. This half serves local workloads: Unix workload
 * attestation by kernel peer credentials, and the SPIFFE Workload API fed by an
 * {@link IdentitySource} (the agent core: node attestation, entry sync, SVID minting).
 */
export {
  emptySnapshot,
  StaticIdentitySource,
  type IdentitySnapshot,
  type IdentitySource,
  type Jwk,
  type JwtSvidMinter,
  type MintedJwtSvid,
  type TrustBundle,
  type WorkloadIdentity,
  type X509SvidMaterial,
} from './identity-source.js';
export {
  agentConfigSchema,
  loadAgentConfig,
  DEFAULT_AGENT_SOCKET_PATH,
  type AgentConfig,
} from './config.js';
export {
  AttestationError,
  ProcfsInspector,
  UnixWorkloadAttestor,
  type AttestationErrorCode,
  type ProcessInspector,
  type UnixAttestorOptions,
  type WorkloadAttestation,
} from './attestation/unix-attestor.js';
export { unixSelectors, type UnixProcessFacts } from './attestation/unix-selectors.js';
export {
  endpointSocketUri,
  SECURITY_HEADER,
  WorkloadApiError,
  WorkloadApiServer,
  type WorkloadApiServerOptions,
} from './workload/server.js';
export { applyAgentV8Settings } from './v8-tuning.js';
export {
  WorkloadApiStats,
  WORKLOAD_METHODS,
  type WorkloadApiStatsSnapshot,
  type WorkloadMethod,
} from './workload/stats.js';
