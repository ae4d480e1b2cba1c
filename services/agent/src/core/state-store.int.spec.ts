import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestTrustDomain } from '../testing/fixtures.js';
import { certificatesPem } from '@trustplane/spiffe';
import { AgentStateError, KEY_FILE, pemCertificates, STATE_FILE, StateStore, validityOf } from './state-store.js';

test('the agent state round-trips through its directory (0700) and files (0600)', async () => {
  const td = await createTestTrustDomain('state.example');
  const svid = await td.mintSvid('spiffe://state.example/agent/edge/node-1');
  const dir = join(mkdtempSync(join(tmpdir(), 'tp-agent-state-')), 'data');
  const store = new StateStore(dir);
  assert.equal(store.load(), undefined, 'nothing stored yet');
  const privateKey = createPrivateKey({ key: svid.privateKey, format: 'der', type: 'pkcs8' });
  store.save({
    trustDomainId: 'td-0000000001',
    trustDomain: 'state.example',
    spiffeId: 'spiffe://state.example/agent/edge/node-1',
    key: privateKey,
    chain: svid.chain,
    x509Authorities: td.bundle.x509Authorities,
    jwtAuthorities: td.bundle.jwtAuthorities,
  });
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  for (const file of ['agent-key.pem', 'agent-state.json'])
    assert.equal(statSync(join(dir, file)).mode & 0o777, 0o600, file);
  const loaded = store.load();
  assert.ok(loaded);
  assert.equal(loaded.spiffeId, 'spiffe://state.example/agent/edge/node-1');
  assert.deepEqual(loaded.chain, svid.chain);
  assert.deepEqual(loaded.x509Authorities, td.bundle.x509Authorities);
  assert.equal(
    loaded.key.export({ type: 'pkcs8', format: 'der' }).toString('hex'),
    privateKey.export({ type: 'pkcs8', format: 'der' }).toString('hex'),
  );
  assert.doesNotMatch(
    readFileSync(join(dir, 'agent-state.json'), 'utf8'),
    /PRIVATE KEY/,
    'the key is only in its own file',
  );
});

test('a state that cannot be read back is an AgentStateError naming the file, never "absent"', async () => {
  const td = await createTestTrustDomain('broken.example');
  const svid = await td.mintSvid('spiffe://broken.example/agent/edge/node-1');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const fresh = (): { dir: string; store: StateStore } => {
    const dir = join(mkdtempSync(join(tmpdir(), 'tp-agent-state-')), 'data');
    const store = new StateStore(dir);
    store.save({
      trustDomainId: 'td-0000000001',
      trustDomain: 'broken.example',
      spiffeId: 'spiffe://broken.example/agent/edge/node-1',
      key: createPrivateKey({ key: svid.privateKey, format: 'der', type: 'pkcs8' }),
      chain: svid.chain,
      x509Authorities: td.bundle.x509Authorities,
      jwtAuthorities: [],
    });
    assert.ok(store.load(), 'the intact state loads');
    return { dir, store };
  };
  const refused = (store: StateStore, code: string, file: string, message: RegExp): void =>
    void assert.throws(
      () => store.load(),
      (e: unknown) => e instanceof AgentStateError && e.code === code && e.file === file && message.test(e.message),
    );

  const intact = fresh().store.load();
  assert.ok(intact);
  let { dir, store } = fresh();
  writeFileSync(join(dir, STATE_FILE), '{not json');
  refused(store, 'STATE_CORRUPT', join(dir, STATE_FILE), /is corrupt/);

  ({ dir, store } = fresh());
  writeFileSync(join(dir, STATE_FILE), JSON.stringify({ spiffeId: 'spiffe://broken.example/x', chain: 'nope' }));
  refused(store, 'STATE_CORRUPT', join(dir, STATE_FILE), /fields missing/);

  ({ dir, store } = fresh());
  writeFileSync(join(dir, KEY_FILE), 'not a key');
  refused(store, 'STATE_CORRUPT', join(dir, KEY_FILE), /holds no private key/);

  ({ dir, store } = fresh());
  writeFileSync(join(dir, KEY_FILE), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  refused(store, 'STATE_CORRUPT', join(dir, STATE_FILE), /do not belong together/);

  ({ dir, store } = fresh());
  rmSync(join(dir, STATE_FILE));
  refused(store, 'STATE_INCOMPLETE', join(dir, STATE_FILE), /is missing while .*agent-key\.pem exists/);

  ({ dir, store } = fresh());
  rmSync(join(dir, KEY_FILE));
  mkdirSync(join(dir, KEY_FILE));
  refused(store, 'STATE_UNREADABLE', join(dir, KEY_FILE), /cannot read/);

  // Writing where a file stands in for the directory: a typed error naming the path.
  const blocked = join(mkdtempSync(join(tmpdir(), 'tp-agent-state-')), 'file');
  writeFileSync(blocked, '');
  assert.throws(
    () => new StateStore(join(blocked, 'data')).save(intact),
    (e: unknown) => e instanceof AgentStateError && e.code === 'STATE_WRITE_FAILED' && e.file === join(blocked, 'data'),
  );
});

test('PEM helpers and validity', async () => {
  const td = await createTestTrustDomain('pem.example');
  const ders = [td.caCertificate, ...(await td.mintSvid('spiffe://pem.example/w', 600)).chain];
  assert.deepEqual(pemCertificates(certificatesPem(ders)), ders);
  const { notBefore, notAfter } = validityOf(ders[1] as Buffer);
  assert.ok(notAfter.getTime() - notBefore.getTime() <= 620_000);
});
