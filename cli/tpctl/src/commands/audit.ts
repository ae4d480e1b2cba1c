// `tpctl audit list|verify`: the organization's hash-linked audit chain (kept by services/auth,
// reached through the registry, which forwards /api/v1/audit* there).
//
// The audit shapes are described here rather than taken from api-types.generated.ts: the audit
// routes belong to services/auth and are not (yet) in the registry's OpenAPI document. They
// mirror services/auth/src/audit (AuditView, ChainVerdict).
import type { Command } from 'commander';
import { apiPath, type Query } from '../client.js';
import { ApiError, CliError } from '../errors.js';
import { renderList } from '../format.js';
import type { Invocation } from '../runtime.js';
import { shortTime } from '../time.js';

/** One record of the chain as `GET /api/v1/audit` answers it. */
export interface AuditRecordView {
  /** Position in the organization's chain, from 1. */
  seq: number;
  /** The record id (UUIDv7). */
  id: string;
  /** The service that handled the command. */
  service: string;
  /** The organization (`t-…`). */
  organizationId: string;
  /** Who sent the command. */
  actor: { kind: 'token' | 'deployment-key'; id: string };
  /** Method and route, e.g. `POST /api/v1/trust-domains`. */
  action: string;
  /** The request path. */
  resource: string;
  /** succeeded (2xx), refused (4xx) or failed (5xx). */
  outcome: 'succeeded' | 'refused' | 'failed';
  /** The HTTP status answered. */
  status: number;
  /** The problem code of a refusal or failure; null on success. */
  code: string | null;
  /** When the command was answered (ISO-8601). */
  occurredAt: string;
  /** Hash of the record before. */
  prevHash: string;
  /** SHA-256 of prevHash and the record. */
  hash: string;
  /** When the auth service chained it. */
  recordedAt: string;
}

/** The verdict of `POST /api/v1/audit/verify`. */
export interface AuditVerdict {
  /** True when every record and anchor checks out. */
  ok: boolean;
  /** Records checked (before the first bad one). */
  checked: number;
  /** The first position that does not verify. */
  firstBadSeq?: number;
  /** Why (RECORD_EDITED, SEQUENCE_BROKEN, LINK_BROKEN, TAIL_MISSING, ANCHOR_MISMATCH). */
  reason?: string;
  /** The newest position anchored in the event log (0: none yet). */
  anchoredSeq: number;
}

/** Flags of `audit list`. */
export interface AuditListFlags {
  /** `--actor`: a token id (tok-…) or deployment key id (tdk-…). */
  actor?: string;
  /** `--resource`: part of the request path (an id or a name). */
  resource?: string;
  /** `--since`: ISO-8601 time or a duration back from now (`30m`, `2h`, `7d`). */
  since?: string;
  /** `--until`: as `--since`. */
  until?: string;
}

const DURATION = /^(\d{1,6})(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `--since`/`--until` → an ISO-8601 time: a time as given, or `now − duration`. */
export function auditTime(flag: string, value: string, now: Date): string {
  const duration = DURATION.exec(value);
  if (duration !== null) {
    const ms = Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS];
    return new Date(now.getTime() - ms).toISOString();
  }
  // A date, or a date and time with a zone: nothing that Date.parse reads loosely ("1", "May").
  const time = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/.test(value) ? new Date(value) : new Date(NaN);
  if (Number.isNaN(time.getTime()))
    throw new CliError('INVALID_ARGUMENT', `${flag} must be an ISO-8601 time (2026-01-31T12:00:00Z) or a duration back from now (30m, 2h, 7d), got '${value}'`);
  return time.toISOString();
}

/** The query of `GET /api/v1/audit` for the flags. */
export function auditQuery(flags: AuditListFlags, now: Date): Query {
  const query: Query = {};
  if (flags.actor !== undefined) {
    if (!/^(tok|tdk)-[0-9a-z]{10}$/.test(flags.actor))
      throw new CliError('INVALID_ARGUMENT', `--actor must be a token id (tok-…) or a deployment key id (tdk-…), got '${flags.actor}'`);
    query['actor'] = flags.actor;
  }
  if (flags.resource !== undefined) {
    if (flags.resource === '' || flags.resource.length > 512) throw new CliError('INVALID_ARGUMENT', '--resource must be 1–512 characters');
    query['resource'] = flags.resource;
  }
  if (flags.since !== undefined) query['since'] = auditTime('--since', flags.since, now);
  if (flags.until !== undefined) query['until'] = auditTime('--until', flags.until, now);
  return query;
}

/** The human table of records. */
export function auditList(records: readonly AuditRecordView[]): string {
  return renderList(
    ['Seq', 'Time', 'Actor', 'Action', 'Resource', 'Outcome'],
    records.map((r) => [r.seq, shortTime(r.occurredAt), r.actor.id, r.action, r.resource, r.code === null ? r.outcome : `${r.outcome} (${r.code})`]),
    { one: 'audit record', many: 'audit records' },
  );
}

const REASONS: Record<string, string> = {
  RECORD_EDITED: "the record's content no longer gives its stored hash (edited)",
  SEQUENCE_BROKEN: 'the record expected at this position is missing (deleted or replaced)',
  LINK_BROKEN: 'the record does not link to the one before it (inserted, deleted or reordered)',
  TAIL_MISSING: 'the chain ends before a position anchored in the event log (its tail was deleted)',
  ANCHOR_MISMATCH: 'the record at an anchored position is not the one anchored (rewritten)',
};

/** The human text of a verdict; `record` is the stored record at the first bad position, if any. */
export function auditVerdictText(verdict: AuditVerdict, record?: AuditRecordView): string {
  const anchor = verdict.anchoredSeq > 0 ? `anchored up to seq ${verdict.anchoredSeq}` : 'not anchored yet';
  if (verdict.ok) return `Audit chain OK: ${verdict.checked} record${verdict.checked === 1 ? '' : 's'} checked, ${anchor}.\n`;
  const reason = verdict.reason ?? 'UNKNOWN';
  const named = record === undefined ? '' : ` (record ${record.id}: ${record.action} ${record.resource} at ${record.occurredAt})`;
  return [
    `Audit chain BROKEN at seq ${verdict.firstBadSeq ?? '?'}${named}`,
    `Reason:  ${reason}: ${REASONS[reason] ?? 'the chain does not verify'}`,
    `Checked: ${verdict.checked} record${verdict.checked === 1 ? '' : 's'} good before it, ${anchor}`,
  ].join('\n') + '\n';
}

/** Adds the `audit` group to the program. */
export function registerAudit(program: Command, invocation: Invocation): void {
  const group = program.command('audit').description("the organization's audit chain: every command, who sent it and how it ended");

  group
    .command('list')
    .description('list audit records, oldest first (needs audit:read)')
    .option('--actor <id>', 'only records of this token (tok-…) or deployment key (tdk-…)')
    .option('--resource <text>', 'only records whose resource path contains this text (an id or a name)')
    .option('--since <time>', 'only records at or after this time (ISO-8601, or 30m, 2h, 7d back from now)')
    .option('--until <time>', 'only records before this time (ISO-8601, or a duration back from now)')
    .action(async (flags: AuditListFlags, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const query = auditQuery(flags, rt.deps.now());
      const records = await (await rt.client()).list<AuditRecordView>(apiPath('audit'), query);
      rt.emit(records, () => auditList(records));
    });

  group
    .command('verify')
    .description('verify the whole chain against its anchors; exits non-zero when it is broken (needs audit:read)')
    .action(async (_flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const client = await rt.client();
      const verdict = await client.post<AuditVerdict>(apiPath('audit', 'verify'));
      if (verdict === undefined || verdict === null || typeof verdict.ok !== 'boolean' || typeof verdict.checked !== 'number')
        throw new CliError('BAD_RESPONSE', 'POST /audit/verify did not answer a verdict ({ok, checked, anchoredSeq})');
      let record: AuditRecordView | undefined;
      if (!verdict.ok && typeof verdict.firstBadSeq === 'number' && verdict.firstBadSeq > 0) {
        // Name the record stored at the bad position (none when it was deleted).
        const page = await client.get<{ items: AuditRecordView[] }>(apiPath('audit'), { after: verdict.firstBadSeq - 1, limit: 1 });
        record = page.items.find((item) => item.seq === verdict.firstBadSeq);
      }
      rt.emit(record === undefined ? verdict : { ...verdict, record }, () => auditVerdictText(verdict, record));
      if (!verdict.ok) {
        // Non-zero exit, with the problem on stderr under its stable code.
        throw new ApiError(200, verdict.reason ?? 'AUDIT_CHAIN_BROKEN', `audit chain broken at seq ${verdict.firstBadSeq ?? '?'}${record === undefined ? '' : ` (record ${record.id})`}`);
      }
    });
}
