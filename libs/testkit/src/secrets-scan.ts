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

/** Where a test suite may have left traces: its event stream, its database, its log text. */
export interface PrivateKeyScanScope {
  readonly nc: NatsConnection;
  readonly streamName: string;
  readonly pool: Pool;
  /** Named bodies of text to scan (service logs). */
  readonly logs: Readonly<Record<string, string>>;
}

/**
 * Scans every event of the stream, every row of every table of the database and the given
 * logs for private key material; returns where something was found (empty when clean) and
 * how many events were read.
 */
export async function scanForPrivateKeys(scope: PrivateKeyScanScope): Promise<{ found: string[]; events: number }> {
  const jsm = await jetstreamManager(scope.nc);
  const last = (await jsm.streams.info(scope.streamName)).state.last_seq;
  const found: string[] = [];
  for (let seq = 1; seq <= last; seq++) {
    const message = await jsm.streams.getMessage(scope.streamName, { seq });
    const hits = findPrivateKeyMaterial(new TextDecoder().decode(message?.data));
    if (hits.length > 0) found.push(`event #${seq}: ${hits.join(', ')}`);
  }
  const tables = await scope.pool.query<{ table_schema: string; table_name: string }>(
    `SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`,
  );
  for (const { table_schema, table_name } of tables.rows) {
    const rows = await scope.pool.query<{ row: string }>(`SELECT to_jsonb(t)::text AS row FROM "${table_schema}"."${table_name}" t`);
    for (const { row } of rows.rows) {
      const hits = findPrivateKeyMaterial(row);
      if (hits.length > 0) found.push(`${table_schema}.${table_name}: ${hits.join(', ')}`);
    }
  }
  for (const [name, text] of Object.entries(scope.logs)) {
    const hits = findPrivateKeyMaterial(text);
    if (hits.length > 0) found.push(`${name} logs: ${hits.join(', ')}`);
  }
  return { found, events: last };
}
