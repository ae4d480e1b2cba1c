/**
 * V8 settings for the agent process, applied once at start-up.
 *
 * Allocation-site pretenuring is switched off. With it on, V8 sometimes decides during start-up
 * (minting and caching many SVIDs) that an allocation site also used per Workload API call
 * produces long-lived objects, and from then on allocates those objects in old space. Every
 * short-lived object they point to then survives young-generation collections through the
 * remembered set: measured on a 2-core machine, each scavenge promoted about 2 MB and paused
 * 3–5 ms instead of about 20 KB and 1 ms, which alone pushed call latency p99 past its target.
 * Whether it happens depends on start-up timing, so it is ruled out rather than left to chance.
 *
 * `--optimize-for-size` makes V8 grow the heap less eagerly (it is read at every collection, so
 * setting it after start-up works). Without it, on a machine with plenty of memory, V8 let the
 * young generation double and old-generation garbage pile up: the agent with 1,000 workloads and
 * 1,000 open streams sat at 120–165 MB RSS after a load burst, 92–94 MB with it, and call latency
 * did not change.
 */
import { setFlagsFromString } from 'node:v8';

let applied = false;

/** Applies the agent's V8 settings (idempotent). Call first thing at start-up. */
export function applyAgentV8Settings(): void {
  if (applied) return;
  setFlagsFromString('--no-allocation-site-pretenuring');
  setFlagsFromString('--optimize-for-size');
  applied = true;
}
