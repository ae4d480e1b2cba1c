// Tests that need something of the machine (a tool such as openssl, python or go; root; a kernel
// feature) skip when it is missing on a developer's machine, but fail under CI: there a skip
// would let the run pass without the check ever having run.
import assert from 'node:assert/strict';

/** True when the run is CI's: `CI` set to anything but '', 'false' or '0'. */
export function underCi(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  const value = (env['CI'] ?? '').trim().toLowerCase();
  return value !== '' && value !== 'false' && value !== '0';
}

/**
 * The `skip` option of a test or suite whose prerequisite may be missing: the reason when it is
 * missing (skipped locally), but `false` under CI, so the test runs and fails. Pair it with
 * {@link requirePrerequisite} in the suite's `before` for a clear failure message.
 */
export function skipUnlessCi(missing: string | false): string | false {
  return missing !== false && !underCi() ? missing : false;
}

/** Fails with `missing` (the prerequisite that is not there), or does nothing when it is false. */
export function requirePrerequisite(missing: string | false): void {
  if (missing !== false) assert.fail(`${missing} (required when CI is set; skipped only on other runs)`);
}

/** Inside a running test: skips it with `reason` locally, fails it under CI. */
export function skipOrFailUnderCi(t: { skip(message?: string): void }, reason: string): void {
  if (underCi()) assert.fail(`${reason} (required when CI is set)`);
  t.skip(reason);
}
