import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CONFIG_SECTION,
  configSectionDecider,
  configSectionId,
  validateAgentSpec,
  type ConfigSectionCommand,
  type SectionValidator,
} from './index.js';
import { given, rejectedWith, when } from './testing.js';

// A stand-in for the KeyManager validator the registry injects (that one lives in an infra lib).
const keyManager: SectionValidator = (spec) => {
  const s = spec as Record<string, unknown>;
  if (s['kind'] === 'memory') return { ok: true, spec: { kind: 'memory' } };
  if (s['kind'] === 'webhook' && typeof s['webhookURL'] === 'string') return { ok: true, spec: { kind: 'webhook', webhookURL: s['webhookURL'] } };
  return { ok: false, errors: [{ field: 'spec.webhookURL', code: 'CONFIG_INVALID', message: 'required' }] };
};
const decider = configSectionDecider({ 'trust-domain-deployment': { 'key-manager': keyManager }, cluster: { agent: validateAgentSpec } });

const set = (extra: Partial<ConfigSectionCommand> = {}): ConfigSectionCommand => ({
  kind: 'set',
  targetKind: 'trust-domain-deployment',
  targetId: 'tdd-0000000001',
  trustDomainId: 'td-0000000001',
  section: 'key-manager',
  schema: 'v1',
  spec: { kind: 'memory' },
  ...extra,
});
const stored = (version: number, spec: Record<string, unknown> = { kind: 'memory' }) =>
  ({
    type: 'configsection.set',
    schemaVersion: 1,
    data: { targetKind: 'trust-domain-deployment', targetId: 'tdd-0000000001', trustDomainId: 'td-0000000001', section: 'key-manager', schema: 'v1', spec, version },
  }) as const;

test('config section id: <targetId>_<section>, one subject token; malformed parts refused', () => {
  assert.equal(CONFIG_SECTION, 'configsection');
  assert.equal(configSectionId('tdd-0000000001', 'key-manager'), 'tdd-0000000001_key-manager');
  assert.match(configSectionId('c-0000000001', 'agent'), /^[A-Za-z0-9_-]+$/);
  assert.throws(() => configSectionId('tdd_x', 'key-manager'), { code: 'CONFIG_TARGET_INVALID' });
  assert.throws(() => configSectionId('tdd-0000000001', 'key.manager'), { code: 'CONFIG_SECTION_UNKNOWN' });
});

test('config section: the first valid document becomes version 1, with the normalized spec', () => {
  assert.deepEqual(when(decider, given(decider), set({ spec: { kind: 'webhook', webhookURL: 'https://km.example' } })), {
    ok: true,
    events: [
      {
        type: 'configsection.set',
        schemaVersion: 1,
        data: {
          targetKind: 'trust-domain-deployment',
          targetId: 'tdd-0000000001',
          trustDomainId: 'td-0000000001',
          section: 'key-manager',
          schema: 'v1',
          spec: { kind: 'webhook', webhookURL: 'https://km.example' },
          version: 1,
        },
      },
    ],
  });
});

test('config section: given version 2, a new document becomes version 3; the same document is a no-op', () => {
  const state = given(decider, stored(1, { kind: 'webhook', webhookURL: 'https://a' }), stored(2));
  assert.equal(state.version, 2);
  const next = when(decider, state, set({ spec: { kind: 'webhook', webhookURL: 'https://b' }, expectedVersion: 2 }));
  assert.ok(next.ok);
  assert.equal(next.events[0]?.data.version, 3);
  assert.deepEqual(when(decider, state, set()), { ok: true, events: [] });
});

test('config section: a stale expected version is refused with both versions; 0 means "must not exist yet"', () => {
  const state = given(decider, stored(1));
  const stale = when(decider, state, set({ spec: { kind: 'webhook', webhookURL: 'https://b' }, expectedVersion: 0 }));
  assert.equal(rejectedWith(stale), 'CONFIG_VERSION_MISMATCH');
  assert.equal(!stale.ok && stale.error.kind, 'conflict');
  assert.deepEqual(!stale.ok && stale.error.details, { expectedVersion: 0, currentVersion: 1 });
  assert.equal(when(decider, given(decider), set({ expectedVersion: 0 })).ok, true);
  assert.equal(rejectedWith(when(decider, given(decider), set({ expectedVersion: 1 }))), 'CONFIG_VERSION_MISMATCH');
});

test('config section: an invalid spec is refused naming the failing field, and nothing is decided', () => {
  const refused = when(decider, given(decider), set({ spec: { kind: 'webhook' } }));
  assert.equal(rejectedWith(refused), 'CONFIG_INVALID');
  assert.deepEqual(!refused.ok && refused.error.details, { errors: [{ field: 'spec.webhookURL', code: 'CONFIG_INVALID', message: 'required' }] });
  assert.match(!refused.ok ? refused.error.message : '', /spec\.webhookURL: required/);
  const schema = when(decider, given(decider), set({ schema: 'v2' }));
  assert.equal(rejectedWith(schema), 'CONFIG_INVALID');
  assert.equal(!schema.ok && (schema.error.details?.['errors'] as { field: string }[])[0]?.field, 'schema');
});

test('config section: sections are per target kind', () => {
  const wrongKind = when(decider, given(decider), set({ targetKind: 'cluster', targetId: 'c-0000000001', section: 'key-manager' }));
  assert.equal(rejectedWith(wrongKind), 'CONFIG_SECTION_UNKNOWN');
  assert.match(!wrongKind.ok ? wrongKind.error.message : '', /known: agent/);
  assert.equal(rejectedWith(when(decider, given(decider), set({ section: 'agent' }))), 'CONFIG_SECTION_UNKNOWN');
});

test('agent section: small, bounded, unknown keys refused with their field', () => {
  const agent = (spec: unknown) => when(decider, given(decider), set({ targetKind: 'cluster', targetId: 'c-0000000001', section: 'agent', spec }));
  const ok = agent({ svidTtlSeconds: 3600, logLevel: 'debug' });
  assert.ok(ok.ok);
  assert.deepEqual(ok.events[0]?.data.spec, { svidTtlSeconds: 3600, logLevel: 'debug' });
  assert.ok(agent({}).ok, 'every key is optional');
  assert.deepEqual(validateAgentSpec({ svidTtlSeconds: 10, logLevel: 'loud', colour: 'red' }), {
    ok: false,
    errors: [
      { field: 'spec.colour', code: 'UNKNOWN_FIELD', message: 'unknown key for section agent' },
      { field: 'spec.svidTtlSeconds', code: 'RANGE', message: 'must be a whole number of seconds between 60 and 86400' },
      { field: 'spec.logLevel', code: 'ENUM', message: 'must be one of trace, debug, info, warn, error' },
    ],
  });
  assert.equal(validateAgentSpec(['x']).ok, false);
  assert.equal(validateAgentSpec({ svidTtlSeconds: 90.5 }).ok, false);
});
