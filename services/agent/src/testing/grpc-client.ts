/**
 * Test support: a grpc-js Workload API client (the generated one from @trustplane/proto) with
 * small promise helpers for streams and unary calls.
 */
import { Metadata, credentials, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { workload } from '@trustplane/proto';

/** Metadata with (or without) the security header. */
export function securityMetadata(present = true): Metadata {
  const md = new Metadata();
  if (present) md.set('workload.spiffe.io', 'true');
  return md;
}

/** A client for a socket path. */
export function workloadClient(socketPath: string): workload.SpiffeWorkloadAPIClient {
  return new workload.SpiffeWorkloadAPIClient(`unix://${socketPath}`, credentials.createInsecure());
}

/** Pulls messages off a server stream one at a time. */
export class StreamReader<T> {
  private readonly queue: T[] = [];
  private readonly waiters: { resolve: (v: T) => void; reject: (e: Error) => void }[] = [];
  private failure: ServiceError | undefined;
  private ended = false;

  constructor(readonly stream: ClientReadableStream<T>) {
    stream.on('data', (message: T) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(message);
      else this.queue.push(message);
    });
    stream.on('error', (error: ServiceError) => {
      this.failure = error;
      for (const w of this.waiters.splice(0)) w.reject(error);
    });
    stream.on('end', () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w.reject(new Error('stream ended'));
    });
  }

  /** The next message (rejects with the stream's error, or after `timeoutMs`). */
  next(timeoutMs = 5_000): Promise<T> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.reject(new Error('stream ended'));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no message within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** The status error that ends the stream (skipping any messages still to come). */
  async error(timeoutMs = 5_000): Promise<ServiceError> {
    for (;;) {
      try {
        await this.next(timeoutMs);
      } catch (error) {
        return error as ServiceError;
      }
    }
  }

  /** Whether a message is waiting (without blocking). */
  get pending(): number {
    return this.queue.length;
  }

  /** Cancels the call. */
  cancel(): void {
    this.stream.cancel();
  }
}

/** Runs a unary call and returns `{ value }` or `{ error }`. */
export function unary<Req, Res>(
  call: (req: Req, md: Metadata, cb: (e: ServiceError | null, v: Res) => void) => unknown,
  request: Req,
  metadata: Metadata,
): Promise<{ value?: Res; error?: ServiceError }> {
  return new Promise((resolve) => {
    call(request, metadata, (error, value) => resolve(error ? { error } : { value }));
  });
}
