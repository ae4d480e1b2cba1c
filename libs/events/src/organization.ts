import type { EventDefinition } from './envelope.js';

/** An organization (tenant) was created. */
export type OrganizationCreated = EventDefinition<
  'organization.created',
  1,
  {
    /** Display name, unique across the installation. */
    readonly name: string;
  }
>;

/**
 * An organization was renamed. Version 1 stored `{ newName }`; version 2 also records the
 * previous name (null when upcast from version 1, which did not keep it).
 */
export type OrganizationRenamed = EventDefinition<
  'organization.renamed',
  2,
  {
    readonly name: string;
    readonly previousName: string | null;
  }
>;

/** Every event of the organization aggregate. */
export type OrganizationEvent = OrganizationCreated | OrganizationRenamed;

/** Stored shape of `organization.renamed` version 1 (kept only for upcasting). */
export interface OrganizationRenamedV1Data {
  readonly newName: string;
}
