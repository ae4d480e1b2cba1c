// The README's benchmark figures are the checked-in result files rendered by tools/bench-readme.mjs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '@trustplane/testkit';

interface BenchReadme {
  readResults(dir?: string): Record<string, Record<string, unknown>>;
  renderSection(results: Record<string, Record<string, unknown>>): string;
  currentSection(readme: string): string | undefined;
  withSection(readme: string, section: string): string;
  BENCHES: readonly string[];
}

const tool = (): Promise<BenchReadme> => import(join(repoRoot(), 'tools', 'bench-readme.mjs')) as Promise<BenchReadme>;

test('the README benchmark section is what tools/bench-readme.mjs renders from bench/results/*.json', async () => {
  const { readResults, renderSection, currentSection } = await tool();
  const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
  const section = currentSection(readme);
  assert.ok(section !== undefined, 'README.md has the generated section');
  assert.equal(section, renderSection(readResults()), 'run node tools/bench-readme.mjs after a bench run');
});

test('each checked-in result file has the machine facts beside its figures; a bench without one shows as not measured', async () => {
  const { readResults, renderSection, BENCHES } = await tool();
  const results = readResults();
  const rendered = renderSection(results);
  for (const bench of BENCHES) {
    const result = results[bench];
    if (result === undefined) {
      assert.match(rendered, new RegExp(`\\| \`${bench}\` \\| not measured`), `${bench} without a result file is marked not measured`);
      continue;
    }
    const machine = result['machine'] as Record<string, unknown>;
    for (const key of ['cpuModel', 'cores', 'loadAverageAtStart', 'node', 'rawSignPerSOneThread', 'rawSignPerSAllCores']) {
      assert.ok(machine[key] !== undefined, `${bench}: machine.${key}`);
    }
  }
});

test('a changed figure changes the rendered section, and a README edited by hand differs from it', async () => {
  const { readResults, renderSection, withSection, currentSection } = await tool();
  const results = readResults();
  const signer = results['signer'] ?? { bench: 'signer' };
  const changed = { ...results, signer: { ...signer, jwt_per_s: 1234567, jwt_ratio: 0.01 } };
  const rendered = renderSection(changed);
  assert.match(rendered, /1,234,567\/s/);
  assert.match(rendered, /\| 0\.01× \| ≥ 0\.30× \| ✗ \|/, 'a missed target is marked');
  assert.notEqual(rendered, renderSection(results));
  const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
  assert.equal(currentSection(withSection(readme, rendered)), rendered);
});
