/**
 * @trustplane/keymanager: KeyManager implementations (memory, sealed disk, webhook client), the
 * reference Key Manager Extension webhook, and key custody in a supervised child process.
 * Keys are handles: only public keys, fingerprints and signatures leave a KeyManager.
 */
export {
  KeyManagerError,
  isKeyManagerError,
  isKeyManagerErrorCode,
  type KeyManagerErrorCode,
} from './errors.js';
export {
  DIGEST_LENGTH,
  HASH_ALGORITHMS,
  KEY_TYPES,
  isDigestRequest,
  systemClock,
  type Clock,
  type DigestSignRequest,
  type HashAlgorithm,
  type KeyInfo,
  type KeyManager,
  type KeyManagerHealth,
  type KeyType,
  type MessageSignRequest,
  type SignRequest,
} from './types.js';
export { fingerprintOf, hashMessage, verifySignature } from './keys.js';
export { parseGoDuration } from './duration.js';
export { MemoryKeyManager } from './memory.js';
export { DiskKeyManager, loadKek, type DiskKeyManagerOptions } from './disk.js';
export { WebhookKeyManager, type WebhookKeyManagerOptions } from './webhook.js';
export {
  openKeyManager,
  parseKeyManagerConfig,
  type DiskKeyManagerConfig,
  type KeyManagerConfig,
  type MemoryKeyManagerConfig,
  type WebhookKeyManagerConfig,
} from './config.js';
export {
  startReferenceWebhook,
  type ReferenceWebhook,
  type ReferenceWebhookFault,
  type ReferenceWebhookOptions,
} from './reference-webhook/server.js';
export { CustodyClient, type CustodyClientOptions } from './custody/client.js';
export {
  startKeyCustody,
  type KeyCustody,
  type KeyCustodyOptions,
  type KeyCustodyState,
} from './custody/supervisor.js';
export {
  KEY_MANAGER_PATH_OPTIONS,
  confinedPathProblems,
  keyManagerPolicyProblems,
  parsePathRoots,
  parseUrlPrefixes,
  urlUnderPrefix,
  type KeyManagerPolicy,
  type KeyManagerPolicyProblem,
} from './policy.js';
