// `tpctl audit`: flags → query (times, durations, refusals), the table and the verdict text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CliError } from '../errors.js';
import { auditList, auditQuery, auditTime, auditVerdictText, type AuditRecordView } from './audit.js';

const NOW = new Date('2026-12-03T15:00:00.000Z');

test('--since/--until take an ISO-8601 time or a duration back from now; anything else is INVALID_ARGUMENT', () => {
  assert.equal(auditTime('--since', '2026-12-01T10:00:00Z', NOW), '2026-12-01T10:00:00.000Z');
  assert.equal(auditTime('--since', '2026-12-01T10:00:00.5+02:00', NOW), '2026-12-01T08:00:00.500Z');
  assert.equal(auditTime('--since', '2026-12-01', NOW), '2026-12-01T00:00:00.000Z');
  assert.equal(auditTime('--since', '30m', NOW), '2026-12-03T14:30:00.000Z');
  assert.equal(auditTime('--since', '2h', NOW), '2026-12-03T13:00:00.000Z');
  assert.equal(auditTime('--until', '7d', NOW), '2026-11-26T15:00:00.000Z');
  for (const bad of ['yesterday', '12', '2026-13-01', '2026-12-01T10:00', '1w', '-1h', '', 'May 1']) {
    assert.throws(() => auditTime('--since', bad, NOW), (e: unknown) => e instanceof CliError && e.code === 'INVALID_ARGUMENT' && e.detail.startsWith('--since'), bad);
  }
});

test('the query carries only the filters given; a malformed actor or resource is refused before sending', () => {
  assert.deepEqual(auditQuery({}, NOW), {});
  assert.deepEqual(auditQuery({ actor: 'tok-0123456789', resource: 'td-abc', since: '1h', until: '2026-12-03T14:30:00Z' }, NOW), {
    actor: 'tok-0123456789',
    resource: 'td-abc',
    since: '2026-12-03T14:00:00.000Z',
    until: '2026-12-03T14:30:00.000Z',
  });
  assert.deepEqual(auditQuery({ actor: 'tdk-0123456789' }, NOW), { actor: 'tdk-0123456789' });
  for (const flags of [{ actor: 'nobody' }, { actor: 'tok-0123456789 OR 1=1' }, { resource: '' }, { resource: 'x'.repeat(513) }]) {
    assert.throws(() => auditQuery(flags, NOW), (e: unknown) => e instanceof CliError && e.code === 'INVALID_ARGUMENT', JSON.stringify(flags));
  }
});

const record = (seq: number, over: Partial<AuditRecordView> = {}): AuditRecordView => ({
  seq,
  id: `0190a000-0000-7000-8000-00000000000${seq}`,
  service: 'registry',
  organizationId: 't-0000000001',
  actor: { kind: 'token', id: 'tok-0000000001' },
  action: 'POST /api/v1/trust-domains',
  resource: '/api/v1/trust-domains',
  outcome: 'succeeded',
  status: 201,
  code: null,
  occurredAt: '2026-12-03T14:01:02.345Z',
  prevHash: '0'.repeat(64),
  hash: '1'.repeat(64),
  recordedAt: '2026-12-03T14:01:02.400Z',
  ...over,
});

test('the table: Seq, Time, Actor, Action, Resource, Outcome (with the refusal code); a counted footer', () => {
  assert.equal(
    auditList([record(1), record(2, { outcome: 'refused', status: 403, code: 'INSUFFICIENT_SCOPE', actor: { kind: 'deployment-key', id: 'tdk-0000000009' } })]),
    [
      'Seq  Time                  Actor           Action                      Resource               Outcome',
      '1    2026-12-03T14:01:02Z  tok-0000000001  POST /api/v1/trust-domains  /api/v1/trust-domains  succeeded',
      '2    2026-12-03T14:01:02Z  tdk-0000000009  POST /api/v1/trust-domains  /api/v1/trust-domains  refused (INSUFFICIENT_SCOPE)',
      '2 audit records found.',
      '',
    ].join('\n'),
  );
  assert.equal(auditList([]), 'No audit records found.\n');
});

test('the verdict: ok with the count and the anchor; broken with the position, the record and the reason', () => {
  assert.equal(auditVerdictText({ ok: true, checked: 12, anchoredSeq: 10 }), 'Audit chain OK: 12 records checked, anchored up to seq 10.\n');
  assert.equal(auditVerdictText({ ok: true, checked: 1, anchoredSeq: 0 }), 'Audit chain OK: 1 record checked, not anchored yet.\n');
  assert.equal(
    auditVerdictText({ ok: false, checked: 2, firstBadSeq: 3, reason: 'RECORD_EDITED', anchoredSeq: 0 }, record(3)),
    [
      'Audit chain BROKEN at seq 3 (record 0190a000-0000-7000-8000-000000000003: POST /api/v1/trust-domains /api/v1/trust-domains at 2026-12-03T14:01:02.345Z)',
      "Reason:  RECORD_EDITED: the record's content no longer gives its stored hash (edited)",
      'Checked: 2 records good before it, not anchored yet',
      '',
    ].join('\n'),
  );
  // A deleted tail has no record to name.
  assert.match(auditVerdictText({ ok: false, checked: 9, firstBadSeq: 10, reason: 'TAIL_MISSING', anchoredSeq: 10 }), /^Audit chain BROKEN at seq 10\nReason: {2}TAIL_MISSING: /);
});
