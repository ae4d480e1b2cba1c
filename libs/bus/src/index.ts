export {
  AUDIT_CHAIN_CONSUMER,
  auditStreamName,
  auditSubject,
  credentialsEnvPrefix,
  inboxPrefixFor,
  isBusCredentialsEnv,
  isPrivateInboxSubject,
  projectionConsumerName,
  rebuildConsumerName,
} from './naming.js';
export { BUS_USER_NAMES, BUS_USERS, type BusUserName, type BusUserSpec } from './users.js';
export {
  PLACEHOLDER_SCOPE,
  WILDCARD_SCOPE,
  permissionsDocument,
  permissionsDocumentText,
  permissionsOf,
  type BusPermissionsDocument,
  type BusScope,
  type BusUserEntry,
  type NatsUserPermissions,
  type SubjectRules,
} from './permissions.js';
