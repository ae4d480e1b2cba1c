// Compile-only guard: the build fails if the CA event / command unions accept what they must not.
import type { CaKeysetActivated, CaX509AuthorityData, DomainEventDraft } from '@trustplane/events';
import type { CaCommand } from './ca.js';

export const activated: DomainEventDraft = {
  type: 'ca.keyset_activated',
  schemaVersion: 1,
  data: {
    trustDomainId: 'td-1',
    keysetId: 'ks-1',
    previousKeysetId: null,
    reason: 'initial',
    activatedAt: '2026-01-01T00:00:00.000Z',
  },
};

export const badReason: CaKeysetActivated['data'] = {
  trustDomainId: 'td-1',
  keysetId: 'ks-1',
  previousKeysetId: null,
  // @ts-expect-error — 'whim' is not an activation reason.
  reason: 'whim',
  activatedAt: '',
};

export const noPrivateKey: CaX509AuthorityData = {
  keyHandle: 'x509-ks-1',
  certificate: '',
  subjectKeyId: '',
  publicKey: '',
  serialNumber: '',
  // @ts-expect-error — events have no place for private key material (security invariant 3).
  privateKey: 'MIG…',
};

// @ts-expect-error — 'rotate' is not a command (rotation is prepare + activate, or taint).
export const unknownCommand: CaCommand = { kind: 'rotate', keysetId: 'ks-1' };
