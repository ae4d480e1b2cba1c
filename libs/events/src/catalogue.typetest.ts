// Compile-only guard: the build fails if the event union ever accepts an unknown type.
import type { DomainEventDraft } from './catalogue.js';

export const knownEvent: DomainEventDraft = {
  type: 'organization.created',
  schemaVersion: 1,
  data: { name: 'acme' },
};

// @ts-expect-error — 'organization.exploded' is not in the catalogue.
export const unknownEvent: DomainEventDraft = { type: 'organization.exploded', schemaVersion: 1, data: {} };

// @ts-expect-error — a known type with the data of another version does not compile either.
export const wrongData: DomainEventDraft = { type: 'organization.renamed', schemaVersion: 2, data: { newName: 'x' } };
