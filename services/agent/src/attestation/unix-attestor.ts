/**
 * Unix workload attestation: from the kernel's SO_PEERCRED of an accepted connection to the
 * caller's selectors, reading /proc, /etc/passwd and /etc/group. Nothing the client sends is
 * consulted.
 */
import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  PeerCredError,
  processExeLinkPath,
  readProcessExePath,
  readProcessStartTime,
  type PeerCredentials,
} from '@trustplane/peercred';
import { parseSelector, type Selector } from '@trustplane/spiffe';
import {
  checkSameProcess,
  parseGroup,
  parsePasswd,
  parseStatusGroups,
  unixSelectors,
} from './unix-selectors.js';

/** Why a caller could not be attested; every code becomes PermissionDenied on the wire. */
export type AttestationErrorCode =
  /** The peer's pid is 0: it lives in a pid namespace the agent cannot see. */
  | 'ATTESTATION_PID_UNAVAILABLE'
  /** The process exited before (or while) it was inspected. */
  | 'ATTESTATION_PROCESS_GONE'
  /** The pid now belongs to a different process (start time changed): pid reuse. */
  | 'ATTESTATION_PROCESS_REPLACED'
  /** /proc could not be read for another reason. */
  | 'ATTESTATION_FAILED';

/** Attestation failed; `code` is stable, the message is safe to return to the caller. */
export class AttestationError extends Error {
  override readonly name = 'AttestationError';
  constructor(
    readonly code: AttestationErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A handle on the exact process that connected (a pidfd from SO_PEERPIDFD): when present, "has
 * it exited?" replaces the start-time comparison, and no pid reuse can ever be mistaken for it.
 */
export interface ProcessLiveness {
  hasExited(): boolean;
}

/** The attested identity of one connection. */
export interface WorkloadAttestation {
  /** Kernel credentials captured at accept. */
  readonly credentials: PeerCredentials;
  /** Start time (clock ticks since boot) of the process at accept: pins the pid to one process. */
  readonly startTime: bigint;
  /** Canonical `type:value` selectors, sorted. */
  readonly selectors: readonly string[];
  /** The same selectors, parsed (for matching). */
  readonly parsedSelectors: readonly Selector[];
  /** A stable key of the selector set: equal keys mean equal selectors. */
  readonly selectorKey: string;
  /** The connected process itself, when the kernel provides a pidfd for it. */
  readonly liveness: ProcessLiveness | undefined;
}

/** /proc access, replaceable in tests (fixture directories or fakes). */
export interface ProcessInspector {
  /** Start time of `pid`, undefined when the process does not exist. */
  startTime(pid: number): bigint | undefined;
  /** Target of /proc/<pid>/exe; undefined when gone or unreadable. */
  exePath(pid: number): string | undefined;
  /** Supplementary gids from /proc/<pid>/status; empty when unreadable. */
  supplementaryGroups(pid: number): Promise<number[]>;
  /** Hex SHA-256 of the executable the process runs; undefined when unreadable. */
  exeSha256(pid: number): Promise<string | undefined>;
}

/** Options of {@link UnixWorkloadAttestor}. */
export interface UnixAttestorOptions {
  /** procfs mount point (default `/proc`). */
  readonly procRoot?: string;
  /** passwd database (default `/etc/passwd`). */
  readonly passwdPath?: string;
  /** group database (default `/etc/group`). */
  readonly groupPath?: string;
  /** Whether to hash executables for `unix:sha256:` (default true). */
  readonly hashExecutables?: boolean;
  /** Replaces the /proc reader (tests). */
  readonly inspector?: ProcessInspector;
  /** Called with facts that could not be read (logging); never given secrets. */
  readonly onWarning?: (message: string, details: Record<string, unknown>) => void;
}

/** Largest number of executables whose digest is remembered. */
const HASH_CACHE_LIMIT = 1024;

/**
 * The /proc implementation of {@link ProcessInspector}. Executable digests are cached by
 * (device, inode, size, mtime, ctime) of the file behind /proc/<pid>/exe, and concurrent
 * requests for the same file share one hash computation.
 */
export class ProcfsInspector implements ProcessInspector {
  private readonly digests = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(private readonly procRoot: string = '/proc') {}

  startTime(pid: number): bigint | undefined {
    return readProcessStartTime(pid, { procRoot: this.procRoot });
  }

  exePath(pid: number): string | undefined {
    try {
      return readProcessExePath(pid, { procRoot: this.procRoot });
    } catch (error) {
      // EACCES without ptrace rights: omit the path selector rather than fail.
      if (error instanceof PeerCredError && error.code === 'PEERCRED_PROC_READ_FAILED')
        return undefined;
      throw error;
    }
  }

  async supplementaryGroups(pid: number): Promise<number[]> {
    try {
      return parseStatusGroups(await readFile(join(this.procRoot, String(pid), 'status'), 'utf8'));
    } catch {
      return [];
    }
  }

  async exeSha256(pid: number): Promise<string | undefined> {
    let handle;
    try {
      // Opening the /proc link (not its target path) reads exactly the binary the process runs.
      handle = await open(processExeLinkPath(pid, { procRoot: this.procRoot }), 'r');
    } catch {
      return undefined;
    }
    try {
      const st = await handle.stat({ bigint: true });
      const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
      const cached = this.digests.get(key);
      if (cached !== undefined) return cached;
      let pending = this.inflight.get(key);
      if (pending === undefined) {
        pending = hashHandle(handle).finally(() => this.inflight.delete(key));
        this.inflight.set(key, pending);
        const digest = await pending;
        if (this.digests.size >= HASH_CACHE_LIMIT) {
          const oldest = this.digests.keys().next().value;
          if (oldest !== undefined) this.digests.delete(oldest);
        }
        this.digests.set(key, digest);
        return digest;
      }
      return await pending;
    } catch {
      return undefined;
    } finally {
      await handle.close().catch(() => undefined);
    }
  }
}

async function hashHandle(handle: import('node:fs/promises').FileHandle): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(1 << 20);
  let position = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return hash.digest('hex');
}

/** A text file parsed once and re-parsed only when it changes on disk. */
class WatchedIdFile {
  private stamp = '';
  private value = new Map<number, string>();

  constructor(
    private readonly path: string,
    private readonly parse: (text: string) => Map<number, string>,
  ) {}

  async get(): Promise<ReadonlyMap<number, string>> {
    try {
      const st = await stat(this.path, { bigint: true });
      const stamp = `${st.ino}:${st.size}:${st.mtimeNs}`;
      if (stamp !== this.stamp) {
        this.value = this.parse(await readFile(this.path, 'utf8'));
        this.stamp = stamp;
      }
    } catch {
      this.value = new Map();
      this.stamp = '';
    }
    return this.value;
  }
}

/** Asks a pidfd whether its process exited. @throws AttestationError `ATTESTATION_FAILED` */
function hasExited(liveness: ProcessLiveness): boolean {
  try {
    return liveness.hasExited();
  } catch (cause) {
    throw new AttestationError('ATTESTATION_FAILED', 'could not check the calling process', {
      cause,
    });
  }
}

/**
 * Attests local callers by SO_PEERCRED and /proc. Call {@link pin} right at accept (it reads
 * the start time that pins the pid to one process), then {@link attest}.
 */
export class UnixWorkloadAttestor {
  private readonly inspector: ProcessInspector;
  private readonly passwd: WatchedIdFile;
  private readonly group: WatchedIdFile;
  private readonly hashExecutables: boolean;
  private readonly onWarning: (message: string, details: Record<string, unknown>) => void;

  constructor(options: UnixAttestorOptions = {}) {
    this.inspector = options.inspector ?? new ProcfsInspector(options.procRoot);
    this.passwd = new WatchedIdFile(options.passwdPath ?? '/etc/passwd', parsePasswd);
    this.group = new WatchedIdFile(options.groupPath ?? '/etc/group', parseGroup);
    this.hashExecutables = options.hashExecutables ?? true;
    this.onWarning = options.onWarning ?? (() => undefined);
  }

  /**
   * The start time of the peer process, read as early as possible after accept.
   * @throws AttestationError when the pid is not visible or the process is already gone.
   */
  pin(credentials: PeerCredentials, liveness?: ProcessLiveness): bigint {
    if (credentials.pid === 0) {
      throw new AttestationError(
        'ATTESTATION_PID_UNAVAILABLE',
        'the caller runs in a pid namespace the agent cannot see',
      );
    }
    const startTime = this.readStartTime(credentials.pid);
    if (startTime === undefined || (liveness !== undefined && hasExited(liveness))) {
      throw new AttestationError('ATTESTATION_PROCESS_GONE', 'the calling process has exited');
    }
    return startTime;
  }

  /**
   * Resolves the selectors of the process pinned at `startTime`, then checks that the pid
   * still names that same process.
   * @throws AttestationError
   */
  async attest(
    credentials: PeerCredentials,
    startTime: bigint,
    liveness?: ProcessLiveness,
  ): Promise<WorkloadAttestation> {
    const { pid, uid, gid } = credentials;
    let facts;
    try {
      const [supplementaryGids, users, groups, exeSha256] = await Promise.all([
        this.inspector.supplementaryGroups(pid),
        this.passwd.get(),
        this.group.get(),
        this.hashExecutables ? this.inspector.exeSha256(pid) : Promise.resolve(undefined),
      ]);
      const exePath = this.inspector.exePath(pid);
      if (exePath === undefined)
        this.onWarning('executable path unreadable; no unix:path selector', { pid });
      const groupNames = new Map<number, string>();
      for (const g of [gid, ...supplementaryGids]) {
        const name = groups.get(g);
        if (name !== undefined) groupNames.set(g, name);
      }
      facts = {
        uid,
        gid,
        supplementaryGids,
        userName: users.get(uid),
        groupNames,
        exePath,
        exeSha256,
      };
    } catch (cause) {
      throw new AttestationError('ATTESTATION_FAILED', 'could not inspect the calling process', {
        cause,
      });
    }
    // The pid-reuse guard: everything above must describe the process that connected.
    this.verify(pid, startTime, liveness);
    const selectors = unixSelectors(facts);
    const parsedSelectors: Selector[] = [];
    for (const s of selectors) {
      const parsed = parseSelector(s);
      // A path with control characters cannot be a selector value; leaving it out only narrows matches.
      if (parsed.ok) parsedSelectors.push(parsed.value);
      else this.onWarning('selector dropped', { code: parsed.error.code });
    }
    const canonical = parsedSelectors.map((s) => `${s.type}:${s.value}`);
    return Object.freeze({
      credentials,
      startTime,
      selectors: Object.freeze(canonical),
      parsedSelectors: Object.freeze(parsedSelectors),
      selectorKey: canonical.join('\n'),
      liveness,
    });
  }

  /**
   * Checks that `pid` still names the process pinned at `startTime`: with a pidfd, by asking
   * whether that process has exited (a live process keeps its pid); otherwise by re-reading the
   * start time from /proc (the guard, also run before each call on an attested connection).
   * @throws AttestationError `ATTESTATION_PROCESS_GONE` or `ATTESTATION_PROCESS_REPLACED`.
   */
  verify(pid: number, startTime: bigint, liveness?: ProcessLiveness): void {
    if (liveness !== undefined) {
      if (hasExited(liveness)) {
        throw new AttestationError('ATTESTATION_PROCESS_GONE', 'the calling process has exited');
      }
      return;
    }
    const problem = checkSameProcess(startTime, this.readStartTime(pid));
    if (problem === 'PROCESS_GONE') {
      throw new AttestationError('ATTESTATION_PROCESS_GONE', 'the calling process has exited');
    }
    if (problem === 'PROCESS_REPLACED') {
      throw new AttestationError(
        'ATTESTATION_PROCESS_REPLACED',
        'the calling pid now belongs to another process',
      );
    }
  }

  /** {@link verify} for an attestation: the connection's process is still the one attested. */
  verifyAttestation(attestation: WorkloadAttestation): void {
    this.verify(attestation.credentials.pid, attestation.startTime, attestation.liveness);
  }

  private readStartTime(pid: number): bigint | undefined {
    try {
      return this.inspector.startTime(pid);
    } catch (cause) {
      throw new AttestationError('ATTESTATION_FAILED', 'could not read the calling process', {
        cause,
      });
    }
  }
}
