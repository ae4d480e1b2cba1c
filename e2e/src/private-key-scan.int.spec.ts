// The private-key scan the e2e and integration suites end with, proven able to fail: real keys of
// a `disk` KeyManager store (unsealed with its KEK) planted in a real event stream, database
// rows and log text, in every encoding, without any PEM/PKCS#8 marker, are each reported.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { DiskKeyManager } from '@trustplane/keymanager';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  scanForPrivateKeys,
  testStreamSettings,
  unsealDiskKeyStore,
  type KnownPrivateKey,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';

let nc: NatsConnection;
let db: TestDatabase;
let stream: TestStream;
let keys: KnownPrivateKey[];
const store = mkdtempSync(join(tmpdir(), 'tp-scan-'));
const keyDir = join(store, 'keys');
const kekPath = join(store, 'kek');

before(async () => {
  nc = await connectTestNats();
  db = await createTestDatabase('key_scan');
  stream = testStreamSettings('key_scan');
  await (await jetstreamManager(nc)).streams.add({ name: stream.streamName, subjects: [`${stream.subjectPrefix}.>`] });
  await db.pool.query('CREATE TABLE planted (id serial PRIMARY KEY, note text, blob bytea)');
  const km = await DiskKeyManager.open({ dir: keyDir, kekPath, createKek: true });
  for (const [id, type] of [['ca-p256', 'ec-p256'], ['ca-p384', 'ec-p384'], ['jwt-rsa', 'rsa-2048']] as const) await km.create(id, type);
  keys = await unsealDiskKeyStore(keyDir, kekPath);
  // The unsealed keys are the store's: same public keys.
  for (const info of await km.list()) {
    const known = keys.find((k) => k.name === `sealed key ${info.keyId}`);
    assert.ok(known, info.keyId);
    assert.deepEqual(createPublicKey(known.key).export({ type: 'spki', format: 'der' }), Buffer.from(info.publicKeyDer));
  }
  await km.close();
});

after(async () => {
  await deleteTestStream(nc, stream.streamName);
  await nc.close();
  await db.drop();
});

/** The private scalar (EC) of a known key, raw, between unrelated bytes. */
function secretBlob(known: KnownPrivateKey): Buffer {
  const d = Buffer.from(String((known.key.export({ format: 'jwk' }) as { d?: string }).d), 'base64url');
  return Buffer.concat([randomBytes(5), d, randomBytes(3)]);
}

test('a clean stream, database and log: nothing found; the sealed files themselves are not a leak', async () => {
  const js = jetstream(nc);
  await js.publish(`${stream.subjectPrefix}.evt.clean`, JSON.stringify({ publicKey: createPublicKey(keys[0]!.key).export({ type: 'spki', format: 'der' }).toString('base64') }));
  const sealed = readdirSync(keyDir).map((name) => readFileSync(join(keyDir, name), 'utf8'));
  await db.pool.query('INSERT INTO planted (note) VALUES ($1)', [sealed.join('\n')]);
  const { found, events } = await scanForPrivateKeys({ nc, streamName: stream.streamName, pool: db.pool, logs: { service: sealed.join('\n') }, keys });
  assert.deepEqual(found, []);
  assert.equal(events, 1);
  await db.pool.query('DELETE FROM planted');
});

test('every planting of a real key is found: event (raw, hex, base64), row (bytea, base64url), log (hex)', async () => {
  const byId = (id: string): KnownPrivateKey | undefined => keys.find((k) => k.name === `sealed key ${id}`);
  const [p256, p384, rsa] = [byId('ca-p256'), byId('ca-p384'), byId('jwt-rsa')];
  assert.ok(p256 && p384 && rsa);
  const js = jetstream(nc);
  await js.publish(`${stream.subjectPrefix}.evt.raw`, secretBlob(p256));
  await js.publish(`${stream.subjectPrefix}.evt.hex`, JSON.stringify({ data: secretBlob(p384).toString('hex') }));
  await js.publish(`${stream.subjectPrefix}.evt.b64`, JSON.stringify({ data: secretBlob(p256).toString('base64') }));
  await db.pool.query('INSERT INTO planted (blob) VALUES ($1)', [secretBlob(p384)]);
  const rsaPrime = Buffer.from(String((rsa.key.export({ format: 'jwk' }) as { q?: string }).q), 'base64url');
  await db.pool.query('INSERT INTO planted (note) VALUES ($1)', [`x.${Buffer.concat([randomBytes(1), rsaPrime]).toString('base64url')}.y`]);
  const log = `{"level":30,"msg":"debug dump","bytes":"${secretBlob(p256).toString('hex').toUpperCase()}"}`;

  const { found } = await scanForPrivateKeys({ nc, streamName: stream.streamName, pool: db.pool, logs: { service: log }, keys });
  const has = (where: RegExp, what: RegExp): boolean => found.some((f) => where.test(f) && what.test(f));
  assert.ok(has(/^event #2:/, /sealed key ca-p256 \(d\) as raw bytes/), JSON.stringify(found));
  assert.ok(has(/^event #3:/, /sealed key ca-p384 \(d\) as hex/), JSON.stringify(found));
  assert.ok(has(/^event #4:/, /sealed key ca-p256 \(d\) as base64/), JSON.stringify(found));
  assert.ok(has(/^public\.planted:/, /sealed key ca-p384 \(d\) as hex/), 'bytea reads back as \\x… hex');
  assert.ok(has(/^public\.planted:/, /sealed key jwt-rsa \(q\) as base64url/), JSON.stringify(found));
  assert.ok(has(/^service logs:/, /sealed key ca-p256 \(d\) as hex/), JSON.stringify(found));
  assert.ok(found.every((f) => !/^event #1:/.test(f)), 'the clean event stays clean');
});

test('a scan that knows no key refuses to run', async () => {
  await assert.rejects(scanForPrivateKeys({ nc, streamName: stream.streamName, pool: db.pool, logs: {}, keys: [] }), /no known private keys/);
});
