/**
 * @trustplane/peercred: who is on the other end of a Unix-domain socket, according to
 * the kernel (SO_PEERCRED via a small N-API addon), plus the /proc lookups that workload
 * attestation needs to turn a pid into stable facts.
 */
export { PeerCredError, type PeerCredErrorCode } from './errors.js';
export {
  getPeerCredentials,
  getPeerCredentialsFromFd,
  type PeerCredentials,
} from './peer-credentials.js';
export { PeerProcessHandle } from './pidfd.js';
export {
  parseProcStatStartTime,
  processExeLinkPath,
  readProcessExePath,
  readProcessStartTime,
  type ProcOptions,
} from './proc.js';
