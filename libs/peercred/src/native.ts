import { constants } from 'node:os';
import { join } from 'node:path';
import { PeerCredError } from './errors.js';

/** Raw result of the addon's getsockopt(SO_PEERCRED) call (struct ucred). */
export interface NativePeerCred {
  /** Peer process id, translated into this process's pid namespace (0 if not visible). */
  readonly pid: number;
  /** Peer effective uid at connect() time. */
  readonly uid: number;
  /** Peer effective gid at connect() time. */
  readonly gid: number;
}

/** Shape of `build/Release/peercred.node`'s exports (see native/peercred.c). */
interface PeerCredAddon {
  getPeerCred(fd: number): NativePeerCred;
  /** A pidfd of the peer (SO_PEERPIDFD), or -1 when the kernel lacks the option. */
  getPeerPidfd(fd: number): number;
  /** Whether the process behind a pidfd has exited. */
  pidfdExited(pidfd: number): boolean;
}

/** Absolute path of the compiled addon, relative to this package (dist/ → ../build). */
export const ADDON_PATH = join(__dirname, '..', 'build', 'Release', 'peercred.node');

let addon: PeerCredAddon | undefined;

/** Loads the addon once, on first use, so the /proc helpers work without it. */
export function loadAddon(): PeerCredAddon {
  if (addon !== undefined) return addon;
  const holder: { exports: unknown } = { exports: {} };
  try {
    process.dlopen(holder, ADDON_PATH);
  } catch (cause) {
    throw new PeerCredError(
      'PEERCRED_ADDON_NOT_BUILT',
      `cannot load the peercred addon at ${ADDON_PATH}; it is built by the package's install script ` +
        '(run `npm run install -w @trustplane/peercred`, which needs a C compiler, make and python3)',
      { cause },
    );
  }
  if (!isAddon(holder.exports)) {
    throw new PeerCredError(
      'PEERCRED_ADDON_NOT_BUILT',
      `${ADDON_PATH} does not export getPeerCred(), getPeerPidfd() and pidfdExited() (rebuild it)`,
    );
  }
  addon = holder.exports;
  return addon;
}

function isAddon(value: unknown): value is PeerCredAddon {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { getPeerCred?: unknown }).getPeerCred === 'function' &&
    typeof (value as { getPeerPidfd?: unknown }).getPeerPidfd === 'function' &&
    typeof (value as { pidfdExited?: unknown }).pidfdExited === 'function'
  );
}

/** Maps a numeric errno to its name (`9` → `'EBADF'`); falls back to `'errno <n>'`. */
export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(constants.errno)) {
    if (value === errno) return name;
  }
  return `errno ${errno}`;
}

/** The `errno` number the addon attaches to the errors it throws, if any. */
export function nativeErrno(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const errno = (error as { errno?: unknown }).errno;
  return typeof errno === 'number' ? errno : undefined;
}
