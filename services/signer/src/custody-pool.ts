import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startKeyCustody, type KeyCustody, type KeyManager, type KeyManagerConfig } from '@trustplane/keymanager';
import type { Logger } from 'pino';
import type { SignerConfig } from './config.js';

/**
 * The key custody child processes of this signer: one for the default KeyManager, and one per
 * deployment whose `key-manager` config section names its own. Private keys live only in
 * those children (or behind their webhook); this process sees handles, public keys and
 * signatures.
 */
export class CustodyPool {
  private readonly dedicated = new Map<string, KeyCustody>();

  private constructor(
    private readonly config: SignerConfig,
    private readonly defaultCustody: KeyCustody,
    private readonly logger: Logger,
  ) {}

  /** Starts the default custody child. */
  static async start(config: SignerConfig, logger: Logger): Promise<CustodyPool> {
    const custody = await startCustody(config, 'default', defaultKeyManager(config), logger);
    return new CustodyPool(config, custody, logger);
  }

  /** The KeyManager holding a deployment's CA keys. */
  keyManagerFor(deploymentId: string): KeyManager {
    return (this.dedicated.get(deploymentId) ?? this.defaultCustody).client;
  }

  /** Applies a deployment's `key-manager` section: a dedicated custody child, reconfigured in place when it exists. */
  async configure(deploymentId: string, keyManager: KeyManagerConfig): Promise<void> {
    const existing = this.dedicated.get(deploymentId);
    if (existing !== undefined) {
      await existing.reconfigure(keyManager);
    } else {
      this.dedicated.set(deploymentId, await startCustody(this.config, deploymentId, keyManager, this.logger));
    }
    this.logger.info({ deploymentId, kind: keyManager.kind }, 'key manager configured');
  }

  /** The process id of a deployment's own custody child, if it has one. */
  pidOf(deploymentId: string): number | undefined {
    return this.dedicated.get(deploymentId)?.pid();
  }

  /** The deployments that have a custody child of their own. */
  dedicatedDeployments(): string[] {
    return [...this.dedicated.keys()];
  }

  /** Stops a deployment's custody child and removes its socket directory (the deployment is gone). */
  async remove(deploymentId: string): Promise<void> {
    const custody = this.dedicated.get(deploymentId);
    if (custody === undefined) return;
    this.dedicated.delete(deploymentId);
    await custody.stop();
    rmSync(socketDirOf(this.config, deploymentId), { recursive: true, force: true });
    this.logger.info({ deploymentId }, 'key custody stopped');
  }

  /** Resolves when every custody child answers and its KeyManager backend is reachable. */
  async healthy(): Promise<void> {
    for (const custody of [this.defaultCustody, ...this.dedicated.values()]) {
      if (custody.state() !== 'ready') throw new Error(`key custody ${custody.socketPath} is ${custody.state()}`);
      const health = await custody.client.refreshHealth();
      if (!health.ready) throw new Error(`key manager not ready: ${JSON.stringify(health)}`);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.defaultCustody, ...this.dedicated.values()].map((c) => c.stop()));
  }
}

function defaultKeyManager(config: SignerConfig): KeyManagerConfig {
  if (config.keyManager === 'memory') return { kind: 'memory' };
  return { kind: 'disk', dir: resolve(config.keyDir), kekPath: resolve(config.kekPath), createKek: true };
}

function socketDirOf(config: SignerConfig, name: string): string {
  return join(resolve(config.custodyDir), name);
}

async function startCustody(config: SignerConfig, name: string, keyManager: KeyManagerConfig, logger: Logger): Promise<KeyCustody> {
  const socketDir = socketDirOf(config, name);
  mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  const custody = await startKeyCustody({ socketDir, keyManager, log: (line) => logger.info({ custody: name, ...line }, 'custody') });
  await custody.waitReady();
  return custody;
}
