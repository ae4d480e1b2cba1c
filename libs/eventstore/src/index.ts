export {
  EventStoreError,
  EventLogUnavailableError,
  ConcurrencyError,
  jetStreamErrorCode,
  type EventStoreErrorCode,
} from './errors.js';
export { ensureEventStream, eventStreamConfig, provisionEventStream, type EventStreamSettings } from './stream.js';
export {
  EventLog,
  type AppendObserver,
  type AppendResult,
  type StreamState,
  type Fold,
  type LoadedAggregate,
  type StoredEvent,
} from './event-log.js';
export {
  handleCommand,
  type CommandContext,
  type CommandResult,
  type CommandHandlerOptions,
} from './command-handler.js';
export {
  applyRowFold,
  type Projection,
  type PositionedEvent,
  type ProjectionTable,
  type RowFold,
} from './projection.js';
export {
  ProjectionRunner,
  consumerNameFor,
  planBatch,
  type ProjectionLag,
  type ProjectionObserver,
  type ProjectionRunnerOptions,
} from './projection-runner.js';
export {
  rebuildProjection,
  compareProjection,
  dropRebuildSchema,
  type RebuildOptions,
  type RebuildResult,
  type ProjectionComparison,
} from './rebuild.js';
export {
  eventstoreTablesSql,
  inTransaction,
  isTransientDatabaseError,
  quoteIdent,
  type ProjectionTx,
} from './sql.js';
export { tableFold, type TableFoldSpec, type TableRow } from './table-fold.js';
export { EventRefusedError, refusalReason } from './apply.js';
