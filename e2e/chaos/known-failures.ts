// Assertions the long run (`npm run chaos`) expects to fail on the current product code, each
// with the entry of /work/wt/CHAOS-FINDINGS.md (docs/chaos.md) that reproduces it. A known
// failure is printed as such and does not fail the run; a failure not listed here does. The
// short variant in `npm test` runs the scenarios that pass at 10 writes/s and asserts everything
// there (only the F6 stop time is reported instead); the F12 entries concern the long run's
// 100 writes/s on a saturated machine.
//
// Resolved by the crash fixes and removed (2026-12-03, 2 of 2 short runs each): F1 (registry died
// on a PostgreSQL stop: postgres-immediate / postgres-restart-x20 serviceExited, recovery,
// committedButFailed), F4 (/readyz 200 with a full store: jetstream-full readyz), F5, F8, F9 (202s
// for ~25 s after a registry SIGKILL).
/** `<scenario>:<assertion>` → why it fails today. */
export const KNOWN_FAILURES: Readonly<Record<string, string>> = {
  'registry-sigkill:recovery':
    'F2/F10/F12: restart → first write > 3 s from the spawn: the registry boot (1.3 s of CPU; listening 5–11 s after spawn on a loaded 2-core machine); from ready 1.4–3.5 s at 10 writes/s, 8.7 s at 100',
  'registry-sigstop:recovery': 'F2: at 100 writes/s on a loaded 2-core machine the resumed registry works off its backlog for 4–5 s (2.3 s at 30 writes/s)',
  'signer-sigkill:recovery': 'F12: at 100 writes/s the registry still works off the previous scenario; first 201 66 s after the kill in the long run (0.1–0.2 s at 10 writes/s)',
  'postgres-immediate:recovery': 'F12: 3.2 s after PostgreSQL was up at 100 writes/s on a saturated machine (0.2–0.4 s at 10 writes/s)',
  'postgres-restart-x20:recovery': 'F12: 6.1 s after the last restart at 100 writes/s on a saturated machine (1.0–2.0 s at 10 writes/s)',
  'nats-restart-x20:recovery': 'F7: writes resume ~15–21 s after the last of 20 NATS restarts',
  'shutdown:registry': 'F6 (intermittent, not seen since the suite creates the audit stream): after a SIGSTOP the registry took 32–58 s to stop on SIGTERM in 3 of 6 runs',
};
