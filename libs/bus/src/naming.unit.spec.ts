import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUS_USERS, inboxPrefixFor, isPrivateInboxSubject } from './index.js';

test('a private inbox is `_INBOX_<user>.` and a token: every bus user’s replies qualify', () => {
  for (const spec of Object.values(BUS_USERS)) {
    assert.equal(isPrivateInboxSubject(`${inboxPrefixFor(spec.user)}.Ab12Cd34.7`), true, spec.user);
  }
});

test('anything else is not a private inbox: the shared inbox, JetStream acks, request subjects, wildcards, nothing', () => {
  for (const subject of [
    '_INBOX.abc',
    '_INBOX_tp-registry',
    '_INBOX_tp-registry.',
    '_INBOX_.abc',
    '_INBOX_tp-registry.*',
    '_INBOX_tp-registry.>',
    '_INBOX_tp registry.abc',
    '$JS.ACK.TP_EVENTS.proj_x.1.42.42.1700000000000000000.0',
    'tp.cmd.signer.bundle',
    'tp.evt.t-x.ca.tdd-x',
    '',
    undefined,
    null,
  ]) {
    assert.equal(isPrivateInboxSubject(subject), false, String(subject));
  }
});
