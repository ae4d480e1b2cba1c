import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditRecord } from '@trustplane/api-kit';
import { canonicalJson, chain, GENESIS_HASH, recordHash, verifyChain, type ChainedRecord } from './chain.js';

const record = (n: number): AuditRecord => ({
  id: `0190a000-0000-7000-8000-00000000000${n}`,
  service: 'registry',
  organizationId: 't-0000000001',
  actor: { kind: 'token', id: 'tok-0000000001' },
  action: 'POST /api/v1/trust-domains',
  resource: `/api/v1/trust-domains/td-000000000${n}`,
  outcome: n % 2 === 0 ? 'refused' : 'succeeded',
  status: n % 2 === 0 ? 409 : 201,
  code: n % 2 === 0 ? 'TRUST_DOMAIN_NAME_TAKEN' : null,
  occurredAt: `2026-01-01T00:00:0${n}.000Z`,
});

function build(count: number): ChainedRecord[] {
  const out: ChainedRecord[] = [];
  for (let n = 1; n <= count; n++) out.push(chain(out.at(-1), record(n)));
  return out;
}

test('canonical JSON sorts keys at every level and drops nothing but undefined', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: null, y: 'x' }], c: true } }), '{"a":{"c":true,"d":[2,{"y":"x","z":null}]},"b":1}');
});

test('each record links to the one before and hashes its position', () => {
  const records = build(3);
  assert.equal(records[0]?.prevHash, GENESIS_HASH);
  assert.equal(records[1]?.prevHash, records[0]?.hash);
  assert.notEqual(recordHash(GENESIS_HASH, 1, record(1)), recordHash(GENESIS_HASH, 2, record(1)));
  assert.deepEqual(verifyChain(records, [{ seq: 3, hash: records[2]!.hash }]), { ok: true, checked: 3, anchoredSeq: 3 });
  assert.deepEqual(verifyChain([], []), { ok: true, checked: 0, anchoredSeq: 0 });
});

test('an edit, a deletion, an insertion, a reordering and a deleted tail are each caught', () => {
  const records = build(5);
  const anchors = [{ seq: 5, hash: records[4]!.hash }];
  const edited = records.map((r) => (r.seq === 2 ? { ...r, outcome: 'succeeded' as const } : r));
  assert.deepEqual(pick(verifyChain(edited, anchors)), [2, 'RECORD_EDITED']);
  assert.deepEqual(pick(verifyChain(records.filter((r) => r.seq !== 3), anchors)), [3, 'SEQUENCE_BROKEN']);
  const forged = chain(records[0], { ...record(9), resource: '/forged' });
  const inserted = [records[0]!, forged, ...records.slice(1).map((r) => ({ ...r, seq: r.seq + 1 }))];
  assert.deepEqual(pick(verifyChain(inserted, anchors)), [3, 'LINK_BROKEN']);
  const swapped = [records[0]!, { ...records[2]!, seq: 2 }, { ...records[1]!, seq: 3 }, records[3]!, records[4]!];
  assert.deepEqual(pick(verifyChain(swapped, anchors)), [2, 'LINK_BROKEN']);
  assert.deepEqual(pick(verifyChain(records.slice(0, 4), anchors)), [5, 'TAIL_MISSING']);
  // Rewritten consistently from the insertion on: only the anchor contradicts it.
  const rewritten: ChainedRecord[] = [records[0]!, forged];
  for (const { seq: _seq, prevHash: _prev, hash: _hash, ...content } of records.slice(1)) rewritten.push(chain(rewritten.at(-1), content));
  assert.deepEqual(pick(verifyChain(rewritten, [])), [undefined, undefined]);
  assert.deepEqual(pick(verifyChain(rewritten, anchors)), [5, 'ANCHOR_MISMATCH']);
});

function pick(verdict: ReturnType<typeof verifyChain>): [number | undefined, string | undefined] {
  return [verdict.firstBadSeq, verdict.reason];
}
