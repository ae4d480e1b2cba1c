/** Why peer credentials or process facts could not be read. */
export type PeerCredErrorCode =
  /** `build/Release/peercred.node` is missing or failed to load (install script not run). */
  | 'PEERCRED_ADDON_NOT_BUILT'
  /** The socket has no OS handle / file descriptor (destroyed, not connected, or not a native socket). */
  | 'PEERCRED_FD_UNAVAILABLE'
  /** The file descriptor is a socket, but not an AF_UNIX one; SO_PEERCRED would return fake values. */
  | 'PEERCRED_NOT_UNIX_SOCKET'
  /** getsockopt(2) failed (e.g. EBADF, ENOTSOCK); `systemCode` holds the errno name. */
  | 'PEERCRED_GETSOCKOPT_FAILED'
  /** A pidfd operation (SO_PEERPIDFD, poll) failed; `systemCode` holds the errno name. */
  | 'PEERCRED_PIDFD_FAILED'
  /** The peer process is gone (exited and reaped) before a pidfd could be taken. */
  | 'PEERCRED_PEER_GONE'
  /** A pidfd handle was used after close(). */
  | 'PEERCRED_PIDFD_CLOSED'
  /** A pid argument was not a positive safe integer. */
  | 'PEERCRED_INVALID_PID'
  /** A /proc file exists but could not be read (e.g. EACCES); `systemCode` holds the errno name. */
  | 'PEERCRED_PROC_READ_FAILED'
  /** /proc/<pid>/stat did not have the documented layout. */
  | 'PEERCRED_PROC_MALFORMED';

/** Error thrown by every function of this package; assert on `code`, never on the message. */
export class PeerCredError extends Error {
  override readonly name = 'PeerCredError';
  /**
   * errno name (`'EBADF'`, `'ENOTSOCK'`, …) when the failure came from a system call.
   * Not called `errno`: Node's own system errors use that name for the number.
   */
  readonly systemCode: string | undefined;

  constructor(
    readonly code: PeerCredErrorCode,
    message: string,
    options?: { cause?: unknown; systemCode?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.systemCode = options?.systemCode;
  }
}
