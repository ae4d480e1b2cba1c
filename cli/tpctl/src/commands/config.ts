// `tpctl config set-context` and `tpctl config view`: the local config file.
import type { Command } from 'commander';
import { mergeConfig, validateServerUrl, type ConfigFile } from '../config.js';
import { CliError } from '../errors.js';
import { renderKeyValues } from '../format.js';
import type { Invocation } from '../runtime.js';

/** Adds the `config` group to the program. */
export function registerConfig(program: Command, invocation: Invocation): void {
  const group = program
    .command('config')
    .description('the local config file ($TPCTL_CONFIG or ~/.config/tpctl/config.yaml)');

  group
    .command('set-context')
    .description('save the server and/or token to the config file (mode 0600)')
    // These shadow the global flags on purpose: here they are values to save, not to use.
    .option('--server <url>', 'registry URL to save')
    .option('--token <token>', 'API token to save')
    .action(async (_local: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      // Commander hands --server/--token to the root command wherever they appear, so read both.
      const given = command.optsWithGlobals<ConfigFile>();
      const flags: ConfigFile = {};
      if (given.server !== undefined) flags.server = given.server;
      if (given.token !== undefined) flags.token = given.token;
      if (flags.server === undefined && flags.token === undefined)
        throw new CliError('INVALID_ARGUMENT', 'set-context needs --server and/or --token');
      if (flags.server !== undefined) validateServerUrl(flags.server, '--server');
      const path = rt.configPath;
      const merged = mergeConfig(await rt.deps.readConfig(path), flags);
      await rt.deps.writeConfig(path, merged);
      rt.emit(
        { path, server: merged.server ?? null, tokenSet: merged.token !== undefined },
        () => `Context saved to ${path}.\n`,
      );
    });

  group
    .command('view')
    .description('show the server and token tpctl would use, and where they come from')
    .action(async (_flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const settings = await rt.settings();
      const view = {
        configFile: rt.configPath,
        server: settings.server,
        serverSource: settings.serverSource,
        tokenSet: settings.token !== undefined,
        tokenSource: settings.tokenSource,
      };
      rt.emit(view, () =>
        renderKeyValues([
          ['Config file', view.configFile],
          ['Server', `${view.server} (${view.serverSource})`],
          ['Token', view.tokenSet ? `set (${view.tokenSource})` : 'not set'],
        ]),
      );
    });
}
