import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

/** Repository root: set by tools/run-tests.mjs, else derived from libs/proto/dist. */
const root = process.env['TP_REPO_ROOT'] ?? resolve(__dirname, '..', '..', '..');
const committed = join(root, 'libs', 'proto', 'src', 'generated');

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

// Runs buf + ts-proto (real processes), hence an int test: the committed output in
// libs/proto/src/generated must be exactly what tools/gen-proto.sh produces from proto/.
describe('committed generated code', () => {
  const out = mkdtempSync(join(tmpdir(), 'gen-proto-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  it('is what tools/gen-proto.sh generates from proto/ (run it after editing a .proto)', () => {
    const run = spawnSync('bash', [join(root, 'tools', 'gen-proto.sh'), out], { encoding: 'utf8' });
    assert.equal(run.status, 0, `gen-proto.sh failed:\n${run.stdout}\n${run.stderr}`);
    const fresh = join(out, 'generated');
    assert.deepEqual(listFiles(committed), listFiles(fresh), 'generated file set differs');
    for (const file of listFiles(fresh)) {
      assert.equal(
        readFileSync(join(committed, file), 'utf8'),
        readFileSync(join(fresh, file), 'utf8'),
        `${file} is stale: run tools/gen-proto.sh`,
      );
    }
  });
});
