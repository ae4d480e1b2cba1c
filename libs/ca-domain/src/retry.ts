/**
 * When a deployment's rotation work is tried again after it failed (a CA that could not be
 * built, a KeyManager that refused): exponential backoff per deployment, as a pure function of
 * the number of consecutive failures and the clock.
 */

/** The backoff of failed rotation work. */
export interface RetryBackoff {
  /** Delay after the first failure (ms). */
  readonly initialDelayMs: number;
  /** Largest delay (ms). */
  readonly maxDelayMs: number;
}

/** One second, doubling up to five minutes. */
export const DEFAULT_ROTATION_BACKOFF: RetryBackoff = Object.freeze({ initialDelayMs: 1_000, maxDelayMs: 5 * 60_000 });

/** Consecutive failures of one deployment and when it may be tried again. */
export interface RetryState {
  readonly failures: number;
  readonly notBefore: Date;
}

/** The delay after `failures` consecutive failures (≥ 1): initial · 2^(failures − 1), capped. */
export function retryDelayMs(failures: number, backoff: RetryBackoff = DEFAULT_ROTATION_BACKOFF): number {
  const exponent = Math.max(0, Math.min(failures - 1, 40));
  return Math.min(backoff.maxDelayMs, backoff.initialDelayMs * 2 ** exponent);
}

/** The state after one more failure at `now`. */
export function afterFailure(previous: RetryState | undefined, now: Date, backoff: RetryBackoff = DEFAULT_ROTATION_BACKOFF): RetryState {
  const failures = (previous?.failures ?? 0) + 1;
  return { failures, notBefore: new Date(now.getTime() + retryDelayMs(failures, backoff)) };
}

/** Whether work in `state` may run at `now` (no state: it never failed). */
export function mayRetry(state: RetryState | undefined, now: Date): boolean {
  return state === undefined || now.getTime() >= state.notBefore.getTime();
}
