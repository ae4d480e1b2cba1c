import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { PeerCredError } from './errors.js';

/** Where /proc is mounted; a node agent in a container may see the host's at e.g. `/host/proc`. */
export interface ProcOptions {
  /** procfs mount point; defaults to `/proc`. */
  readonly procRoot?: string;
}

const DEFAULT_PROC_ROOT = '/proc';

/** Field number of `starttime` in /proc/<pid>/stat, counted from 1 as in proc(5). */
const STARTTIME_FIELD = 22;
/** Fields 1 (pid) and 2 (comm) precede the part after the closing parenthesis of comm. */
const FIRST_FIELD_AFTER_COMM = 3;

/**
 * Start time of a process in clock ticks since boot (`starttime`, field 22 of
 * /proc/<pid>/stat, see proc(5)). A pid plus its start time identifies one process
 * for the lifetime of the boot: compare the value read right after SO_PEERCRED with
 * the value read after inspecting /proc/<pid>/… to detect that the pid was reused.
 *
 * @returns undefined when the process does not exist (any more).
 * @throws PeerCredError `PEERCRED_INVALID_PID`, `PEERCRED_PROC_READ_FAILED`, `PEERCRED_PROC_MALFORMED`.
 */
export function readProcessStartTime(pid: number, options: ProcOptions = {}): bigint | undefined {
  const path = procPath(pid, 'stat', options);
  let stat: string;
  try {
    stat = readFileSync(path, 'utf8');
  } catch (cause) {
    if (isProcessGone(cause)) return undefined;
    throw procReadFailed(path, cause);
  }
  return parseProcStatStartTime(stat);
}

/**
 * Extracts `starttime` (field 22) from the contents of /proc/<pid>/stat.
 * `comm` (field 2) is parenthesised and may itself contain spaces and `)`, so the
 * fields are counted from the last `)` on.
 *
 * @throws PeerCredError `PEERCRED_PROC_MALFORMED` when the layout does not match proc(5).
 */
export function parseProcStatStartTime(stat: string): bigint {
  const commEnd = stat.lastIndexOf(')');
  if (commEnd < 0) {
    throw new PeerCredError('PEERCRED_PROC_MALFORMED', 'stat has no "(comm)" field');
  }
  const fields = stat
    .slice(commEnd + 1)
    .trim()
    .split(/\s+/);
  const value = fields[STARTTIME_FIELD - FIRST_FIELD_AFTER_COMM];
  if (value === undefined || !/^\d+$/.test(value)) {
    throw new PeerCredError(
      'PEERCRED_PROC_MALFORMED',
      `stat field ${STARTTIME_FIELD} (starttime) is missing or not a number`,
    );
  }
  return BigInt(value);
}

/**
 * Path of the `/proc/<pid>/exe` link. Opening this path (rather than the link's target)
 * reads the exact executable the process runs, even if it was replaced or deleted on
 * disk — use it to hash the binary.
 *
 * @throws PeerCredError `PEERCRED_INVALID_PID`.
 */
export function processExeLinkPath(pid: number, options: ProcOptions = {}): string {
  return procPath(pid, 'exe', options);
}

/**
 * Target of `/proc/<pid>/exe`: the absolute path of the executable as the kernel
 * recorded it at execve(2). The kernel appends ` (deleted)` if the file was unlinked;
 * the path is in the process's mount namespace, which may differ from ours.
 *
 * @returns undefined when the process does not exist (any more) or has no executable (kernel threads).
 * @throws PeerCredError `PEERCRED_INVALID_PID`, `PEERCRED_PROC_READ_FAILED` (e.g. EACCES without ptrace rights).
 */
export function readProcessExePath(pid: number, options: ProcOptions = {}): string | undefined {
  const link = processExeLinkPath(pid, options);
  try {
    return readlinkSync(link, 'utf8');
  } catch (cause) {
    if (isProcessGone(cause)) return undefined;
    throw procReadFailed(link, cause);
  }
}

function procPath(pid: number, entry: string, options: ProcOptions): string {
  if (!Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) {
    throw new PeerCredError(
      'PEERCRED_INVALID_PID',
      `pid must be a positive integer, got ${String(pid)}`,
    );
  }
  return join(options.procRoot ?? DEFAULT_PROC_ROOT, String(pid), entry);
}

/** ENOENT: no such pid (or no exe for a kernel thread); ESRCH: the process exited while being read. */
function isProcessGone(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ESRCH';
}

function procReadFailed(path: string, cause: unknown): PeerCredError {
  const errno = errorCode(cause);
  return new PeerCredError(
    'PEERCRED_PROC_READ_FAILED',
    `cannot read ${path}${errno ? `: ${errno}` : ''}`,
    {
      cause,
      ...(errno === undefined ? {} : { systemCode: errno }),
    },
  );
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
