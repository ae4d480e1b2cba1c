/**
 * Shared core of the in-process KeyManagers (memory, disk): a map of LocalKeys plus
 * persistence hooks. Also exposes a synchronous sign used by the custody child's hot path.
 */
import { KeyManagerError } from './errors.js';
import { LocalKey, assertKeyId, assertKeyType, assertSignRequest } from './keys.js';
import {
  systemClock,
  type Clock,
  type KeyInfo,
  type KeyManager,
  type KeyManagerHealth,
  type KeyType,
  type SignRequest,
} from './types.js';

/** A KeyManager whose keys live in this process and can sign synchronously. */
export interface SyncSigner {
  /** Same contract as KeyManager.sign, without the promise. */
  signSync(keyId: string, request: SignRequest): Uint8Array;
}

/** True if the KeyManager can sign synchronously (memory, disk). */
export function isSyncSigner(km: KeyManager): km is KeyManager & SyncSigner {
  return typeof (km as Partial<SyncSigner>).signSync === 'function';
}

/** Base class of memory and disk KeyManagers. */
export abstract class LocalKeyManager implements KeyManager, SyncSigner {
  readonly #keys = new Map<string, LocalKey>();
  /** Ids whose create() is in progress, so two concurrent creates cannot both win. */
  readonly #creating = new Set<string>();
  #closed = false;
  readonly #since: number;

  protected constructor(protected readonly clock: Clock = systemClock) {
    this.#since = clock.now();
  }

  /** Stores a freshly generated key durably before it becomes visible. */
  protected abstract persist(key: LocalKey): Promise<void>;
  /** Removes a released key from durable storage. */
  protected abstract unpersist(info: KeyInfo): Promise<void>;

  /** Adds a key loaded from storage (used while opening a store). */
  protected adopt(key: LocalKey): void {
    this.#keys.set(key.info.keyId, key);
  }

  async create(keyId: string, keyType: KeyType): Promise<KeyInfo> {
    this.#assertOpen();
    assertKeyId(keyId);
    assertKeyType(keyType);
    if (this.#keys.has(keyId) || this.#creating.has(keyId)) {
      throw new KeyManagerError('KEY_EXISTS', `key ${keyId} already exists`);
    }
    this.#creating.add(keyId);
    try {
      const key = await LocalKey.generate(keyId, keyType);
      await this.persist(key);
      this.#keys.set(keyId, key);
      return key.info;
    } finally {
      this.#creating.delete(keyId);
    }
  }

  async list(): Promise<KeyInfo[]> {
    this.#assertOpen();
    return [...this.#keys.values()].map((k) => k.info).sort((a, b) => (a.keyId < b.keyId ? -1 : 1));
  }

  async publicKey(keyId: string): Promise<KeyInfo> {
    return this.#get(keyId).info;
  }

  async sign(keyId: string, request: SignRequest): Promise<Uint8Array> {
    return this.signSync(keyId, request);
  }

  signSync(keyId: string, request: SignRequest): Uint8Array {
    const key = this.#get(keyId);
    assertSignRequest(request);
    return key.sign(request);
  }

  async release(keyId: string): Promise<void> {
    const key = this.#get(keyId);
    await this.unpersist(key.info);
    this.#keys.delete(keyId);
  }

  ready(): boolean {
    return !this.#closed;
  }

  health(): KeyManagerHealth {
    return this.#closed
      ? {
          ready: false,
          lastErrorCode: 'CLOSED',
          lastErrorMessage: 'key manager closed',
          since: this.#since,
        }
      : { ready: true, since: this.#since };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #get(keyId: string): LocalKey {
    this.#assertOpen();
    const key = this.#keys.get(keyId);
    if (key === undefined) {
      assertKeyId(keyId);
      throw new KeyManagerError('KEY_NOT_FOUND', `key ${keyId} not found`);
    }
    return key;
  }

  #assertOpen(): void {
    if (this.#closed) throw new KeyManagerError('CLOSED', 'key manager closed');
  }
}
