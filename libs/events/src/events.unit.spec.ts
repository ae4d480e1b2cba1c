import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  aggregateSubject,
  decodeEvent,
  decodeEvents,
  encodeEvent,
  encodeEvents,
  EventDecodeError,
  isUuidv7,
  toEnvelope,
  upcast,
  uuidv7,
  type EventEnvelope,
} from './index.js';

const meta = {
  tenant: 't-0000000001',
  aggregateType: 'organization',
  aggregateId: 't-0000000001',
  occurredAt: '2026-01-01T00:00:00.000Z',
  actor: { kind: 'system', id: 'test' },
  causationId: 'c1',
  correlationId: 'c1',
} as const;

test('uuidv7 encodes the timestamp first and sets version and variant bits', () => {
  const id = uuidv7(0x0123456789ab, new Uint8Array(10).fill(0xff));
  assert.equal(id, '01234567-89ab-7fff-bfff-ffffffffffff');
  assert.ok(isUuidv7(uuidv7()));
  assert.ok(uuidv7(1000) < uuidv7(2000), 'ids sort by time');
});

test('upcast lifts organization.renamed v1 to v2', () => {
  const stored: EventEnvelope<string, number, unknown> = {
    ...meta,
    id: uuidv7(),
    type: 'organization.renamed',
    schemaVersion: 1,
    data: { newName: 'beta' },
  };
  const current = upcast(stored);
  assert.equal(current.schemaVersion, 2);
  assert.deepEqual(current.data, { name: 'beta', previousName: null });
});

test('upcast rejects unknown types and future versions with stable codes', () => {
  const base = { ...meta, id: uuidv7(), data: {} };
  assert.throws(
    () => upcast({ ...base, type: 'organization.exploded', schemaVersion: 1 }),
    (e: unknown) => e instanceof EventDecodeError && e.code === 'EVENT_TYPE_UNKNOWN',
  );
  assert.throws(
    () => upcast({ ...base, type: 'organization.created', schemaVersion: 9 }),
    (e: unknown) => e instanceof EventDecodeError && e.code === 'EVENT_VERSION_UNKNOWN',
  );
});

test('encode/decode round-trips an envelope and rejects malformed bytes', () => {
  const envelope = toEnvelope(
    { type: 'organization.created', schemaVersion: 1, data: { name: 'acme' } },
    meta,
    uuidv7(),
  );
  assert.deepEqual(decodeEvent(encodeEvent(envelope)), envelope);
  assert.throws(
    () => decodeEvent(Buffer.from('not json')),
    (e: unknown) => e instanceof EventDecodeError && e.code === 'EVENT_MALFORMED',
  );
  assert.throws(
    () => decodeEvent(Buffer.from('{"id":"x"}')),
    (e: unknown) => e instanceof EventDecodeError && e.code === 'EVENT_MALFORMED',
  );
});

test('the events of one decision are stored as one message and read back whole, each upcast; a partial or mixed batch is refused', () => {
  const created = toEnvelope({ type: 'organization.created', schemaVersion: 1, data: { name: 'acme' } }, meta, uuidv7());
  const renamedV1: EventEnvelope<string, number, unknown> = { ...meta, id: uuidv7(), type: 'organization.renamed', schemaVersion: 1, data: { newName: 'beta' } };
  assert.deepEqual(decodeEvents(encodeEvents([created])), [created], 'one event is stored as the plain envelope');
  assert.deepEqual(decodeEvent(encodeEvents([created])), created);
  const batch = decodeEvents(encodeEvents([created, renamedV1]));
  assert.deepEqual(batch.map((e) => [e.type, e.schemaVersion]), [['organization.created', 1], ['organization.renamed', 2]]);
  assert.deepEqual(batch[1]?.data, { name: 'beta', previousName: null }, 'upcast inside the batch');
  const malformed = (bytes: string, code: string): void =>
    assert.throws(() => decodeEvents(Buffer.from(bytes)), (e: unknown) => e instanceof EventDecodeError && e.code === code, bytes);
  malformed('[]', 'EVENT_MALFORMED');
  malformed(JSON.stringify([created, { id: 'x' }]), 'EVENT_MALFORMED');
  malformed(JSON.stringify([created, { ...renamedV1, type: 'organization.exploded' }]), 'EVENT_TYPE_UNKNOWN');
  malformed(JSON.stringify([created, { ...renamedV1, aggregateId: 't-0000000002' }]), 'EVENT_MALFORMED');
  assert.throws(() => encodeEvents([]), RangeError);
});

test('aggregate subjects refuse tokens that would break subject routing', () => {
  assert.equal(
    aggregateSubject('tp', { tenant: 't-1', aggregateType: 'organization', aggregateId: 't-1' }),
    'tp.evt.t-1.organization.t-1',
  );
  assert.throws(() =>
    aggregateSubject('tp', { tenant: 't.1', aggregateType: 'organization', aggregateId: 'x' }),
  );
  assert.throws(() =>
    aggregateSubject('tp', { tenant: 't-1', aggregateType: 'org*', aggregateId: 'x' }),
  );
});

test('type-level: an unknown event type does not compile', () => {
  const root = resolve(process.env['TP_REPO_ROOT'] ?? resolve(__dirname, '../../..'));
  const dir = mkdtempSync(join(tmpdir(), 'tp-typetest-'));
  const distIndex = resolve(root, 'libs/events/dist/index.js').replace(/\\/g, '/');
  writeFileSync(
    join(dir, 'probe.ts'),
    `import type { DomainEventDraft } from '${distIndex}';\n` +
      `export const e: DomainEventDraft = { type: 'organization.exploded', schemaVersion: 1, data: {} };\n`,
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', skipLibCheck: true, types: [] },
      files: ['probe.ts'],
    }),
  );
  const tsc = resolve(root, 'node_modules/typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
  assert.notEqual(result.status, 0, 'the probe must fail to compile');
  assert.match(result.stdout, /TS2322/);
  assert.match(result.stdout, /organization\.exploded/);
});
