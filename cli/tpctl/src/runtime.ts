// What every command action receives: the process's surroundings (injected, so the whole CLI
// runs in-process in tests) and the per-invocation state resolved from global flags.
import type { Command } from 'commander';
import { ApiClient } from './client.js';
import { configPath, resolveSettings, type ConfigFile, type Settings } from './config.js';
import { renderJson } from './format.js';
import { snakeCaseKeys } from './json.js';
import type { BootstrapPort } from './bootstrap.js';

/** The CLI's surroundings. */
export interface Deps {
  /** Environment variables. */
  env: Record<string, string | undefined>;
  /** The user's home directory (for the default config path). */
  home: string;
  /** fetch implementation. */
  fetch: typeof fetch;
  /** Writes to stdout. */
  stdout(text: string): void;
  /** Writes to stderr. */
  stderr(text: string): void;
  /** Random UUID source (the invocation's Idempotency-Key). */
  randomUUID(): string;
  /** The clock. */
  now(): Date;
  /** Loads the host-local bootstrap functions. */
  loadBootstrap(): Promise<BootstrapPort>;
  /** Reads a file a command names (e.g. a config section document) as UTF-8 text. */
  readFile(path: string): Promise<string>;
  /** Reads the config file (a missing file is an empty config). */
  readConfig(path: string): Promise<ConfigFile>;
  /** Writes the config file with mode 0600. */
  writeConfig(path: string, config: ConfigFile): Promise<void>;
}

/** Output format selected by `--output`. */
export type OutputFormat = 'table' | 'json';

/** Global flags (on the root command). */
export interface GlobalOptions {
  /** `--server` */
  server?: string;
  /** `--token` */
  token?: string;
  /** `--output` */
  output: OutputFormat;
}

/** Per-invocation state shared by all commands. */
export class Invocation {
  /** Sent as `Idempotency-Key` on the first POST of this invocation. */
  readonly idempotencyKey: string;
  private posts = 0;

  constructor(readonly deps: Deps) {
    this.idempotencyKey = deps.randomUUID();
  }

  /**
   * The Idempotency-Key of the invocation's next POST: the invocation's key, then `<key>.2`,
   * `<key>.3`, … A command that sends several POSTs (a deployment, then its first key) needs
   * one key per request: the server refuses a key reused for another path or body.
   */
  nextIdempotencyKey(): string {
    this.posts += 1;
    return this.posts === 1 ? this.idempotencyKey : `${this.idempotencyKey}.${this.posts}`;
  }

  /** The runtime of the command being run. */
  runtimeFor(command: Command): Runtime {
    return new Runtime(this, command.optsWithGlobals<GlobalOptions>());
  }
}

/** What a command action works with. */
export class Runtime {
  constructor(
    private readonly invocation: Invocation,
    /** The global flags as given. */
    readonly globals: GlobalOptions,
  ) {}

  /** The surroundings. */
  get deps(): Deps {
    return this.invocation.deps;
  }

  /** True with `--output json`. */
  get json(): boolean {
    return this.globals.output === 'json';
  }

  /** The config file path in effect. */
  get configPath(): string {
    return configPath(this.deps.env, this.deps.home);
  }

  /** Server and token after flags > env > file > default. */
  async settings(): Promise<Settings> {
    const file = await this.deps.readConfig(this.configPath);
    return resolveSettings(
      { server: this.globals.server, token: this.globals.token },
      this.deps.env,
      file,
    );
  }

  /** A REST client for the resolved server and token. */
  async client(): Promise<ApiClient> {
    const settings = await this.settings();
    return new ApiClient({
      server: settings.server,
      token: settings.token,
      idempotencyKey: () => this.invocation.nextIdempotencyKey(),
      fetch: this.deps.fetch,
      userAgent: 'tpctl/0.1.0',
    });
  }

  /** Prints human text (table mode) or the JSON value with snake_case field names (json mode). */
  emit(value: unknown, human: () => string): void {
    this.deps.stdout(this.json ? renderJson(snakeCaseKeys(value)) : human());
  }

  /** As {@link emit}, for a standard document printed as it is (a SPIFFE bundle). */
  emitDocument(value: unknown, human: () => string): void {
    this.deps.stdout(this.json ? renderJson(value) : human());
  }

  /** Prints a human confirmation line (nothing in json mode, where there is no body to print). */
  say(text: string): void {
    if (!this.json) this.deps.stdout(text);
  }
}
