/**
 * The `disk` KeyManager: every private key sealed with AES-256-GCM under a key-encryption key
 * (KEK) read from a file, one file per key, written atomically (tmp + fsync + rename), mode 0600.
 *
 * Sealed file (JSON, version 1):
 *   { v: 1, alg: "A256GCM", keyId, keyType, fingerprint, nonce, ciphertext, tag }
 * with nonce/ciphertext/tag base64, plaintext = PKCS#8 DER of the private key, and
 * additional authenticated data = "trustplane-keymanager/sealed-key/v1\0" keyId "\0" keyType "\0" fingerprint,
 * so a sealed key cannot be renamed, retyped or paired with another public key without detection.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { KeyManagerError, toKeyManagerError } from './errors.js';
import { LocalKey, assertKeyId, assertKeyType } from './keys.js';
import { LocalKeyManager } from './local.js';
import type { Clock, KeyInfo, KeyType } from './types.js';

/** Options of the disk KeyManager. */
export interface DiskKeyManagerOptions {
  /** Directory holding the sealed key files (created 0700 if missing). */
  readonly dir: string;
  /** Path of the KEK file: 32 raw bytes or 64 hex characters, mode 0600 or stricter. */
  readonly kekPath: string;
  /** Create the KEK file (32 random bytes, mode 0600) if it does not exist. Default false. */
  readonly createKek?: boolean;
  /** Injected clock. */
  readonly clock?: Clock;
}

const SEAL_VERSION = 1;
const AAD_LABEL = 'trustplane-keymanager/sealed-key/v1';
const KEY_FILE_SUFFIX = '.key';
const TMP_MARKER = '.tmp-';
const KEK_LENGTH = 32;
const NONCE_LENGTH = 12;
const MAX_KEY_FILE_SIZE = 64 * 1024;

interface SealedKeyFile {
  v: number;
  alg: 'A256GCM';
  keyId: string;
  keyType: KeyType;
  fingerprint: string;
  nonce: string;
  ciphertext: string;
  tag: string;
}

/** File name of a key: the key id hashed, so any id maps to a short, safe name. */
function keyFileName(keyId: string): string {
  return `k-${createHash('sha256').update(keyId, 'utf8').digest('hex')}${KEY_FILE_SUFFIX}`;
}

function additionalData(keyId: string, keyType: KeyType, fingerprint: string): Buffer {
  return Buffer.from(`${AAD_LABEL}\0${keyId}\0${keyType}\0${fingerprint}`, 'utf8');
}

/**
 * Reads the KEK file, creating it first when `create` is set. Refuses files readable or writable
 * by group/others, non-regular files and anything that is not exactly 32 bytes of key.
 */
export async function loadKek(kekPath: string, create: boolean): Promise<Buffer> {
  if (create) {
    try {
      await fs.mkdir(dirname(kekPath), { recursive: true, mode: 0o700 });
      await writeFileAtomic(kekPath, randomBytes(KEK_LENGTH), { exclusive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new KeyManagerError('KEK_INVALID', `cannot create KEK file ${kekPath}`, {
          cause: err,
        });
      }
    }
  }
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(kekPath, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch (cause) {
    throw new KeyManagerError('KEK_INVALID', `cannot open KEK file ${kekPath}`, { cause });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile())
      throw new KeyManagerError('KEK_INVALID', `KEK ${kekPath} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      throw new KeyManagerError(
        'KEK_INVALID',
        `KEK file ${kekPath} has mode ${(st.mode & 0o777).toString(8)}; it must not be accessible by group or others (chmod 600)`,
      );
    }
    const raw = await handle.readFile();
    if (raw.length === KEK_LENGTH) return raw;
    const text = raw.toString('latin1').trim();
    if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
    throw new KeyManagerError(
      'KEK_INVALID',
      `KEK file ${kekPath} must hold 32 raw bytes or 64 hex characters`,
    );
  } finally {
    await handle.close();
  }
}

/** Writes `data` to `path` atomically: unique tmp file (0600) → fsync → rename → fsync dir. */
async function writeFileAtomic(
  path: string,
  data: Uint8Array,
  opts: { exclusive?: boolean } = {},
): Promise<void> {
  const tmp = `${path}${TMP_MARKER}${randomBytes(6).toString('hex')}`;
  const handle = await fs.open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    if (opts.exclusive) {
      // link() fails with EEXIST instead of replacing: exclusive create, still atomic.
      await fs.link(tmp, path);
      await fs.unlink(tmp);
    } else {
      await fs.rename(tmp, path);
    }
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function seal(kek: Buffer, key: LocalKey): SealedKeyFile {
  const { keyId, keyType, fingerprint } = key.info;
  const nonce = randomBytes(NONCE_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce);
  cipher.setAAD(additionalData(keyId, keyType, fingerprint));
  const plaintext = key.exportPkcs8ForSealing();
  try {
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      v: SEAL_VERSION,
      alg: 'A256GCM',
      keyId,
      keyType,
      fingerprint,
      nonce: nonce.toString('base64'),
      ciphertext: ciphertext.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
    };
  } finally {
    plaintext.fill(0);
  }
}

function parseSealed(file: string, raw: Buffer): SealedKeyFile {
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw new KeyManagerError('SEAL_INVALID', `sealed key file ${file} is not valid JSON`, {
      cause,
    });
  }
  const d = doc as Partial<Record<keyof SealedKeyFile, unknown>>;
  const strings = ['keyId', 'keyType', 'fingerprint', 'nonce', 'ciphertext', 'tag'] as const;
  if (
    typeof doc !== 'object' ||
    doc === null ||
    d.v !== SEAL_VERSION ||
    d.alg !== 'A256GCM' ||
    strings.some((k) => typeof d[k] !== 'string')
  ) {
    throw new KeyManagerError(
      'SEAL_INVALID',
      `sealed key file ${file} is malformed or of an unknown version`,
    );
  }
  return doc as SealedKeyFile;
}

function unseal(kek: Buffer, file: string, sealed: SealedKeyFile): LocalKey {
  try {
    assertKeyId(sealed.keyId);
    assertKeyType(sealed.keyType);
  } catch (cause) {
    throw new KeyManagerError('SEAL_INVALID', `sealed key file ${file} names an invalid key`, {
      cause,
    });
  }
  const nonce = Buffer.from(sealed.nonce, 'base64');
  const tag = Buffer.from(sealed.tag, 'base64');
  if (nonce.length !== NONCE_LENGTH || tag.length !== 16) {
    throw new KeyManagerError(
      'SEAL_INVALID',
      `sealed key file ${file} has a bad nonce or tag length`,
    );
  }
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, nonce);
    decipher.setAAD(additionalData(sealed.keyId, sealed.keyType, sealed.fingerprint));
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([
      decipher.update(Buffer.from(sealed.ciphertext, 'base64')),
      decipher.final(),
    ]);
  } catch (cause) {
    throw new KeyManagerError(
      'SEAL_INVALID',
      `sealed key file ${file} failed authentication (tampered, or sealed under another KEK)`,
      { cause },
    );
  }
  try {
    const key = LocalKey.fromPkcs8(sealed.keyId, sealed.keyType, plaintext);
    if (key.info.fingerprint !== sealed.fingerprint) {
      throw new KeyManagerError(
        'FINGERPRINT_MISMATCH',
        `sealed key file ${file}: fingerprint does not match the key`,
      );
    }
    return key;
  } catch (cause) {
    throw toKeyManagerError(
      cause,
      'SEAL_INVALID',
      `sealed key file ${file} holds no usable ${sealed.keyType} key`,
    );
  } finally {
    plaintext.fill(0);
  }
}

/** Sealed, file-backed KeyManager. Create with `DiskKeyManager.open()`. */
export class DiskKeyManager extends LocalKeyManager {
  readonly #dir: string;
  readonly #kek: Buffer;

  private constructor(dir: string, kek: Buffer, clock?: Clock) {
    super(clock);
    this.#dir = dir;
    this.#kek = kek;
  }

  /**
   * Opens (or initialises) the store: reads the KEK and unseals every key file. Fails closed:
   * one key file that does not authenticate fails the whole open with SEAL_INVALID.
   */
  static async open(options: DiskKeyManagerOptions): Promise<DiskKeyManager> {
    const kek = await loadKek(options.kekPath, options.createKek === true);
    const dir = options.dir;
    try {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (cause) {
      throw new KeyManagerError('STORE_IO', `cannot create key directory ${dir}`, { cause });
    }
    const km = new DiskKeyManager(dir, kek, options.clock);
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch (cause) {
      throw new KeyManagerError('STORE_IO', `cannot read key directory ${dir}`, { cause });
    }
    for (const name of names.sort()) {
      const path = join(dir, name);
      if (name.includes(TMP_MARKER)) {
        // Leftover of a write interrupted before its rename: never a committed key.
        await fs.rm(path, { force: true });
        continue;
      }
      if (!name.endsWith(KEY_FILE_SUFFIX)) continue;
      const raw = await readKeyFile(path);
      const key = unseal(kek, path, parseSealed(path, raw));
      if (keyFileName(key.info.keyId) !== name) {
        throw new KeyManagerError(
          'SEAL_INVALID',
          `sealed key file ${path} does not belong to key ${key.info.keyId}`,
        );
      }
      km.adopt(key);
    }
    return km;
  }

  protected override async persist(key: LocalKey): Promise<void> {
    const path = join(this.#dir, keyFileName(key.info.keyId));
    const body = Buffer.from(`${JSON.stringify(seal(this.#kek, key))}\n`, 'utf8');
    try {
      await writeFileAtomic(path, body, { exclusive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new KeyManagerError('KEY_EXISTS', `key ${key.info.keyId} already exists on disk`, {
          cause: err,
        });
      }
      throw new KeyManagerError('STORE_IO', `cannot write sealed key ${path}`, { cause: err });
    }
  }

  protected override async unpersist(info: KeyInfo): Promise<void> {
    const path = join(this.#dir, keyFileName(info.keyId));
    try {
      await fs.rm(path, { force: true });
      await fsyncDir(this.#dir);
    } catch (cause) {
      throw new KeyManagerError('STORE_IO', `cannot remove sealed key ${path}`, { cause });
    }
  }

  override async close(): Promise<void> {
    await super.close();
    this.#kek.fill(0);
  }
}

async function readKeyFile(path: string): Promise<Buffer> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch (cause) {
    throw new KeyManagerError('STORE_IO', `cannot open sealed key ${path}`, { cause });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size > MAX_KEY_FILE_SIZE) {
      throw new KeyManagerError(
        'SEAL_INVALID',
        `sealed key ${path} is not a regular file of sane size`,
      );
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
