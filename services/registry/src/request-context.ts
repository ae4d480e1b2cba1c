// The command context of a request is built alike by every REST service (libs/api-kit).
export { commandContextFor, idempotencySeedOf, newIdFor, principalOf, requestFingerprint, type WriteContext } from '@trustplane/api-kit';
