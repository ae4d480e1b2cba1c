// The load a chaos run applies: mixed writes (trust domains, clusters, entries, API tokens) at a
// steady rate, each POST with its own Idempotency-Key, retried with the same key and body on 5xx,
// timeouts, connection errors and 409 IDEMPOTENCY_REQUEST_IN_PROGRESS (as tpctl does), until an
// answer or until the operation's budget runs out. Every attempt is recorded.
import { randomUUID } from 'node:crypto';

/** What an operation creates. */
export type OpKind = 'trust-domain' | 'cluster' | 'entry' | 'token';

/** One HTTP attempt. */
export interface Attempt {
  /** When it was sent and answered (ms since epoch). */
  readonly sentAt: number;
  readonly doneAt: number;
  /** HTTP status, or `timeout` / `error` (connection refused, reset, …). */
  readonly status: number | 'timeout' | 'error';
  readonly code?: string;
}

/** One logical write and everything that happened to it. */
export interface Operation {
  readonly scenario: string;
  readonly kind: OpKind;
  readonly key: string;
  /** What identifies the created resource in its event: a name or a SPIFFE ID. */
  readonly label: string;
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly startedAt: number;
  readonly attempts: Attempt[];
  /** The final answer (the last attempt's status). */
  final?: number | 'timeout' | 'error';
  finalCode?: string;
  /** The resource id the answer carried (201/200/202 `id`, 409 SECRET_SHOWN_ONCE `resource.id`). */
  resourceId?: string;
  finishedAt?: number;
}

/** Whether a final answer acknowledged the write (the resource exists, says the server). */
export function acknowledged(op: Operation): boolean {
  return (typeof op.final === 'number' && op.final >= 200 && op.final < 300) || (op.final === 409 && op.finalCode === 'SECRET_SHOWN_ONCE');
}

/** Whether a final answer was an infrastructure failure (5xx, timeout, connection error). */
export function failedInfrastructure(op: Operation): boolean {
  return op.final === 'timeout' || op.final === 'error' || (typeof op.final === 'number' && op.final >= 500);
}

/** Settings of the load. */
export interface LoadOptions {
  readonly baseUrl: () => string;
  readonly token: string;
  /** Trust domains (names) that clusters and entries are created in. */
  readonly trustDomains: readonly string[];
  readonly rate: number;
  /** Per-attempt timeout (ms). */
  readonly attemptTimeoutMs: number;
  /** How long an operation keeps retrying (ms since its first attempt). */
  readonly budgetMs: number;
  /** Most operations in flight at once; beyond it the generator skips a beat (counted). */
  readonly maxInFlight: number;
  /** A token unique to the run, in every name. */
  readonly runToken: string;
}

const MIX: readonly [OpKind, number][] = [
  ['trust-domain', 0.1],
  ['cluster', 0.15],
  ['entry', 0.55],
  ['token', 0.2],
];

function pickKind(): OpKind {
  let r = Math.random();
  for (const [kind, weight] of MIX) {
    if (r < weight) return kind;
    r -= weight;
  }
  return 'entry';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether an attempt's answer is worth retrying with the same key. */
function retryable(attempt: Attempt): boolean {
  if (attempt.status === 'timeout' || attempt.status === 'error') return true;
  if (attempt.status >= 500 || attempt.status === 429) return true;
  return attempt.status === 409 && attempt.code === 'IDEMPOTENCY_REQUEST_IN_PROGRESS';
}

/** The load generator: `start(scenario)`, `stop()`, then `drain()` waits for every retry. */
export class LoadClient {
  readonly operations: Operation[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private counter = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Beats skipped because `maxInFlight` operations were outstanding. */
  skipped = 0;
  scenario = 'setup';

  constructor(private readonly options: LoadOptions) {}

  /** Starts (or continues) issuing operations at the configured rate, tagged with `scenario`. */
  start(scenario: string): void {
    this.scenario = scenario;
    if (this.timer !== undefined) return;
    const began = Date.now();
    let issued = 0;
    this.timer = setInterval(() => {
      const due = Math.floor(((Date.now() - began) / 1000) * this.options.rate);
      while (issued < due) {
        issued++;
        if (this.inFlight.size >= this.options.maxInFlight) {
          this.skipped++;
          continue;
        }
        this.launch(this.newOperation(pickKind()));
      }
    }, 10);
  }

  /** Stops issuing new operations (those in flight go on retrying). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Waits until every operation has its final answer. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Runs one operation of `kind` to its end (used for setup and probes). */
  async once(kind: OpKind, label?: string): Promise<Operation> {
    const op = this.newOperation(kind, label);
    await this.run(op);
    return op;
  }

  private launch(op: Operation): void {
    const running: Promise<void> = this.run(op).finally(() => this.inFlight.delete(running));
    this.inFlight.add(running);
  }

  private newOperation(kind: OpKind, fixedLabel?: string): Operation {
    const n = ++this.counter;
    const tag = `${this.options.runToken}x${n}`;
    const td = this.options.trustDomains[n % Math.max(1, this.options.trustDomains.length)] ?? '';
    let label: string;
    let path: string;
    let body: Record<string, unknown>;
    switch (kind) {
      case 'trust-domain':
        label = fixedLabel ?? `t${tag}.chaos.example`;
        path = '/api/v1/trust-domains';
        body = { name: label };
        break;
      case 'cluster':
        label = fixedLabel ?? `k${tag}`;
        path = `/api/v1/trust-domains/${td}/clusters`;
        body = { name: label, platform: 'linux' };
        break;
      case 'entry':
        label = fixedLabel ?? `spiffe://${td}/w/${tag}`;
        path = `/api/v1/trust-domains/${td}/entries`;
        body = { spiffeId: label, parentId: `spiffe://${td}/agent/chaos/node`, selectors: [`unix:uid:${n}`] };
        break;
      case 'token':
        label = fixedLabel ?? `a${tag}`;
        path = '/api/v1/tokens';
        body = { name: label, scopes: ['entries:read'] };
        break;
    }
    const op: Operation = { scenario: this.scenario, kind, key: `chaos-${randomUUID()}`, label, path, body, startedAt: Date.now(), attempts: [] };
    this.operations.push(op);
    return op;
  }

  private async attempt(op: Operation): Promise<{ attempt: Attempt; json: Record<string, unknown> | undefined; retryAfter: number | undefined }> {
    const sentAt = Date.now();
    try {
      const response = await fetch(`${this.options.baseUrl()}${op.path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.options.token}`, 'content-type': 'application/json', 'idempotency-key': op.key },
        body: JSON.stringify(op.body),
        signal: AbortSignal.timeout(this.options.attemptTimeoutMs),
      });
      const text = await response.text();
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      const code = typeof json?.['code'] === 'string' ? json['code'] : undefined;
      const retryAfterHeader = Number(response.headers.get('retry-after'));
      return {
        attempt: { sentAt, doneAt: Date.now(), status: response.status, ...(code === undefined ? {} : { code }) },
        json,
        retryAfter: Number.isFinite(retryAfterHeader) && retryAfterHeader > 0 ? retryAfterHeader : undefined,
      };
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      return { attempt: { sentAt, doneAt: Date.now(), status: timedOut ? 'timeout' : 'error' }, json: undefined, retryAfter: undefined };
    }
  }

  private async run(op: Operation): Promise<void> {
    for (let n = 0; ; n++) {
      const { attempt, json, retryAfter } = await this.attempt(op);
      op.attempts.push(attempt);
      const outOfBudget = Date.now() - op.startedAt > this.options.budgetMs;
      if (!retryable(attempt) || outOfBudget) {
        op.final = attempt.status;
        if (attempt.code !== undefined) op.finalCode = attempt.code;
        op.finishedAt = attempt.doneAt;
        const id = json?.['id'] ?? (json?.['resource'] as Record<string, unknown> | undefined)?.['id'];
        if (typeof id === 'string') op.resourceId = id;
        return;
      }
      // Retry-After (capped) or exponential backoff with jitter, like tpctl.
      const backoff = retryAfter !== undefined ? Math.min(retryAfter * 1000, 2000) : Math.min(100 * 2 ** n, 2000);
      await sleep(backoff / 2 + Math.random() * (backoff / 2));
    }
  }
}
