/** Injection token of the auth service's typed config. */
export const AUTH_CONFIG = Symbol('AUTH_CONFIG');
/** Injection token of the KeyManager holding the credential signing key. */
export const CREDENTIAL_KEY_MANAGER = Symbol('CREDENTIAL_KEY_MANAGER');
