import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkSameProcess,
  parseGroup,
  parsePasswd,
  parseStatusGroups,
  unixSelectors,
  type UnixProcessFacts,
} from './unix-selectors.js';

const facts: UnixProcessFacts = {
  uid: 1000,
  gid: 1000,
  supplementaryGids: [27, 1000, 999],
  userName: 'alice',
  groupNames: new Map([
    [1000, 'alice'],
    [27, 'sudo'],
  ]),
  exePath: '/usr/bin/web',
  exeSha256: 'ab'.repeat(32),
};

describe('unixSelectors', () => {
  it('derives uid, user, gid, group, path and sha256 selectors, sorted and unique', () => {
    assert.deepEqual(unixSelectors(facts), [
      'unix:gid:1000',
      'unix:gid:27',
      'unix:gid:999',
      'unix:group:alice',
      'unix:group:sudo',
      `unix:path:/usr/bin/web`,
      `unix:sha256:${'ab'.repeat(32)}`,
      'unix:uid:1000',
      'unix:user:alice',
    ]);
  });

  it('omits facts that could not be read (omission only narrows matches)', () => {
    assert.deepEqual(
      unixSelectors({
        uid: 0,
        gid: 0,
        supplementaryGids: [],
        userName: undefined,
        groupNames: new Map(),
        exePath: undefined,
        exeSha256: undefined,
      }),
      ['unix:gid:0', 'unix:uid:0'],
    );
  });

  it('emits no path selector for a deleted or replaced binary', () => {
    const selectors = unixSelectors({ ...facts, exePath: '/usr/bin/web (deleted)' });
    assert.equal(selectors.filter((s) => s.startsWith('unix:path:')).length, 0);
  });
});

describe('passwd, group and status parsing', () => {
  it('maps uid and gid to names; first line wins; junk is skipped', () => {
    const passwd = parsePasswd(
      [
        'root:x:0:0:root:/root:/bin/bash',
        '# comment',
        '+nis',
        'broken',
        'alice:x:1000:1000::/home/alice:/bin/sh',
        'alias:x:1000:1000::/:/bin/sh',
        'bad:x:notanumber:1::/:/bin/sh',
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      [...passwd],
      [
        [0, 'root'],
        [1000, 'alice'],
      ],
    );
    const group = parseGroup('root:x:0:\nsudo:x:27:alice,bob\nnogroup:x:65534:\n');
    assert.deepEqual(
      [...group],
      [
        [0, 'root'],
        [27, 'sudo'],
        [65534, 'nogroup'],
      ],
    );
  });

  it('reads supplementary groups from /proc/<pid>/status', () => {
    const status = 'Name:\tweb\nUid:\t1000\t1000\t1000\t1000\nGroups:\t4 24 27 1000 \nNgid:\t0\n';
    assert.deepEqual(parseStatusGroups(status), [4, 24, 27, 1000]);
    assert.deepEqual(parseStatusGroups('Name:\tx\nGroups:\t\n'), []);
    assert.deepEqual(parseStatusGroups('Name:\tx\n'), []);
  });
});

describe('pid-reuse guard', () => {
  it('accepts the same process, refuses a gone or replaced one', () => {
    assert.equal(checkSameProcess(100n, 100n), undefined);
    assert.equal(checkSameProcess(100n, undefined), 'PROCESS_GONE');
    assert.equal(checkSameProcess(undefined, 100n), 'PROCESS_GONE');
    assert.equal(checkSameProcess(100n, 101n), 'PROCESS_REPLACED');
  });
});
