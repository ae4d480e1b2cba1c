import { LocalKeyManager } from './local.js';
import type { LocalKey } from './keys.js';
import type { Clock, KeyInfo } from './types.js';

/** Keys in process memory only; lost on exit. For tests and throwaway setups. */
export class MemoryKeyManager extends LocalKeyManager {
  constructor(options: { clock?: Clock } = {}) {
    super(options.clock);
  }

  protected override async persist(_key: LocalKey): Promise<void> {
    // Nothing to store: memory only.
  }

  protected override async unpersist(_info: KeyInfo): Promise<void> {
    // Nothing stored.
  }
}
