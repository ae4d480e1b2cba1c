import { createHash } from 'node:crypto';
import {
  accept,
  assertNever,
  DomainError,
  reject,
  type Decider,
  type TrustDomainNameReleased,
  type TrustDomainNameReserved,
} from '@trustplane/events';

/** Aggregate type of trust domain name reservations (one per organization and name). */
export const TRUST_DOMAIN_NAME = 'trustdomainname';

/** The reservation's aggregate id: a hash of the name (names contain dots, subjects may not). */
export function trustDomainNameKey(name: string): string {
  return createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 40);
}

/** Events of a name reservation. */
export type TrustDomainNameEvent = TrustDomainNameReserved | TrustDomainNameReleased;
/** Who holds the name, if anyone. */
export type TrustDomainNameState = { readonly holder: string | undefined; readonly name: string };
/** Reserve for a trust domain, or release. */
export type TrustDomainNameCommand =
  | { readonly kind: 'reserve'; readonly name: string; readonly trustDomainId: string }
  | { readonly kind: 'release'; readonly trustDomainId: string };

/** Keeps trust domain names unique within an organization, through optimistic concurrency. */
export const trustDomainNameDecider: Decider<TrustDomainNameState, TrustDomainNameCommand, TrustDomainNameEvent> = {
  aggregateType: TRUST_DOMAIN_NAME,
  initialState: () => ({ holder: undefined, name: '' }),
  evolve(_state, event) {
    switch (event.type) {
      case 'trustdomainname.reserved':
        return { holder: event.data.trustDomainId, name: event.data.name };
      case 'trustdomainname.released':
        return { holder: undefined, name: event.data.name };
      default:
        return assertNever(event, 'name event');
    }
  },
  decide(command, state) {
    switch (command.kind) {
      case 'reserve':
        if (state.holder === command.trustDomainId) return accept();
        if (state.holder !== undefined) {
          return reject(new DomainError('TRUST_DOMAIN_NAME_TAKEN', `a trust domain named ${command.name} already exists in this organization`, 'conflict'));
        }
        return accept({ type: 'trustdomainname.reserved', schemaVersion: 1, data: { name: command.name, trustDomainId: command.trustDomainId } });
      case 'release':
        if (state.holder !== command.trustDomainId) return accept();
        return accept({ type: 'trustdomainname.released', schemaVersion: 1, data: { name: state.name, trustDomainId: command.trustDomainId } });
      default:
        return assertNever(command, 'name command');
    }
  },
};
