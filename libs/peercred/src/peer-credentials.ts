import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { PeerCredError } from './errors.js';
import { errnoName, loadAddon, nativeErrno } from './native.js';

/**
 * Kernel-reported identity of the process at the other end of a Unix-domain socket,
 * captured by the kernel when the peer called connect(2) (SO_PEERCRED, see unix(7)).
 * Nothing here comes from the peer's own messages.
 */
export interface PeerCredentials {
  /**
   * Peer pid as seen from this process's pid namespace; 0 when the peer lives in a pid
   * namespace that is not visible from ours. The pid can be reused after the peer exits:
   * pair it with readProcessStartTime() before trusting /proc lookups.
   */
  readonly pid: number;
  /** Peer effective uid at connect() time (the overflow uid, usually 65534, if unmapped in our user namespace). */
  readonly uid: number;
  /** Peer effective gid at connect() time (the overflow gid, usually 65534, if unmapped in our user namespace). */
  readonly gid: number;
}

/**
 * Returns the SO_PEERCRED credentials of an accepted (or connected) Unix-domain socket.
 *
 * @throws PeerCredError `PEERCRED_FD_UNAVAILABLE` if the socket has no OS handle,
 *   `PEERCRED_NOT_UNIX_SOCKET` for TCP and other families, `PEERCRED_GETSOCKOPT_FAILED`
 *   if the kernel refuses, `PEERCRED_ADDON_NOT_BUILT` if the addon is missing.
 */
export function getPeerCredentials(socket: Socket): PeerCredentials {
  return getPeerCredentialsFromFd(socketFd(socket));
}

/**
 * Same as getPeerCredentials() for a raw file descriptor. The caller must keep the
 * descriptor open for the duration of the call.
 */
export function getPeerCredentialsFromFd(fd: number): PeerCredentials {
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
    throw new PeerCredError('PEERCRED_FD_UNAVAILABLE', `invalid file descriptor ${String(fd)}`);
  }
  const addon = loadAddon();
  try {
    const { pid, uid, gid } = addon.getPeerCred(fd);
    return Object.freeze({ pid, uid, gid });
  } catch (cause) {
    const errno = nativeErrno(cause);
    if (errno === undefined) {
      throw new PeerCredError(
        'PEERCRED_GETSOCKOPT_FAILED',
        `getsockopt(SO_PEERCRED) on fd ${fd} failed`,
        { cause },
      );
    }
    const name = errnoName(errno);
    if (errno === constants.errno.EAFNOSUPPORT) {
      throw new PeerCredError('PEERCRED_NOT_UNIX_SOCKET', `fd ${fd} is not a Unix-domain socket`, {
        cause,
        systemCode: name,
      });
    }
    throw new PeerCredError(
      'PEERCRED_GETSOCKOPT_FAILED',
      `getsockopt(SO_PEERCRED) on fd ${fd} failed: ${name}`,
      {
        cause,
        systemCode: name,
      },
    );
  }
}

/**
 * The file descriptor behind a net.Socket. Node keeps it on the libuv handle
 * (`socket._handle.fd`, a Pipe or TCP wrap); it is not public API, so every step is checked.
 */
export function socketFd(socket: Socket): number {
  if (socket.destroyed) {
    throw new PeerCredError('PEERCRED_FD_UNAVAILABLE', 'socket is destroyed');
  }
  const handle = (socket as unknown as { _handle?: unknown })._handle;
  if (typeof handle !== 'object' || handle === null) {
    throw new PeerCredError(
      'PEERCRED_FD_UNAVAILABLE',
      'socket has no OS handle (not connected yet, or not a native socket)',
    );
  }
  const fd = (handle as { fd?: unknown }).fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    throw new PeerCredError('PEERCRED_FD_UNAVAILABLE', 'socket handle exposes no file descriptor');
  }
  return fd;
}
