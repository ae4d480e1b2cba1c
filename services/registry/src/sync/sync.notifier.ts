import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { LOGGER } from '@trustplane/platform';
import { Client } from 'pg';
import type { Logger } from 'pino';
import type { RegistryConfig } from '../config.js';
import { REGISTRY_CONFIG } from '../tokens.js';

/** A waiter for the next change of one trust domain's sync state. */
type Listener = () => void;

/**
 * Tells open sync streams that their trust domain's sync state changed: one LISTEN connection
 * per registry on `<schema>_sync`, notified by the `registry.model` projection on commit. A
 * lost connection is re-opened, and every stream is woken so that it re-reads its position
 * (nothing is missed: streams compare positions, notifications only say "look again").
 */
@Injectable()
export class SyncNotifier implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly listeners = new Map<string, Set<Listener>>();
  private client: Client | undefined;
  private stopped = false;

  constructor(
    @Inject(REGISTRY_CONFIG) private readonly config: RegistryConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.config.databaseUrl });
    client.on('notification', (message) => {
      if (message.payload !== undefined) this.wake(message.payload);
    });
    client.on('error', (error) => {
      this.logger.warn({ err: error }, 'sync notification connection lost; reconnecting');
      void client.end().catch(() => undefined);
      this.reconnect();
    });
    await client.connect();
    await client.query(`LISTEN "${this.config.schema}_sync"`);
    this.client = client;
  }

  private reconnect(): void {
    if (this.stopped) return;
    this.client = undefined;
    setTimeout(() => {
      if (this.stopped) return;
      this.connect().then(
        () => this.wakeAll(),
        () => this.reconnect(),
      );
    }, 1_000).unref();
  }

  /** Resolves at the next change of `trustDomainId`'s sync state, or when `signal` aborts, or after `timeoutMs`. */
  next(trustDomainId: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const set = this.listeners.get(trustDomainId) ?? new Set<Listener>();
      this.listeners.set(trustDomainId, set);
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        set.delete(done);
        if (set.size === 0) this.listeners.delete(trustDomainId);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  private wake(trustDomainId: string): void {
    for (const listener of [...(this.listeners.get(trustDomainId) ?? [])]) listener();
  }

  private wakeAll(): void {
    for (const trustDomainId of [...this.listeners.keys()]) this.wake(trustDomainId);
  }

  /** True once the registry is shutting down: open streams end (the HTTP server waits for them). */
  get stopping(): boolean {
    return this.stopped;
  }

  beforeApplicationShutdown(): void {
    this.stopped = true;
    this.wakeAll();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.wakeAll();
    await this.client?.end().catch(() => undefined);
  }
}
