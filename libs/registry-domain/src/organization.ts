import {
  accept,
  assertNever,
  DomainError,
  reject,
  type Decider,
  type EnvelopeOf,
  type OrganizationEvent,
} from '@trustplane/events';
import { checkTextField, refuseIdLikeName } from './text.js';

/** Aggregate type of organizations in subjects and envelopes. */
export const ORGANIZATION = 'organization';

/** Longest organization name accepted. */
export const ORGANIZATION_NAME_MAX = 100;

/** State of one organization. */
export type OrganizationState =
  | { readonly exists: false }
  | {
      readonly exists: true;
      readonly id: string;
      readonly name: string;
      readonly createdAt: string;
      readonly updatedAt: string;
    };

/** Commands the organization aggregate decides. */
export type OrganizationCommand =
  | { readonly kind: 'create'; readonly id: string; readonly name: string }
  | { readonly kind: 'rename'; readonly name: string };

/**
 * Checks an organization name with the shared text rule (1–100 characters, one line), without
 * outer spaces and not shaped like a resource id. Returns the normalized name or the refusal.
 */
export function organizationNameOf(name: string): string | DomainError {
  const checked = checkTextField('ORGANIZATION_NAME_INVALID', 'name', name, { maxLength: ORGANIZATION_NAME_MAX, minLength: 1 });
  if (checked instanceof DomainError) return checked;
  if (checked.trim() !== checked) {
    return new DomainError('ORGANIZATION_NAME_INVALID', 'organization name must not start or end with spaces');
  }
  return refuseIdLikeName('ORGANIZATION_NAME_INVALID', 'name', checked) ?? checked;
}

/** Why an organization name is refused, or undefined when {@link organizationNameOf} accepts it. */
export function validateOrganizationName(name: string): DomainError | undefined {
  const checked = organizationNameOf(name);
  return checked instanceof DomainError ? checked : undefined;
}

/** The organization aggregate as a pure decider. */
export const organizationDecider: Decider<OrganizationState, OrganizationCommand, OrganizationEvent> = {
  aggregateType: ORGANIZATION,
  initialState: () => ({ exists: false }),
  evolve(state, event: EnvelopeOf<OrganizationEvent>): OrganizationState {
    switch (event.type) {
      case 'organization.created':
        return {
          exists: true,
          id: event.aggregateId,
          name: event.data.name,
          createdAt: event.occurredAt,
          updatedAt: event.occurredAt,
        };
      case 'organization.renamed':
        return state.exists ? { ...state, name: event.data.name, updatedAt: event.occurredAt } : state;
      default:
        return assertNever(event, 'organization event');
    }
  },
  decide(command, state) {
    switch (command.kind) {
      case 'create': {
        if (state.exists) {
          return reject(new DomainError('ORGANIZATION_EXISTS', `organization ${state.id} already exists`, 'conflict'));
        }
        const name = organizationNameOf(command.name);
        if (name instanceof DomainError) return reject(name);
        return accept({ type: 'organization.created', schemaVersion: 1, data: { name } });
      }
      case 'rename': {
        if (!state.exists) {
          return reject(new DomainError('ORGANIZATION_NOT_FOUND', 'organization not found', 'not_found'));
        }
        const name = organizationNameOf(command.name);
        if (name instanceof DomainError) return reject(name);
        if (name === state.name) return accept();
        return accept({
          type: 'organization.renamed',
          schemaVersion: 2,
          data: { name, previousName: state.name },
        });
      }
      default:
        return assertNever(command, 'organization command');
    }
  },
};
