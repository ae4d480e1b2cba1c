import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProcfsInspector, UnixWorkloadAttestor } from './unix-attestor.js';

function stat(pid: number, startTime: number): string {
  // Fields 3.. after "(comm)"; starttime is field 22. comm contains spaces and ")" on purpose.
  const rest = Array.from({ length: 50 }, (_, i) => (i === 22 - 3 ? String(startTime) : '0'));
  return `${pid} (we ird) name) S ${rest.slice(1).join(' ')}\n`;
}

describe('UnixWorkloadAttestor against a fixture /proc and /etc', () => {
  let dir: string;
  let procRoot: string;
  let binary: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'agent-attest-'));
    procRoot = join(dir, 'proc');
    binary = join(dir, 'bin-web');
    writeFileSync(binary, 'first version of the binary');
    mkdirSync(join(procRoot, '321'), { recursive: true });
    writeFileSync(join(procRoot, '321', 'stat'), stat(321, 98765));
    writeFileSync(join(procRoot, '321', 'status'), 'Name:\tweb\nGroups:\t27 1000\n');
    symlinkSync(binary, join(procRoot, '321', 'exe'));
    writeFileSync(
      join(dir, 'passwd'),
      'root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n',
    );
    writeFileSync(join(dir, 'group'), 'root:x:0:\nsudo:x:27:alice\nalice:x:1000:\n');
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('derives the full selector set from /proc, passwd and group', async () => {
    const attestor = new UnixWorkloadAttestor({
      procRoot,
      passwdPath: join(dir, 'passwd'),
      groupPath: join(dir, 'group'),
    });
    const creds = { pid: 321, uid: 1000, gid: 1000 };
    const startTime = attestor.pin(creds);
    assert.equal(startTime, 98765n);
    const result = await attestor.attest(creds, startTime);
    const digest = createHash('sha256').update('first version of the binary').digest('hex');
    assert.deepEqual(result.selectors, [
      'unix:gid:1000',
      'unix:gid:27',
      'unix:group:alice',
      'unix:group:sudo',
      `unix:path:${binary}`,
      `unix:sha256:${digest}`,
      'unix:uid:1000',
      'unix:user:alice',
    ]);
  });

  it('caches digests per file version and recomputes when the file changes', async () => {
    const inspector = new ProcfsInspector(procRoot);
    const firstDigest = await inspector.exeSha256(321);
    assert.equal(await inspector.exeSha256(321), firstDigest);
    writeFileSync(binary, 'second, longer version of the binary');
    const secondDigest = await inspector.exeSha256(321);
    assert.equal(
      secondDigest,
      createHash('sha256').update('second, longer version of the binary').digest('hex'),
    );
    assert.equal(await inspector.exeSha256(999), undefined);
  });

  it('attests the real current process through /proc', async () => {
    const attestor = new UnixWorkloadAttestor();
    const creds = { pid: process.pid, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    const result = await attestor.attest(creds, attestor.pin(creds));
    const exe = realpathSync('/proc/self/exe');
    const digest = createHash('sha256').update(readFileSync(exe)).digest('hex');
    assert.ok(result.selectors.includes(`unix:uid:${creds.uid}`));
    assert.ok(result.selectors.includes(`unix:path:${exe}`));
    assert.ok(result.selectors.includes(`unix:sha256:${digest}`));
  });
});
