import { createDecipheriv, createPrivateKey, type KeyObject } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';

/** Markers of private key material in text: PEM blocks, PKCS#8 DER (base64 or hex), JWK `d`. */
const PRIVATE_KEY_MARKERS: readonly { readonly name: string; readonly pattern: RegExp }[] = [
  { name: 'PEM private key', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { name: 'PKCS#8 EC P-256 (base64)', pattern: /MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEH/ },
  { name: 'PKCS#8 EC P-384 (base64)', pattern: /MIG2AgEAMBAGByqGSM49AgEGBSuBBAAi/ },
  { name: 'PKCS#8 RSA (base64)', pattern: /IBADANBgkqhkiG9w0BAQEFAASC/ },
  { name: 'PKCS#8 EC (hex)', pattern: /020100301306072a8648ce3d0201/i },
  { name: 'SEC1 EC private key (base64)', pattern: /MHcCAQEEI/ },
  { name: 'JWK private member d', pattern: /"d"\s*:\s*"[A-Za-z0-9_-]{20,}"/ },
];

/** Names the private-key markers found in `text` (empty when there are none). */
export function findPrivateKeyMaterial(text: string): string[] {
  return PRIVATE_KEY_MARKERS.filter((m) => m.pattern.test(text)).map((m) => m.name);
}

/** A private key the system under test holds, to be searched for byte for byte. */
export interface KnownPrivateKey {
  /** How a hit names it (e.g. the key id). */
  readonly name: string;
  readonly key: KeyObject;
}

/** The JWK members that hold private key bytes (EC and OKP `d`; RSA `d`, primes and CRT values). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const;

/** The encodings of one secret byte string searched for. */
interface Needle {
  readonly label: string;
  readonly raw: Buffer;
  readonly hex: string;
  /** Base64 (and base64url) of the bytes at each of the three alignments inside a longer encoding. */
  readonly base64: readonly string[];
  readonly base64url: readonly string[];
}

/**
 * The stable middle of the base64 of `bytes` when they start at byte offset 0, 1 or 2 of a longer
 * encoded buffer: characters that mix in neighbouring bytes are cut off at both ends.
 */
function base64Forms(bytes: Buffer, encoding: 'base64' | 'base64url'): string[] {
  return [0, 1, 2].map((offset) => {
    const text = Buffer.concat([Buffer.alloc(offset), bytes]).toString(encoding).replace(/=+$/, '');
    const start = [0, 2, 3][offset] ?? 0;
    const end = (offset + bytes.length) % 3 === 0 ? text.length : text.length - 1;
    return text.slice(start, end);
  });
}

/** The secret byte strings of a private key: its private JWK members, each at least 16 bytes. */
function needlesOf(known: KnownPrivateKey): Needle[] {
  const jwk = known.key.export({ format: 'jwk' }) as Record<string, unknown>;
  const needles: Needle[] = [];
  for (const member of PRIVATE_JWK_MEMBERS) {
    const value = jwk[member];
    if (typeof value !== 'string') continue;
    const raw = Buffer.from(value, 'base64url');
    if (raw.length < 16) continue;
    needles.push({
      label: `${known.name} (${member})`,
      raw,
      hex: raw.toString('hex'),
      base64: base64Forms(raw, 'base64'),
      base64url: base64Forms(raw, 'base64url'),
    });
  }
  if (needles.length === 0) throw new Error(`${known.name}: no private key bytes to search for`);
  return needles;
}

/**
 * Where the actual bytes of `keys` occur in `data`, as `<key> (<member>) as <encoding>`: raw
 * bytes, hex (either case), base64 and base64url at any alignment (so also inside a base64
 * PKCS#8, SEC1 or JWK), including base64 wrapped over lines (PEM) or with escaped newlines (JSON).
 */
export function findKnownPrivateKeys(data: string | Uint8Array, keys: readonly KnownPrivateKey[]): string[] {
  return findNeedles(data, keys.flatMap(needlesOf));
}

function findNeedles(data: string | Uint8Array, needles: readonly Needle[]): string[] {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  const text = typeof data === 'string' ? data : bytes.toString('latin1');
  const lower = text.toLowerCase();
  const unwrapped = text.replace(/\\[nr]|\s/g, '');
  const found: string[] = [];
  for (const needle of needles) {
    const hits: string[] = [];
    if (bytes.includes(needle.raw)) hits.push('raw bytes');
    if (lower.includes(needle.hex)) hits.push('hex');
    if (needle.base64.some((form) => unwrapped.includes(form))) hits.push('base64');
    if (needle.base64url.some((form) => unwrapped.includes(form))) hits.push('base64url');
    for (const hit of hits) found.push(`${needle.label} as ${hit}`);
  }
  return found;
}

/**
 * The keys of a `disk` KeyManager store, unsealed with its key-encryption key: each `*.key` file
 * (JSON v1: AES-256-GCM over the PKCS#8 DER, nonce/ciphertext/tag base64, additional data
 * `trustplane-keymanager/sealed-key/v1\0<keyId>\0<keyType>\0<fingerprint>`). An independent
 * reader of the documented format: a file it cannot open fails the scan rather than shrink it.
 */
export async function unsealDiskKeyStore(dir: string, kekPath: string): Promise<KnownPrivateKey[]> {
  const kekFile = await readFile(kekPath);
  const kekText = kekFile.toString('utf8').trim();
  const kek = kekFile.length === 32 ? kekFile : /^[0-9a-f]{64}$/i.test(kekText) ? Buffer.from(kekText, 'hex') : undefined;
  if (kek === undefined) throw new Error(`${kekPath} is not a KEK (32 bytes or 64 hex characters)`);
  const keys: KnownPrivateKey[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.key')).sort()) {
    const sealed = JSON.parse(await readFile(join(dir, name), 'utf8')) as Record<string, string>;
    const decipher = createDecipheriv('aes-256-gcm', kek, Buffer.from(sealed['nonce'] ?? '', 'base64'));
    decipher.setAAD(Buffer.from(`trustplane-keymanager/sealed-key/v1\0${sealed['keyId']}\0${sealed['keyType']}\0${sealed['fingerprint']}`, 'utf8'));
    decipher.setAuthTag(Buffer.from(sealed['tag'] ?? '', 'base64'));
    const pkcs8 = Buffer.concat([decipher.update(Buffer.from(sealed['ciphertext'] ?? '', 'base64')), decipher.final()]);
    keys.push({ name: `sealed key ${sealed['keyId']}`, key: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }) });
  }
  return keys;
}

/** Where a test suite may have left traces: its event stream, its database, its log text. */
export interface PrivateKeyScanScope {
  readonly nc: NatsConnection;
  readonly streamName: string;
  readonly pool: Pool;
  /** Named bodies of text to scan (service logs). */
  readonly logs: Readonly<Record<string, string>>;
  /**
   * The private keys the system holds (e.g. {@link unsealDiskKeyStore} of the signer's store, the
   * agent's key, workload keys received): their actual bytes are searched for in every encoding.
   * Must not be empty: a scan that knows no key proves little.
   */
  readonly keys: readonly KnownPrivateKey[];
}

/** Markers and known key bytes found in one body of data. */
function hitsIn(data: string | Uint8Array, needles: readonly Needle[]): string[] {
  return [...findPrivateKeyMaterial(typeof data === 'string' ? data : new TextDecoder().decode(data)), ...findNeedles(data, needles)];
}

/**
 * Scans every event of the stream, every row of every table of the database and the given
 * logs for private key material (markers, and the actual bytes of `keys`); returns where
 * something was found (empty when clean) and how many events were read.
 */
export async function scanForPrivateKeys(scope: PrivateKeyScanScope): Promise<{ found: string[]; events: number }> {
  if (scope.keys.length === 0) throw new Error('scanForPrivateKeys: no known private keys to search for');
  const needles = scope.keys.flatMap(needlesOf);
  const jsm = await jetstreamManager(scope.nc);
  const last = (await jsm.streams.info(scope.streamName)).state.last_seq;
  const found: string[] = [];
  for (let seq = 1; seq <= last; seq++) {
    const message = await jsm.streams.getMessage(scope.streamName, { seq });
    const hits = hitsIn(message?.data ?? new Uint8Array(), needles);
    if (hits.length > 0) found.push(`event #${seq}: ${hits.join(', ')}`);
  }
  const tables = await scope.pool.query<{ table_schema: string; table_name: string }>(
    `SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`,
  );
  for (const { table_schema, table_name } of tables.rows) {
    const rows = await scope.pool.query<{ row: string }>(`SELECT to_jsonb(t)::text AS row FROM "${table_schema}"."${table_name}" t`);
    for (const { row } of rows.rows) {
      const hits = hitsIn(row, needles);
      if (hits.length > 0) found.push(`${table_schema}.${table_name}: ${hits.join(', ')}`);
    }
  }
  for (const [name, text] of Object.entries(scope.logs)) {
    const hits = hitsIn(text, needles);
    if (hits.length > 0) found.push(`${name} logs: ${hits.join(', ')}`);
  }
  return { found, events: last };
}
