import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  PeerCredError,
  processExeLinkPath,
  readProcessExePath,
  readProcessStartTime,
} from './index.js';

/** USER_HZ: the unit of `starttime`; 100 on every Linux ABI this runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
/** A pid above the kernel's maximum pid_max (2^22), so it never exists. */
const NEVER_A_PID = 0x7ffffffe;

function isCode(code: PeerCredError['code']): (error: unknown) => boolean {
  return (error) => error instanceof PeerCredError && error.code === code;
}

describe('readProcessStartTime against the real /proc', () => {
  it('matches this process start derived from /proc/uptime', () => {
    const startTicks = readProcessStartTime(process.pid);
    assert.equal(typeof startTicks, 'bigint');
    const bootUptimeSeconds = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const expectedStart = bootUptimeSeconds - process.uptime();
    const actualStart = Number(startTicks) / CLOCK_TICKS_PER_SECOND;
    // Field 21 (itrealvalue) would read 0 and field 23 (vsize) bytes: either would be far off.
    assert.ok(
      Math.abs(actualStart - expectedStart) < 2,
      `starttime ${actualStart}s vs expected ${expectedStart}s`,
    );
  });

  it('is stable for a live process and undefined once it has been reaped', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], {
      stdio: 'ignore',
    });
    await once(child, 'spawn');
    const pid = child.pid;
    assert.ok(pid !== undefined);
    const first = readProcessStartTime(pid);
    assert.ok(first !== undefined);
    assert.equal(readProcessStartTime(pid), first);
    child.kill('SIGKILL');
    await once(child, 'exit');
    // The pid could in theory be recycled; if so it must at least not look like the same process.
    assert.notEqual(readProcessStartTime(pid), first);
  });

  it('returns undefined for a pid that does not exist', () => {
    assert.equal(readProcessStartTime(NEVER_A_PID), undefined);
    assert.equal(readProcessExePath(NEVER_A_PID), undefined);
  });

  it('rejects pids that are not positive integers', () => {
    for (const pid of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
      assert.throws(() => readProcessStartTime(pid), isCode('PEERCRED_INVALID_PID'), `pid ${pid}`);
      assert.throws(() => processExeLinkPath(pid), isCode('PEERCRED_INVALID_PID'), `pid ${pid}`);
    }
  });
});

describe('/proc/<pid>/exe helpers', () => {
  it('resolves this process executable', () => {
    assert.equal(processExeLinkPath(process.pid), `/proc/${process.pid}/exe`);
    assert.equal(readProcessExePath(process.pid), realpathSync(process.execPath));
  });
});

describe('a custom procRoot', () => {
  let root: string;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'peercred-proc-'));
    mkdirSync(join(root, '42'));
    // comm with spaces and parentheses, as a process may name itself.
    const fields = [
      'S',
      '1',
      '42',
      '42',
      '0',
      '-1',
      '4194560',
      '0',
      '0',
      '0',
      '0',
      '0',
      '0',
      '0',
      '0',
      '20',
      '0',
      '1',
      '0',
      '987654321',
      '1000',
    ];
    writeFileSync(join(root, '42', 'stat'), `42 (evil) (name ) ${fields.join(' ')}\n`);
    mkdirSync(join(root, '43'));
    writeFileSync(join(root, '43', 'stat'), '43 (truncated) S 1\n');
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  it('reads stat under that root', () => {
    assert.equal(readProcessStartTime(42, { procRoot: root }), 987654321n);
    assert.equal(processExeLinkPath(42, { procRoot: root }), join(root, '42', 'exe'));
  });

  it('throws PEERCRED_PROC_MALFORMED for a truncated stat', () => {
    assert.throws(
      () => readProcessStartTime(43, { procRoot: root }),
      isCode('PEERCRED_PROC_MALFORMED'),
    );
  });

  it('throws PEERCRED_PROC_READ_FAILED when stat is not a readable file', () => {
    mkdirSync(join(root, '44', 'stat'), { recursive: true });
    assert.throws(
      () => readProcessStartTime(44, { procRoot: root }),
      (error: unknown) => {
        assert.ok(error instanceof PeerCredError);
        assert.equal(error.code, 'PEERCRED_PROC_READ_FAILED');
        assert.equal(error.systemCode, 'EISDIR');
        return true;
      },
    );
  });
});
