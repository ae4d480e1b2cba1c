import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DiskKeyManager } from './disk.js';
import { KeyManagerError } from './errors.js';
import { verifySignature } from './keys.js';
import { KEY_TYPES } from './types.js';

const root = mkdtempSync(join(tmpdir(), 'tp-km-disk-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function fresh(): { dir: string; kekPath: string } {
  n++;
  return { dir: join(root, `store-${n}`, 'keys'), kekPath: join(root, `store-${n}`, 'kek') };
}
function code(c: string): (err: unknown) => boolean {
  return (err) => err instanceof KeyManagerError && err.code === c;
}
const message = Buffer.from('tbs');

describe('DiskKeyManager', () => {
  it('creates the KEK file with mode 0600 and seals key files with mode 0600', async () => {
    const opts = fresh();
    const km = await DiskKeyManager.open({ ...opts, createKek: true });
    assert.equal(statSync(opts.kekPath).mode & 0o777, 0o600);
    assert.equal(statSync(opts.kekPath).size, 32);
    assert.equal(statSync(opts.dir).mode & 0o777, 0o700);
    await km.create('x509-CA-A', 'ec-p256');
    const files = readdirSync(opts.dir);
    assert.equal(files.length, 1, `no temp files left: ${files.join(',')}`);
    const file = join(opts.dir, files[0]!);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const sealed = readFileSync(file, 'utf8');
    assert.doesNotMatch(sealed, /PRIVATE KEY/);
    assert.equal(JSON.parse(sealed).alg, 'A256GCM');
    // An existing KEK is reused, not replaced.
    const kek = readFileSync(opts.kekPath);
    await (await DiskKeyManager.open({ ...opts, createKek: true })).close();
    assert.deepEqual(readFileSync(opts.kekPath), kek);
  });

  it('survives a restart: a new instance lists and signs with the same keys', async () => {
    const opts = fresh();
    const first = await DiskKeyManager.open({ ...opts, createKek: true });
    const created = [];
    for (const keyType of KEY_TYPES) created.push(await first.create(`key-${keyType}`, keyType));
    await first.close();

    const second = await DiskKeyManager.open(opts);
    assert.deepEqual(await second.list(), created);
    for (const info of created) {
      const sig = await second.sign(info.keyId, { message, hashAlgorithm: 'sha256' });
      assert.ok(verifySignature(info, { message, hashAlgorithm: 'sha256' }, sig), info.keyType);
    }
    await second.release('key-ec-p384');
    await second.close();
    const third = await DiskKeyManager.open(opts);
    assert.deepEqual(
      (await third.list()).map((k) => k.keyId),
      ['key-ec-p256', 'key-rsa-2048'],
    );
  });

  it('refuses a tampered sealed file with SEAL_INVALID', async () => {
    const opts = fresh();
    const km = await DiskKeyManager.open({ ...opts, createKek: true });
    await km.create('victim', 'ec-p256');
    await km.close();
    const file = join(opts.dir, readdirSync(opts.dir)[0]!);
    const original = readFileSync(file, 'utf8');
    const doc = JSON.parse(original) as Record<string, string>;

    const ct = Buffer.from(doc.ciphertext!, 'base64');
    ct.writeUInt8(ct.readUInt8(10) ^ 0x01, 10);
    writeFileSync(file, JSON.stringify({ ...doc, ciphertext: ct.toString('base64') }));
    await assert.rejects(DiskKeyManager.open(opts), code('SEAL_INVALID'));

    // Rebinding the sealed key to another id or type breaks the additional data.
    writeFileSync(file, JSON.stringify({ ...doc, keyType: 'ec-p384' }));
    await assert.rejects(DiskKeyManager.open(opts), code('SEAL_INVALID'));
    writeFileSync(file, 'not json');
    await assert.rejects(DiskKeyManager.open(opts), code('SEAL_INVALID'));

    writeFileSync(file, original);
    await (await DiskKeyManager.open(opts)).close();
  });

  it('refuses keys sealed under another KEK', async () => {
    const opts = fresh();
    await (await DiskKeyManager.open({ ...opts, createKek: true })).create('k', 'ec-p256');
    writeFileSync(opts.kekPath, randomBytes(32), { mode: 0o600 });
    await assert.rejects(DiskKeyManager.open(opts), code('SEAL_INVALID'));
  });

  it('refuses a KEK file that is missing, group/world accessible or the wrong size', async () => {
    const opts = fresh();
    await assert.rejects(DiskKeyManager.open(opts), code('KEK_INVALID'));
    await (await DiskKeyManager.open({ ...opts, createKek: true })).close();
    chmodSync(opts.kekPath, 0o644);
    await assert.rejects(
      DiskKeyManager.open(opts),
      (err: unknown) => code('KEK_INVALID')(err) && /chmod 600/.test(String(err)),
    );
    writeFileSync(opts.kekPath, randomBytes(16), { mode: 0o600 });
    chmodSync(opts.kekPath, 0o600);
    await assert.rejects(DiskKeyManager.open(opts), code('KEK_INVALID'));
    writeFileSync(opts.kekPath, `${randomBytes(32).toString('hex')}\n`);
    await (await DiskKeyManager.open(opts)).close();
  });

  it('removes leftovers of interrupted writes and refuses duplicates', async () => {
    const opts = fresh();
    const km = await DiskKeyManager.open({ ...opts, createKek: true });
    await km.create('k', 'ec-p256');
    await assert.rejects(km.create('k', 'ec-p256'), code('KEY_EXISTS'));
    await km.close();
    writeFileSync(join(opts.dir, 'k-abc.key.tmp-123456'), 'partial');
    const again = await DiskKeyManager.open(opts);
    assert.equal(readdirSync(opts.dir).length, 1);
    assert.equal((await again.list()).length, 1);
  });
});
