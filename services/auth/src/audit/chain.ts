import { createHash } from 'node:crypto';
import type { AuditRecord } from '@trustplane/api-kit';

/** The `prevHash` of an organization's first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** A record as it sits in the chain: the published record, its position and the link. */
export interface ChainedRecord extends AuditRecord {
  /** Position in the organization's chain, from 1. */
  readonly seq: number;
  /** Hash of the record before (GENESIS_HASH for the first). */
  readonly prevHash: string;
  /** SHA-256 (hex) of prevHash ‖ the record's canonical JSON. */
  readonly hash: string;
}

/** JSON with object keys sorted at every level and no whitespace: one byte string per value. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The hash of a record at `seq` after `prevHash`: covers every field, its position and the link. */
export function recordHash(prevHash: string, seq: number, record: AuditRecord): string {
  const content = canonicalJson({ ...record, seq, prevHash });
  return createHash('sha256').update(prevHash, 'utf8').update(content, 'utf8').digest('hex');
}

/** Links a record to the head of its chain. */
export function chain(head: { seq: number; hash: string } | undefined, record: AuditRecord): ChainedRecord {
  const seq = (head?.seq ?? 0) + 1;
  const prevHash = head?.hash ?? GENESIS_HASH;
  return { ...record, seq, prevHash, hash: recordHash(prevHash, seq, record) };
}

/** An anchor of the chain in the event log (`audit.anchored`). */
export interface ChainAnchor {
  readonly seq: number;
  readonly hash: string;
}

/** Why a chain does not verify. */
export type ChainProblem =
  /** A record's content no longer gives its stored hash (edited). */
  | 'RECORD_EDITED'
  /** A position is missing: the record expected there is gone (deleted) or another took its place. */
  | 'SEQUENCE_BROKEN'
  /** A record does not link to the one before it (inserted, deleted or reordered). */
  | 'LINK_BROKEN'
  /** The chain ends before a position the event log anchored (its tail was deleted). */
  | 'TAIL_MISSING'
  /** The record at an anchored position is not the one anchored (rewritten from there on). */
  | 'ANCHOR_MISMATCH';

/** The verdict of {@link verifyChain}. */
export interface ChainVerdict {
  readonly ok: boolean;
  /** Records checked. */
  readonly checked: number;
  /** The first position that does not verify. */
  readonly firstBadSeq?: number;
  readonly reason?: ChainProblem;
  /** The anchors the chain was checked against (newest seq). */
  readonly anchoredSeq: number;
}

/**
 * Verifies an organization's chain, records in stored order (by seq): positions 1, 2, 3 … without
 * a gap, each record's hash recomputed from its content, each linked to the one before, and
 * every anchor from the event log matched (a deleted tail, or a chain rewritten consistently
 * from some position on, still contradicts the anchors).
 */
export function verifyChain(records: readonly ChainedRecord[], anchors: readonly ChainAnchor[]): ChainVerdict {
  const anchoredSeq = anchors.reduce((max, anchor) => Math.max(max, anchor.seq), 0);
  let prevHash = GENESIS_HASH;
  let checked = 0;
  const bad = (seq: number, reason: ChainProblem): ChainVerdict => ({ ok: false, checked, firstBadSeq: seq, reason, anchoredSeq });
  for (const [index, record] of records.entries()) {
    const expected = index + 1;
    if (record.seq !== expected) return bad(expected, 'SEQUENCE_BROKEN');
    const { seq, prevHash: storedPrev, hash, ...content } = record;
    // The link first: a moved record still hashes right but points at the wrong predecessor.
    if (storedPrev !== prevHash) return bad(seq, 'LINK_BROKEN');
    if (recordHash(storedPrev, seq, content) !== hash) return bad(seq, 'RECORD_EDITED');
    prevHash = hash;
    checked++;
  }
  const bySeq = new Map(records.map((record) => [record.seq, record.hash]));
  for (const anchor of [...anchors].sort((a, b) => a.seq - b.seq)) {
    const stored = bySeq.get(anchor.seq);
    if (stored === undefined) return bad(records.length + 1, 'TAIL_MISSING');
    if (stored !== anchor.hash) return bad(anchor.seq, 'ANCHOR_MISMATCH');
  }
  return { ok: true, checked, anchoredSeq };
}
