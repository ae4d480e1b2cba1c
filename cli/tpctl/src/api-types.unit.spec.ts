// tpctl's client types are generated from the registry's checked-in OpenAPI document; this fails
// when src/api-types.generated.ts was not regenerated after the document changed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const root = process.env['TP_REPO_ROOT'] ?? resolve(__dirname, '..', '..', '..');
const script = join(root, 'cli', 'tpctl', 'scripts', 'gen-api-types.mjs');
const openapi = join(root, 'services', 'registry', 'openapi.json');
const generated = join(root, 'cli', 'tpctl', 'src', 'api-types.generated.ts');

function check(...args: string[]) {
  return spawnSync(process.execPath, [script, '--check', ...args], { encoding: 'utf8' });
}

test('the checked-in client types match the checked-in OpenAPI document', () => {
  const result = check();
  assert.equal(result.status, 0, `${result.stderr}run: node cli/tpctl/scripts/gen-api-types.mjs`);
});

test('a change to the document makes the check fail (the test can fail)', () => {
  const document = JSON.parse(readFileSync(openapi, 'utf8')) as { components: { schemas: Record<string, { properties: Record<string, unknown>; required: string[] }> } };
  const trustDomain = document.components.schemas['TrustDomain'];
  assert.ok(trustDomain);
  trustDomain.properties['newField'] = { type: 'string' };
  trustDomain.required.push('newField');
  const dir = mkdtempSync(join(tmpdir(), 'tp-api-types-'));
  const changed = join(dir, 'openapi.json');
  writeFileSync(changed, JSON.stringify(document));
  const stale = check('--openapi', changed, '--out', generated);
  assert.equal(stale.status, 1);
  assert.match(stale.stderr, /is stale/);
  // Regenerated from the changed document, the type carries the field.
  const out = join(dir, 'api-types.ts');
  const written = spawnSync(process.execPath, [script, '--openapi', changed, '--out', out], { encoding: 'utf8' });
  assert.equal(written.status, 0, written.stderr);
  assert.match(readFileSync(out, 'utf8'), /export interface TrustDomain \{[^]*?\n {2}newField: string;\n/);
});

test('every component of the document is a generated type, with its required and optional fields', () => {
  const text = readFileSync(generated, 'utf8');
  const document = JSON.parse(readFileSync(openapi, 'utf8')) as { components: { schemas: Record<string, unknown> } };
  for (const name of Object.keys(document.components.schemas)) assert.match(text, new RegExp(`^export (interface|type) ${name}\\b`, 'm'), name);
  assert.match(text, /export interface Deployment \{[^]*?\n {2}trustDomainName\?: string;\n/);
  assert.match(text, /export interface Whoami \{[^]*?\n {2}tokenId: string;\n/);
});
