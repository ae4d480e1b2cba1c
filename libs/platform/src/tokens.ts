/** Injection tokens of the platform module. */
export const LOGGER = Symbol('LOGGER');
export const NATS = Symbol('NATS');
/** The NATS connection with what its server accepts (`NatsSession`). */
export const NATS_SESSION = Symbol('NATS_SESSION');
export const PG_POOL = Symbol('PG_POOL');
export const EVENT_LOG = Symbol('EVENT_LOG');
export const METRICS = Symbol('METRICS');
export const READINESS_CHECKS = Symbol('READINESS_CHECKS');
/** Conditions /readyz reports without failing (e.g. an anonymous bus allowed by config). */
export const READINESS_WARNINGS = Symbol('READINESS_WARNINGS');
export const CLOCK = Symbol('CLOCK');

/** Time as an input: services read `now` from here, tests substitute it. */
export interface Clock {
  now(): Date;
}

/** The real clock. */
export const systemClock: Clock = { now: () => new Date() };
