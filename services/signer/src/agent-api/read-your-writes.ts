/**
 * Read-your-writes for the agent API. AttestAgent and RenewAgentSvid append an event
 * (`agent.attested`, `agent.renewed`) and answer with an SVID the agent uses at once, on its next
 * call, possibly on another signer replica. Every replica authorizes callers against the read
 * model in the shared database, which applies the event a moment after it is appended; an agent
 * that called in that moment was refused (PERMISSION_DENIED, "no attested agent has this
 * identity") and backed off. So these handlers answer only once the read model has applied what
 * they appended.
 *
 * The wait is on the projection's checkpoint in the database, not on this process's projection
 * runner: replicas share one durable consumer, so the batch holding the event may be applied by
 * another replica, and the checkpoint (committed with the rows it covers) is the one truth they
 * share. The projection announces each commit with NOTIFY, which wakes the waiters; a short poll
 * covers a lost notification.
 */
import { quoteIdent } from '@trustplane/eventstore';
import type { Pool } from 'pg';

/** How often the checkpoint is read while someone waits and no notification came. */
const POLL_MS = 50;

interface Waiter {
  readonly sequence: number;
  readonly release: (reached: boolean) => void;
}

/** Waits for a projection's checkpoint (in the database all replicas share) to reach a sequence. */
export class ReadModelWatermark {
  private readonly table: string;
  private readonly waiters = new Set<Waiter>();
  private wake: (() => void) | undefined;
  private looping = false;
  private stopped = false;

  constructor(
    private readonly pool: Pool,
    schema: string,
    private readonly projection: string,
  ) {
    this.table = `${quoteIdent(schema)}.projection_checkpoints`;
  }

  /**
   * Resolves true once the projection has applied stream sequence `sequence`, or false after
   * `timeoutMs` (the caller decides what a late read model means for it).
   */
  reach(sequence: number, timeoutMs: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => waiter.release(false), timeoutMs);
      const waiter: Waiter = {
        sequence,
        release: (reached) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(reached);
        },
      };
      this.waiters.add(waiter);
      this.poke();
      void this.loop();
    });
  }

  /** The read model committed something (a NOTIFY arrived): check again now. */
  poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Releases every waiter (as not reached) and stops checking. */
  stop(): void {
    this.stopped = true;
    for (const waiter of [...this.waiters]) waiter.release(false);
    this.poke();
  }

  /** One loop for all waiters: one query per round, whatever their number. */
  private async loop(): Promise<void> {
    if (this.looping) return;
    this.looping = true;
    try {
      while (this.waiters.size > 0 && !this.stopped) {
        const applied = await this.checkpoint().catch(() => 0);
        for (const waiter of [...this.waiters])
          if (waiter.sequence <= applied) waiter.release(true);
        if (this.waiters.size === 0) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, POLL_MS);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      this.looping = false;
    }
  }

  private async checkpoint(): Promise<number> {
    const result = await this.pool.query<{ stream_seq: string }>(
      `SELECT stream_seq FROM ${this.table} WHERE projection = $1`,
      [this.projection],
    );
    return Number(result.rows[0]?.stream_seq ?? 0);
  }
}
