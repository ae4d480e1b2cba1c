/**
 * Pure part of Unix workload attestation: turning facts about a process (from SO_PEERCRED and
 * /proc) into `unix:*` selectors, and parsing the text files those facts come from. No I/O.
 */

/** What attestation learned about the calling process. */
export interface UnixProcessFacts {
  /** Effective uid at connect() (SO_PEERCRED). */
  readonly uid: number;
  /** Effective (primary) gid at connect() (SO_PEERCRED). */
  readonly gid: number;
  /** Supplementary groups (`Groups:` of /proc/<pid>/status); empty when unknown. */
  readonly supplementaryGids: readonly number[];
  /** Login name of {@link uid} from the passwd database, when it has one. */
  readonly userName: string | undefined;
  /** Group names by gid, for {@link gid} and {@link supplementaryGids}, when they have one. */
  readonly groupNames: ReadonlyMap<number, string>;
  /** Target of /proc/<pid>/exe; undefined when unreadable (then no path selector is emitted). */
  readonly exePath: string | undefined;
  /** Lowercase hex SHA-256 of the executable; undefined when not computed. */
  readonly exeSha256: string | undefined;
}

/**
 * The selectors of a process, SPIRE's `unix` workload attestor vocabulary:
 * `unix:uid:<uid>`, `unix:user:<name>`, `unix:gid:<gid>`, `unix:group:<name>` (primary and
 * supplementary groups), `unix:path:<exe>`, `unix:sha256:<hex>`. Sorted and deduplicated.
 *
 * Leaving a selector out can only make fewer entries match (entries match when all of their
 * selectors are present), so a fact that could not be read is simply omitted.
 */
export function unixSelectors(facts: UnixProcessFacts): string[] {
  const out = new Set<string>();
  out.add(`unix:uid:${facts.uid}`);
  if (facts.userName !== undefined && facts.userName !== '') out.add(`unix:user:${facts.userName}`);
  for (const gid of [facts.gid, ...facts.supplementaryGids]) {
    out.add(`unix:gid:${gid}`);
    const name = facts.groupNames.get(gid);
    if (name !== undefined && name !== '') out.add(`unix:group:${name}`);
  }
  // The kernel marks a replaced or unlinked binary with " (deleted)"; that is not a real path.
  if (
    facts.exePath !== undefined &&
    facts.exePath !== '' &&
    !facts.exePath.endsWith(' (deleted)')
  ) {
    out.add(`unix:path:${facts.exePath}`);
  }
  if (facts.exeSha256 !== undefined) out.add(`unix:sha256:${facts.exeSha256}`);
  return [...out].sort();
}

/**
 * Parses passwd(5) text into uid → login name. The first line for a uid wins (as getpwuid does
 * with files). Malformed lines and NIS `+`/`-` lines are skipped.
 */
export function parsePasswd(text: string): Map<number, string> {
  return parseIdFile(text, 2);
}

/** Parses group(5) text into gid → group name; the first line for a gid wins. */
export function parseGroup(text: string): Map<number, string> {
  return parseIdFile(text, 2);
}

function parseIdFile(text: string, idField: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-'))
      continue;
    const fields = line.split(':');
    const name = fields[0];
    const id = fields[idField];
    if (name === undefined || name === '' || id === undefined || !/^\d{1,10}$/.test(id)) continue;
    const n = Number(id);
    if (n > 0xffffffff || out.has(n)) continue;
    out.set(n, name);
  }
  return out;
}

/**
 * Supplementary group IDs from the text of /proc/<pid>/status (`Groups:` line, proc(5)); empty
 * when the line is missing or empty.
 */
export function parseStatusGroups(status: string): number[] {
  const line = status.split('\n').find((l) => l.startsWith('Groups:'));
  if (line === undefined) return [];
  return line
    .slice('Groups:'.length)
    .trim()
    .split(/\s+/)
    .filter((g) => /^\d{1,10}$/.test(g))
    .map(Number);
}

/** Why the pid-reuse guard refused a process; undefined when the process is the same one. */
export type ProcessIdentityProblem = 'PROCESS_GONE' | 'PROCESS_REPLACED';

/**
 * The pid-reuse guard: the process that connected (start time read at accept) must be the one
 * whose /proc facts were read (start time read again afterwards). A pid with a different start
 * time is another process that reused the pid; no start time means the process exited.
 */
export function checkSameProcess(
  startTimeAtAccept: bigint | undefined,
  startTimeAfter: bigint | undefined,
): ProcessIdentityProblem | undefined {
  if (startTimeAtAccept === undefined || startTimeAfter === undefined) return 'PROCESS_GONE';
  return startTimeAtAccept === startTimeAfter ? undefined : 'PROCESS_REPLACED';
}
