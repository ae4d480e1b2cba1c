import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestTrustDomain } from '../testing/fixtures.js';
import { certificatesPem } from '@trustplane/spiffe';
import { pemCertificates, StateStore, validityOf } from './state-store.js';

test('the agent state round-trips through its directory (0700) and files (0600)', async () => {
  const td = await createTestTrustDomain('state.example');
  const svid = await td.mintSvid('spiffe://state.example/agent/edge/node-1');
  const dir = join(mkdtempSync(join(tmpdir(), 'tp-agent-state-')), 'data');
  const store = new StateStore(dir);
  assert.equal(store.load(), undefined, 'nothing stored yet');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
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
  writeFileSync(join(dir, 'agent-state.json'), '{not json');
  assert.equal(store.load(), undefined, 'a corrupt state means attesting again, not crashing');
});

test('PEM helpers and validity', async () => {
  const td = await createTestTrustDomain('pem.example');
  const ders = [td.caCertificate, ...(await td.mintSvid('spiffe://pem.example/w', 600)).chain];
  assert.deepEqual(pemCertificates(certificatesPem(ders)), ders);
  const { notBefore, notAfter } = validityOf(ders[1] as Buffer);
  assert.ok(notAfter.getTime() - notBefore.getTime() <= 620_000);
});
