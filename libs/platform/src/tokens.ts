/** Injection tokens of the platform module. */
export const LOGGER = Symbol('LOGGER');
export const NATS = Symbol('NATS');
export const PG_POOL = Symbol('PG_POOL');
export const EVENT_LOG = Symbol('EVENT_LOG');
export const METRICS = Symbol('METRICS');
export const READINESS_CHECKS = Symbol('READINESS_CHECKS');
export const CLOCK = Symbol('CLOCK');

/** Time as an input: services read `now` from here, tests substitute it. */
export interface Clock {
  now(): Date;
}

/** The real clock. */
export const systemClock: Clock = { now: () => new Date() };
