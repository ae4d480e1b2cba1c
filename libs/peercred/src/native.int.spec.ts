import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ADDON_PATH } from './native.js';
import type * as PeerCred from './index.js';

describe('addon loading', () => {
  const copies: string[] = [];
  after(() => copies.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('was built by the install script', () => {
    assert.ok(
      existsSync(ADDON_PATH),
      `${ADDON_PATH} is missing: run \`npm run install -w @trustplane/peercred\``,
    );
  });

  it('throws PEERCRED_ADDON_NOT_BUILT from a copy of the package without build/', () => {
    const pkg = mkdtempSync(join(tmpdir(), 'peercred-unbuilt-'));
    copies.push(pkg);
    cpSync(__dirname, join(pkg, 'dist'), { recursive: true });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- load the copy, not this module graph
    const copy = require(join(pkg, 'dist', 'index.js')) as typeof PeerCred;
    assert.throws(
      () => copy.getPeerCredentialsFromFd(0),
      (error: unknown) =>
        error instanceof copy.PeerCredError && error.code === 'PEERCRED_ADDON_NOT_BUILT',
    );
    // The /proc helpers do not need the addon.
    assert.equal(typeof copy.readProcessStartTime(process.pid), 'bigint');
  });
});

describe('addon argument checks', () => {
  it('refuses a descriptor that is not a non-negative integer instead of truncating it (EBADF)', async () => {
    const { loadAddon, nativeErrno } = await import('./native.js');
    const addon = loadAddon();
    for (const bad of [Number.NaN, 1.5, -1, 2 ** 31, Number.POSITIVE_INFINITY]) {
      for (const call of [
        () => addon.pidfdExited(bad),
        () => addon.getPeerPidfd(bad),
        () => addon.getPeerCred(bad),
      ]) {
        assert.throws(call, (error: unknown) => nativeErrno(error) === 9, `accepted ${bad}`);
      }
    }
  });
});
