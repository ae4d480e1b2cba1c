import { accept, assertNever, DomainError, reject, type AuditAnchored, type Decider } from '@trustplane/events';
import type { ChainAnchor } from './chain.js';

/** Aggregate type of an organization's audit chain anchors (one aggregate per organization, id = `t-…`). */
export const AUDIT = 'audit';

/** Every anchor of an organization's chain, oldest first. */
export interface AnchorState {
  readonly anchors: readonly ChainAnchor[];
}

/** Anchor the head of the chain (no event when that position is already anchored). */
export interface AnchorCommand {
  readonly kind: 'anchor';
  readonly organizationId: string;
  readonly seq: number;
  readonly hash: string;
}

/** The anchors of one organization's audit chain in the event log. */
export const auditAnchorDecider: Decider<AnchorState, AnchorCommand, AuditAnchored> = {
  aggregateType: AUDIT,
  initialState: () => ({ anchors: [] }),
  evolve(state, event) {
    switch (event.type) {
      case 'audit.anchored':
        return { anchors: [...state.anchors, { seq: event.data.seq, hash: event.data.hash }] };
      default:
        return assertNever(event.type, 'audit event');
    }
  },
  decide(command, state) {
    if (!Number.isSafeInteger(command.seq) || command.seq < 1 || !/^[0-9a-f]{64}$/.test(command.hash)) {
      return reject(new DomainError('AUDIT_ANCHOR_INVALID', 'an anchor names a position (≥ 1) and a SHA-256 hash'));
    }
    const newest = state.anchors.at(-1);
    if (newest !== undefined && newest.seq >= command.seq) return accept();
    return accept({ type: 'audit.anchored', schemaVersion: 1, data: { organizationId: command.organizationId, seq: command.seq, hash: command.hash } });
  },
};
