/**
 * SyncEntries and StreamBundles: server streams pushed on change, never polled. The first message
 * goes out when the stream opens; after that the signer's projection announces committed changes
 * (Postgres NOTIFY, see server.ts) and {@link AgentStreams.schedule} recomputes and sends what
 * changed. Entry streams are re-authorized on every refresh, so a banned agent or a disabled
 * cluster loses its stream at once.
 */
import { status, type ServerWritableStream } from '@grpc/grpc-js';
import type { agentApi } from '@trustplane/proto';
import type { CaService } from '../ca-service.js';
import type { FederatedBundles } from '../federation/federated-bundles.js';
import { grpcError, type AgentApiEdge, type AuthorizedAgent } from './edge.js';
import { entriesMessage } from './entries.js';
import type { AgentModel, EntryRow, TrustDomainRow } from './model.js';
import { taintedAuthorities, trustMaterial } from './trust.js';

/** Which stream. */
export type StreamKind = 'entries' | 'bundles';

interface OpenStream {
  readonly kind: StreamKind;
  readonly call: ServerWritableStream<unknown, unknown>;
  readonly peer: string;
  readonly caller: AuthorizedAgent;
  /** The last message sent (serialized), so an unchanged state is not sent again. */
  last: string | undefined;
  closed: boolean;
}

/** What changed: entries (or the agents and clusters they depend on), bundles. */
export interface StreamChanges {
  readonly entries: boolean;
  readonly bundles: boolean;
}

/** The bundle message of a trust domain, or undefined before its first bundle. */
export async function bundleMessage(
  ca: CaService,
  td: TrustDomainRow,
  federated?: FederatedBundles,
): Promise<agentApi.StreamBundlesResponse | undefined> {
  const material = await trustMaterial(ca, td);
  if (material === undefined) return undefined;
  return {
    bundle: {
      trustDomain: td.name,
      x509Authorities: [...material.x509Authorities],
      jwtAuthorities: material.jwks,
      sequence: BigInt(material.sequence),
    },
    federatedBundles: federated === undefined ? [] : await federated.of(ca, td),
    taintedX509Authorities: await taintedAuthorities(ca, td),
  };
}

/** The open entry and bundle streams of the agent API. */
export class AgentStreams {
  private readonly streams = new Set<OpenStream>();
  private refreshing: Promise<void> | undefined;
  private dirty: StreamChanges = { entries: false, bundles: false };
  private stopping = false;

  constructor(
    private readonly edge: AgentApiEdge,
    private readonly model: AgentModel,
    private readonly ca: CaService,
    private readonly federated?: FederatedBundles,
  ) {}

  /** Opens a stream for an authorized caller and sends its first message at once. */
  open(kind: StreamKind, call: ServerWritableStream<unknown, unknown>): void {
    const peer = call.getPeer();
    this.edge.authorize(peer).then(
      async (caller) => {
        const stream: OpenStream = { kind, call, peer, caller, last: undefined, closed: false };
        this.streams.add(stream);
        const cleanup = (): void => {
          stream.closed = true;
          this.streams.delete(stream);
        };
        call.once('cancelled', cleanup);
        call.once('close', cleanup);
        call.on('error', () => undefined);
        try {
          if (kind === 'entries') {
            this.write(
              stream,
              entriesMessage(caller, await this.model.entriesFor(caller.td.id, undefined)),
            );
          } else {
            const message = await bundleMessage(this.ca, caller.td, this.federated);
            if (message !== undefined) this.write(stream, message);
          }
        } catch (error) {
          const mapped = this.edge.toStatus(error);
          this.end(stream, mapped.code, mapped.details);
        }
      },
      (error: unknown) => {
        call.on('error', () => undefined);
        call.emit('error', grpcError(this.edge.toStatus(error)));
      },
    );
  }

  /** Coalesces change notifications: one refresh at a time, then one more if anything arrived meanwhile. */
  schedule(changes: StreamChanges): void {
    this.dirty = {
      entries: this.dirty.entries || changes.entries,
      bundles: this.dirty.bundles || changes.bundles,
    };
    if (this.refreshing !== undefined || this.stopping) return;
    this.refreshing = (async () => {
      while (this.dirty.entries || this.dirty.bundles) {
        const next = this.dirty;
        this.dirty = { entries: false, bundles: false };
        await this.refresh(next).catch((error: unknown) =>
          this.edge.logger.warn({ err: error }, 'agent stream refresh failed'),
        );
      }
    })().finally(() => {
      this.refreshing = undefined;
    });
  }

  /** Ends every stream with UNAVAILABLE and takes no more refreshes. */
  stop(): void {
    this.stopping = true;
    for (const stream of [...this.streams])
      this.end(stream, status.UNAVAILABLE, 'the signer is shutting down');
  }

  private async refresh(changes: StreamChanges): Promise<void> {
    // One query per trust domain, shared by all its streams.
    const entryCache = new Map<string, Promise<{ revision: number; entries: EntryRow[] }>>();
    const bundleCache = new Map<string, Promise<agentApi.StreamBundlesResponse | undefined>>();
    for (const stream of [...this.streams]) {
      if (stream.closed) continue;
      if (stream.kind === 'entries' && changes.entries) {
        const caller = await this.reauthorize(stream);
        if (caller === undefined) continue;
        let all = entryCache.get(caller.td.id);
        if (all === undefined) {
          all = this.model.entriesFor(caller.td.id, undefined);
          entryCache.set(caller.td.id, all);
        }
        this.write(stream, entriesMessage(caller, await all));
      } else if (stream.kind === 'bundles' && changes.bundles) {
        let message = bundleCache.get(stream.caller.td.id);
        if (message === undefined) {
          message = bundleMessage(this.ca, stream.caller.td, this.federated);
          bundleCache.set(stream.caller.td.id, message);
        }
        const value = await message;
        if (value !== undefined) this.write(stream, value);
      }
    }
  }

  private async reauthorize(stream: OpenStream): Promise<AuthorizedAgent | undefined> {
    try {
      return await this.edge.authorize(stream.peer);
    } catch (error) {
      const mapped = this.edge.toStatus(error);
      this.end(stream, mapped.code, mapped.details);
      return undefined;
    }
  }

  private write(stream: OpenStream, message: unknown): void {
    const key = JSON.stringify(message, (_k, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('base64') : v,
    );
    if (stream.last === key || stream.closed) return;
    stream.last = key;
    stream.call.write(message);
  }

  private end(stream: OpenStream, code: status, details: string): void {
    if (stream.closed) return;
    stream.closed = true;
    this.streams.delete(stream);
    stream.call.emit('error', grpcError({ code, details }));
  }
}
