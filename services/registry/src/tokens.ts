/** Injection token of the registry's typed config. */
export const REGISTRY_CONFIG = Symbol('REGISTRY_CONFIG');
