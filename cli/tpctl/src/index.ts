// tpctl as a library: the e2e tests drive `run` in-process with injected surroundings.
export { run, buildProgram, VERSION } from './cli.js';
export type { Deps, OutputFormat } from './runtime.js';
export { ApiClient, apiPath, apiUrl, problemToError, type ClientOptions } from './client.js';
export { ApiError, CliError, renderError, type CliErrorCode, type FieldProblem } from './errors.js';
export {
  resolveSettings,
  parseConfigFile,
  configPath,
  DEFAULT_SERVER,
  type ConfigFile,
  type Settings,
} from './config.js';
export type { BootstrapPort, BootstrapTokenRequest, BootstrappedToken } from './bootstrap.js';
