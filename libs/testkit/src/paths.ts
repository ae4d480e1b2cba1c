/** The repository root (set by tools/run-tests.mjs). */
export function repoRoot(): string {
  return process.env['TP_REPO_ROOT'] ?? process.cwd();
}
