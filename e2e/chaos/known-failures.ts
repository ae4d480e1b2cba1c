// Assertions the long run (`npm run chaos`) expects to fail on the current product code, each
// with the entry of /work/wt/CHAOS-FINDINGS.md (docs/chaos.md) that reproduces it. A known
// failure is printed as such and does not fail the run; a failure not listed here does. The
// short variant in `npm test` runs only scenarios without known failures.
/** `<scenario>:<assertion>` → why it fails today. */
export const KNOWN_FAILURES: Readonly<Record<string, string>> = {
  'registry-sigkill:recovery': 'F2 + F9: restart → first write > 3 s: the registry boot (3–12 s on a loaded 2-core machine), and at times 202s for ~25 s after it is up (ack_wait)',
  'postgres-immediate:serviceExited': 'F1: unhandled pg Client error on a checked-out client (reconciler sweep / tenant-db transaction) ends the registry',
  'postgres-immediate:recovery': 'F1: the registry died and was restarted by the supervisor, so the first write comes after its boot',
  'postgres-restart-x20:serviceExited': 'F1 (repeated)',
  'postgres-restart-x20:recovery': 'F1 (repeated)',
  'jetstream-full:readyz': 'F4: /readyz is 200 while every append fails with insufficient resources',
  'registry-sigstop:recovery': 'F2: at 100 writes/s on a loaded 2-core machine the resumed registry works off its backlog for 4–5 s (2.3 s at 30 writes/s)',
  'postgres-restart-x20:committedButFailed': 'F8: the registry is down (F1) and cannot start while PostgreSQL flaps (F5), so committed writes are never answered',
  'nats-restart-x20:recovery': 'F7: writes resume ~15 s after the last of 20 NATS restarts',
  'shutdown:registry': 'F6: after the repeated restarts the registry took 37 s to stop on SIGTERM',
};
