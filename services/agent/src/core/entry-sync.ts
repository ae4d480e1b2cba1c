/**
 * The agent's session with the signer: mutual TLS with the agent SVID (pinning the trust
 * domain's current CA certificates), the entry stream and the bundle stream pushed by the
 * signer, and reconnection with jittered exponential backoff when either stream ends (slowed to
 * the maximum when the signer refuses the SVID: banned, superseded or expired).
 */
import { credentials, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { agentApi } from '@trustplane/proto';
import { certificatesPem } from '@trustplane/spiffe';
import type { Logger } from 'pino';
import {
  agentApiClient,
  MAX_BACKOFF_MS,
  serverIdentityCheck,
  type SignerAddress,
} from './signer-connection.js';
import type { AgentState } from './state-store.js';

/** First reconnect delay; doubles per failure up to {@link MAX_BACKOFF_MS}. */
const FIRST_BACKOFF_MS = 500;

/** What the session hands on. */
export interface EntrySyncHandlers {
  /** Every message of the entry stream (the complete entry set of this node). */
  onEntries(message: agentApi.SyncEntriesResponse): void;
  /** Every message of the bundle stream. */
  onBundles(message: agentApi.StreamBundlesResponse): void;
  /** Both streams delivered their first message. */
  onConnected(): void;
}

/** A connection to the signer with the credentials it was opened with. */
interface Session {
  readonly client: agentApi.AgentAPIClient;
  readonly streams: ClientReadableStream<unknown>[];
  closed: boolean;
}

/** Keeps one session with the signer open while the agent runs. */
export class EntrySync {
  /** Stream reconnects since start. */
  reconnects = 0;
  private session: Session | undefined;
  private connectedStreams = 0;
  private backoffMs = FIRST_BACKOFF_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Until then a refusal is taken for the signer not knowing a fresh attestation yet. */
  private freshUntil = 0;

  /** `identity()` is read at every (re)connect: the agent SVID and bundle of that moment. */
  constructor(
    private readonly address: SignerAddress,
    private readonly identity: () => AgentState | undefined,
    private readonly handlers: EntrySyncHandlers,
    private readonly logger: Logger,
  ) {}

  /** Whether the entry and bundle streams are both open. */
  get connected(): boolean {
    return this.connectedStreams === 2;
  }

  /** The client of the open session, for unary calls; undefined while not connected. */
  get client(): agentApi.AgentAPIClient | undefined {
    const session = this.session;
    return session !== undefined && !session.closed && this.connected ? session.client : undefined;
  }

  /** Opens a new session now with the current identity (closing the open one). */
  connect(): void {
    if (this.stopped) return;
    const state = this.identity();
    if (state === undefined) return;
    this.closeSession();
    const creds = credentials.createSsl(
      Buffer.from(certificatesPem(state.x509Authorities)),
      Buffer.from(state.key.export({ type: 'pkcs8', format: 'pem' }).toString()),
      Buffer.from(certificatesPem(state.chain)),
      { checkServerIdentity: serverIdentityCheck(this.address.trustDomain) },
    );
    const session: Session = { client: agentApiClient(this.address, creds), streams: [], closed: false };
    this.session = session;
    this.connectedStreams = 0;
    const entries = session.client.syncEntries({});
    const bundles = session.client.streamBundles({});
    session.streams.push(entries, bundles);
    entries.on('data', this.firstThen(() => this.handlers.onEntries.bind(this.handlers)));
    bundles.on('data', this.firstThen(() => this.handlers.onBundles.bind(this.handlers)));
    for (const stream of [entries, bundles]) {
      stream.on('error', (error: ServiceError) => this.onStreamEnded(session, error));
      stream.on('end', () => this.onStreamEnded(session, undefined));
    }
  }

  /**
   * The identity was just attested: for `graceMs` a PERMISSION_DENIED is retried with the normal
   * backoff rather than the slow one (the signer's read model may not have the agent yet).
   */
  freshlyAttested(graceMs: number): void {
    this.freshUntil = Date.now() + graceMs;
  }

  /** Reconnects after `delayMs` (jittered; 0 = now). */
  reconnect(delayMs: number): void {
    if (this.stopped) return;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    if (delayMs === 0) {
      this.connect();
      return;
    }
    const jittered = delayMs / 2 + Math.random() * (delayMs / 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, jittered);
    this.reconnectTimer.unref();
  }

  /** Closes the session for good. */
  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.closeSession();
  }

  /** A data handler that counts the stream as connected on its first message, then delivers. */
  private firstThen<T>(deliver: () => (message: T) => void): (message: T) => void {
    let first = true;
    const handler = deliver();
    return (message: T) => {
      if (first) {
        first = false;
        this.connectedStreams += 1;
        if (this.connected) {
          this.backoffMs = FIRST_BACKOFF_MS;
          this.logger.info('connected to the signer');
          this.handlers.onConnected();
        }
      }
      handler(message);
    };
  }

  private onStreamEnded(session: Session, error: ServiceError | undefined): void {
    if (session.closed || session !== this.session) return;
    this.closeSession();
    this.reconnects += 1;
    const code = error?.code;
    this.logger.warn(
      { code: code === undefined ? undefined : status[code], details: error?.details },
      'signer stream ended; reconnecting',
    );
    const refused = code === status.PERMISSION_DENIED || code === status.UNAUTHENTICATED;
    if (refused && Date.now() >= this.freshUntil) {
      // The signer no longer honours this SVID (banned, superseded or expired): slow down.
      this.reconnect(MAX_BACKOFF_MS);
      return;
    }
    this.reconnect(this.backoffMs);
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
  }

  private closeSession(): void {
    const session = this.session;
    if (session === undefined) return;
    session.closed = true;
    this.session = undefined;
    this.connectedStreams = 0;
    for (const stream of session.streams) stream.cancel();
    session.client.close();
  }
}
