#!/usr/bin/env node
// Creates the event stream, or brings an existing one to the event log's settings, with the
// admin NATS user (TP_NATS_ADMIN_USER / TP_NATS_ADMIN_PASSWORD): services may only create a
// missing stream and refuse one whose settings differ. Reads NATS_URL, TP_EVENT_STREAM,
// TP_SUBJECT_PREFIX and TP_STREAM_REPLICAS like the services. Build first (npm run build).
import { provisionStream } from './lib/stack.mjs';

const stream = process.env.TP_EVENT_STREAM ?? 'TP_EVENTS';
const prefix = process.env.TP_SUBJECT_PREFIX ?? 'tp';
const replicas = Number(process.env.TP_STREAM_REPLICAS ?? '1');
provisionStream(stream, prefix, replicas).then(
  () =>
    process.stdout.write(
      `stream ${stream} (${prefix}.evt.>, ${replicas} replica(s)) is provisioned\n`,
    ),
  (error) => {
    process.stderr.write(`provision-stream: ${error.message}\n`);
    process.exit(1);
  },
);
