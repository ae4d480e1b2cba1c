// Compile-only guard: the error code union is a stable contract; adding or renaming a code
// must be a deliberate change here too.
import type { PeerCredErrorCode } from './errors.js';

type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

export const codesAreStable: Equals<
  PeerCredErrorCode,
  | 'PEERCRED_ADDON_NOT_BUILT'
  | 'PEERCRED_FD_UNAVAILABLE'
  | 'PEERCRED_NOT_UNIX_SOCKET'
  | 'PEERCRED_GETSOCKOPT_FAILED'
  | 'PEERCRED_PIDFD_FAILED'
  | 'PEERCRED_PIDFD_CLOSED'
  | 'PEERCRED_PEER_GONE'
  | 'PEERCRED_INVALID_PID'
  | 'PEERCRED_PROC_READ_FAILED'
  | 'PEERCRED_PROC_MALFORMED'
> = true;

// @ts-expect-error — codes outside the union do not compile.
export const unknownCode: PeerCredErrorCode = 'PEERCRED_SOMETHING_ELSE';
