import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { AckPolicy, DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { parseAuditRecord, type AuditRecord } from '@trustplane/api-kit';
import { AUDIT_CHAIN_CONSUMER, auditStreamName } from '@trustplane/bus';
import { quoteIdent } from '@trustplane/eventstore';
import { LOGGER, NATS, PG_POOL } from '@trustplane/platform';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { AuthConfig } from '../config.js';
import { AUTH_CONFIG } from '../tokens.js';
import { chain } from './chain.js';

/** How long the audit stream keeps records the chain has not taken yet. */
const AUDIT_STREAM_MAX_AGE_NS = 30 * 86_400 * 1e9;

/**
 * Keeps the audit chains: creates the audit stream when missing, reads it with one durable
 * consumer (shared by the replicas) and appends each record to its organization's chain in one
 * transaction (head row locked: one writer per organization at a time; a record already in the
 * chain, by id, is not added again), acknowledging only after the commit.
 */
@Injectable()
export class AuditChainService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private readonly schema: string;
  private readonly streamName: string;

  constructor(
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.schema = quoteIdent(config.schema);
    this.streamName = auditStreamName(config.eventStream);
  }

  async onApplicationBootstrap(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const subject = `${this.config.subjectPrefix}.audit.>`;
    await jsm.streams.info(this.streamName).catch(async () =>
      jsm.streams.add({
        name: this.streamName,
        subjects: [subject],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        num_replicas: this.config.streamReplicas,
        max_age: AUDIT_STREAM_MAX_AGE_NS,
        duplicate_window: 120 * 1e9,
        deny_delete: true,
        deny_purge: true,
      }),
    );
    const existing = await jsm.consumers.info(this.streamName, AUDIT_CHAIN_CONSUMER).catch(() => undefined);
    if (existing === undefined) {
      await jsm.consumers.add(this.streamName, {
        durable_name: AUDIT_CHAIN_CONSUMER,
        ack_policy: AckPolicy.Explicit,
        ack_wait: 30e9,
        deliver_policy: DeliverPolicy.All,
        filter_subject: subject,
      });
    }
    const consumer = await jetstream(this.nc).consumers.get(this.streamName, AUDIT_CHAIN_CONSUMER);
    this.messages = await consumer.consume({ max_messages: 256 });
    const messages = this.messages;
    this.loop = (async () => {
      for await (const message of messages) await this.take(message);
    })().catch((error: unknown) => this.logger.error({ err: error }, 'the audit chain stopped reading the audit stream'));
    this.logger.info({ stream: this.streamName }, 'audit chain reading');
  }

  /** Appends one record; a malformed record or one stored on another service's subject is refused and not retried. */
  private async take(message: JsMsg): Promise<void> {
    let record: AuditRecord | undefined;
    try {
      record = parseAuditRecord(JSON.parse(new TextDecoder().decode(message.data)));
    } catch {
      record = undefined;
    }
    const [, , service, organization] = message.subject.split('.');
    if (record === undefined || record.service !== service || record.organizationId !== organization) {
      this.logger.warn({ subject: message.subject }, 'audit record refused: malformed, or not on its own service and organization subject');
      message.term();
      return;
    }
    try {
      await this.append(record);
      message.ack();
    } catch (error) {
      this.logger.warn({ err: error }, 'audit record not appended yet; it is delivered again');
      message.nak(1_000);
    }
  }

  /** Links the record to its organization's chain (no-op when it is in the chain already). */
  async append(record: AuditRecord): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${this.schema}.audit_heads (tenant_id, seq, hash) VALUES ($1, 0, '') ON CONFLICT DO NOTHING`, [record.organizationId]);
      const head = (await client.query<{ seq: string; hash: string }>(`SELECT seq, hash FROM ${this.schema}.audit_heads WHERE tenant_id = $1 FOR UPDATE`, [record.organizationId])).rows[0];
      const known = await client.query(`SELECT 1 FROM ${this.schema}.audit_records WHERE tenant_id = $1 AND record_id = $2`, [record.organizationId, record.id]);
      if ((known.rowCount ?? 0) === 0) {
        const linked = chain(head === undefined || Number(head.seq) === 0 ? undefined : { seq: Number(head.seq), hash: head.hash }, record);
        await client.query(
          `INSERT INTO ${this.schema}.audit_records (tenant_id, seq, record_id, service, actor_kind, actor_id, action, resource, outcome, status, code, occurred_at, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
          [record.organizationId, linked.seq, record.id, record.service, record.actor.kind, record.actor.id, record.action, record.resource, record.outcome, record.status, record.code, record.occurredAt, linked.prevHash, linked.hash],
        );
        await client.query(`UPDATE ${this.schema}.audit_heads SET seq = $2, hash = $3 WHERE tenant_id = $1`, [record.organizationId, linked.seq, linked.hash]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.messages?.close().catch(() => undefined);
    await this.loop;
  }
}
