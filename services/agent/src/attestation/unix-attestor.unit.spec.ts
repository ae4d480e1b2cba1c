import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AttestationError, UnixWorkloadAttestor, type ProcessInspector } from './unix-attestor.js';

/** A process table in memory; `startTimes` yields successive reads (to simulate pid reuse). */
function fakeInspector(
  startTimes: (bigint | undefined)[],
  exe = '/usr/bin/web',
): ProcessInspector & { reads: number } {
  const inspector = {
    reads: 0,
    startTime(): bigint | undefined {
      const value = startTimes[Math.min(inspector.reads, startTimes.length - 1)];
      inspector.reads++;
      return value;
    },
    exePath: () => exe,
    supplementaryGroups: () => Promise.resolve([27]),
    exeSha256: () => Promise.resolve('cd'.repeat(32)),
  };
  return inspector;
}

const missing = '/nonexistent/trustplane-test';
const creds = { pid: 4242, uid: 1000, gid: 1000 };

function attestor(inspector: ProcessInspector): UnixWorkloadAttestor {
  return new UnixWorkloadAttestor({ inspector, passwdPath: missing, groupPath: missing });
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AttestationError);
    return error.code;
  }
  return 'resolved';
}

describe('UnixWorkloadAttestor (fake /proc)', () => {
  it('resolves selectors when the process stays the same', async () => {
    const a = attestor(fakeInspector([77n]));
    const startTime = a.pin(creds);
    const result = await a.attest(creds, startTime);
    assert.deepEqual(result.selectors, [
      'unix:gid:1000',
      'unix:gid:27',
      'unix:path:/usr/bin/web',
      `unix:sha256:${'cd'.repeat(32)}`,
      'unix:uid:1000',
    ]);
    assert.equal(result.selectorKey, result.selectors.join('\n'));
    assert.equal(result.parsedSelectors.length, result.selectors.length);
  });

  it('refuses when the pid was reused while its facts were read', async () => {
    const a = attestor(fakeInspector([77n, 78n]));
    const startTime = a.pin(creds);
    assert.equal(await code(a.attest(creds, startTime)), 'ATTESTATION_PROCESS_REPLACED');
  });

  it('refuses when the process exited while its facts were read', async () => {
    const a = attestor(fakeInspector([77n, undefined]));
    const startTime = a.pin(creds);
    assert.equal(await code(a.attest(creds, startTime)), 'ATTESTATION_PROCESS_GONE');
  });

  it('refuses at accept a gone process and a pid from an invisible namespace', () => {
    assert.throws(() => attestor(fakeInspector([undefined])).pin(creds), {
      code: 'ATTESTATION_PROCESS_GONE',
    });
    assert.throws(() => attestor(fakeInspector([1n])).pin({ ...creds, pid: 0 }), {
      code: 'ATTESTATION_PID_UNAVAILABLE',
    });
  });

  it('verify() re-checks the pinned process on later calls', () => {
    const a = attestor(fakeInspector([5n, 5n, 6n]));
    const startTime = a.pin(creds);
    a.verify(creds.pid, startTime);
    assert.throws(() => a.verify(creds.pid, startTime), { code: 'ATTESTATION_PROCESS_REPLACED' });
  });

  it('with a pidfd, verify() asks the pidfd and reads no start time', async () => {
    const inspector = fakeInspector([5n]);
    const a = attestor(inspector);
    let exited = false;
    const liveness = { hasExited: () => exited };
    const result = await a.attest(creds, a.pin(creds, liveness), liveness);
    assert.equal(result.liveness, liveness);
    const reads = inspector.reads;
    a.verifyAttestation(result);
    assert.equal(inspector.reads, reads, 'no /proc read on the per-call check');
    exited = true;
    assert.throws(() => a.verifyAttestation(result), { code: 'ATTESTATION_PROCESS_GONE' });
  });

  it('with a pidfd, refuses a process that exited before or during attestation', async () => {
    const gone = { hasExited: () => true };
    assert.throws(() => attestor(fakeInspector([5n])).pin(creds, gone), {
      code: 'ATTESTATION_PROCESS_GONE',
    });
    let checks = 0;
    const diesDuringAttestation = { hasExited: () => ++checks > 1 };
    const a = attestor(fakeInspector([5n]));
    const startTime = a.pin(creds, diesDuringAttestation);
    assert.equal(
      await code(a.attest(creds, startTime, diesDuringAttestation)),
      'ATTESTATION_PROCESS_GONE',
    );
  });

  it('turns a failing pidfd check into ATTESTATION_FAILED', () => {
    const broken = {
      hasExited: (): boolean => {
        throw new Error('EBADF');
      },
    };
    assert.throws(() => attestor(fakeInspector([5n])).verify(creds.pid, 5n, broken), {
      code: 'ATTESTATION_FAILED',
    });
  });

  it('drops a path that is not a valid selector value instead of failing', async () => {
    const a = attestor(fakeInspector([1n], '/tmp/evil\nunix:uid:0'));
    const result = await a.attest(creds, a.pin(creds));
    assert.equal(
      result.selectors.some((s) => s.startsWith('unix:path:')),
      false,
    );
    assert.equal(result.selectors.filter((s) => s === 'unix:uid:0').length, 0);
  });
});
