import {
  accept,
  assertNever,
  DomainError,
  reject,
  type Decider,
  type EnvelopeOf,
  type OrganizationEvent,
} from '@trustplane/events';

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

/** Checks an organization name: 1–100 characters, no control characters, no outer spaces. */
export function validateOrganizationName(name: string): DomainError | undefined {
  if (name.length === 0 || name.length > ORGANIZATION_NAME_MAX) {
    return new DomainError(
      'ORGANIZATION_NAME_INVALID',
      `organization name must be 1–${ORGANIZATION_NAME_MAX} characters`,
    );
  }
  if (name.trim() !== name || /\p{Cc}/u.test(name)) {
    return new DomainError(
      'ORGANIZATION_NAME_INVALID',
      'organization name must not start or end with spaces or contain control characters',
    );
  }
  return undefined;
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
        const invalid = validateOrganizationName(command.name);
        if (invalid !== undefined) return reject(invalid);
        return accept({ type: 'organization.created', schemaVersion: 1, data: { name: command.name } });
      }
      case 'rename': {
        if (!state.exists) {
          return reject(new DomainError('ORGANIZATION_NOT_FOUND', 'organization not found', 'not_found'));
        }
        const invalid = validateOrganizationName(command.name);
        if (invalid !== undefined) return reject(invalid);
        if (command.name === state.name) return accept();
        return accept({
          type: 'organization.renamed',
          schemaVersion: 2,
          data: { name: command.name, previousName: state.name },
        });
      }
      default:
        return assertNever(command, 'organization command');
    }
  },
};
