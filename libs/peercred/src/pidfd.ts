import { closeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { PeerCredError } from './errors.js';
import { errnoName, loadAddon, nativeErrno } from './native.js';
import { socketFd } from './peer-credentials.js';

/**
 * A handle on the exact process at the other end of a Unix-domain socket: a pidfd obtained with
 * SO_PEERPIDFD, which the kernel ties to the process that called connect(2). Unlike a pid, it
 * can never come to name a later process that reuses the number, so "has it exited?" answers
 * "is the pid still the peer?" with one non-blocking poll(2) and no /proc read.
 */
export class PeerProcessHandle {
  private open = true;

  private constructor(private readonly pidfd: number) {}

  /**
   * The peer's pidfd, or undefined when the kernel predates SO_PEERPIDFD (Linux 6.5); callers
   * then fall back to comparing process start times.
   * @throws PeerCredError `PEERCRED_PEER_GONE` when the peer has already exited and been reaped,
   *   `PEERCRED_FD_UNAVAILABLE`, `PEERCRED_PIDFD_FAILED`, `PEERCRED_ADDON_NOT_BUILT`.
   */
  static ofPeer(socket: Socket): PeerProcessHandle | undefined {
    const fd = socketFd(socket);
    let pidfd: number;
    try {
      pidfd = loadAddon().getPeerPidfd(fd);
    } catch (cause) {
      // Linux answers ESRCH, or EINVAL before 6.16, for a peer that is already reaped.
      const errno = nativeErrno(cause);
      if (errno === constants.errno.ESRCH || errno === constants.errno.EINVAL) {
        throw new PeerCredError('PEERCRED_PEER_GONE', 'the connecting process has already exited', {
          cause,
          systemCode: errnoName(errno),
        });
      }
      throw pidfdFailed('getsockopt(SO_PEERPIDFD)', cause);
    }
    return pidfd < 0 ? undefined : new PeerProcessHandle(pidfd);
  }

  /**
   * Whether the peer process has exited (it may still be a zombie; its pid is then about to be
   * free for reuse).
   * @throws PeerCredError `PEERCRED_PIDFD_CLOSED` after {@link close}, `PEERCRED_PIDFD_FAILED`.
   */
  hasExited(): boolean {
    if (!this.open) throw new PeerCredError('PEERCRED_PIDFD_CLOSED', 'the pidfd is closed');
    try {
      return loadAddon().pidfdExited(this.pidfd);
    } catch (cause) {
      throw pidfdFailed('poll(pidfd)', cause);
    }
  }

  /** Closes the pidfd (idempotent; never throws, it runs from socket 'close' listeners). */
  close(): void {
    if (!this.open) return;
    this.open = false;
    try {
      closeSync(this.pidfd);
    } catch {
      // EBADF/EIO on close leave nothing to release.
    }
  }
}

function pidfdFailed(operation: string, cause: unknown): PeerCredError {
  const errno = nativeErrno(cause);
  const systemCode = errno === undefined ? undefined : errnoName(errno);
  return new PeerCredError(
    'PEERCRED_PIDFD_FAILED',
    `${operation} failed${systemCode === undefined ? '' : `: ${systemCode}`}`,
    { cause, systemCode },
  );
}

