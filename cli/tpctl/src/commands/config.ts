// `tpctl config set-context` and `tpctl config view`: the local config file.
// `tpctl config set|get <target-kind> --id <id> …`: config sections of deployments and clusters.
import type { Command } from 'commander';
import { apiPath, type ApiClient } from '../client.js';
import { mergeConfig, validateServerUrl, type ConfigFile } from '../config.js';
import { CONFIG_TARGETS, parseConfigDocument, type ConfigTargetKind } from '../config-document.js';
import { CliError } from '../errors.js';
import { renderKeyValues } from '../format.js';
import { nonNegativeInt } from '../parse.js';
import type { Invocation } from '../runtime.js';
import type { ConfigSection, ConfigSectionResult } from '../types.js';
import { configSectionInfo, configSectionSet } from '../views.js';

/** How a config target is named: `--id`, or `--trust-domain` with `--deployment-name` / `--cluster`. */
export interface ConfigTargetFlags {
  /** `--id` (tdd-… or c-…) */
  id?: string;
  /** `--trust-domain` */
  trustDomain?: string;
  /** `--deployment-name` (deployment targets) */
  deploymentName?: string;
  /** `--cluster` (cluster targets) */
  cluster?: string;
}

/** The id of the target: `--id` as given, or looked up by trust domain and name. */
export async function configTargetId(client: ApiClient, kind: ConfigTargetKind, flags: ConfigTargetFlags): Promise<string> {
  const name = kind === 'cluster' ? flags.cluster : flags.deploymentName;
  const nameFlag = kind === 'cluster' ? '--cluster' : '--deployment-name';
  if (flags.id !== undefined) {
    if (name !== undefined || flags.trustDomain !== undefined) throw new CliError('INVALID_ARGUMENT', `give either --id or --trust-domain with ${nameFlag}, not both`);
    return flags.id;
  }
  if (flags.trustDomain === undefined || name === undefined) throw new CliError('INVALID_ARGUMENT', `name the target: --id, or --trust-domain with ${nameFlag}`);
  const collection = kind === 'cluster' ? 'clusters' : 'deployments';
  return (await client.get<{ id: string }>(apiPath('trust-domains', flags.trustDomain, collection, name))).id;
}

/** Adds the target flags of a config kind to a command. */
function targetFlags(command: Command, target: (typeof CONFIG_TARGETS)[number]): Command {
  command
    .option('--id <id>', `${target.noun} id (${target.idPrefix}…)`)
    .option('--trust-domain <trust-domain>', 'trust domain name or td-… id (with the name flag)');
  if (target.kind === 'cluster') command.option('--cluster <cluster>', 'cluster name or c-… id');
  else command.option('--deployment-name <deployment>', 'deployment name or tdd-… id');
  return command;
}

/** Flags of `config set <target-kind>`. */
export interface ConfigSetFlags extends ConfigTargetFlags {
  /** `--expected-version` */
  expectedVersion?: number;
  /** `--validate-only` */
  validateOnly?: boolean;
}

/** The REST path of a target's section. */
export function configSectionPath(kind: ConfigTargetKind, id: string, section: string): string {
  return apiPath('config', kind, id, section);
}

/** The body of `PUT /config/…` for a parsed document and the flags. */
export function configSetBody(
  document: { schema: string; spec: Record<string, unknown> },
  flags: ConfigSetFlags,
): { schema: string; spec: Record<string, unknown>; expectedVersion?: number } {
  return flags.expectedVersion === undefined
    ? { schema: document.schema, spec: document.spec }
    : { schema: document.schema, spec: document.spec, expectedVersion: flags.expectedVersion };
}

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

  const set = group
    .command('set')
    .description(
      'validate and store a config section of a deployment or cluster (from a YAML file)',
    );
  const get = group.command('get').description('show a config section of a deployment or cluster');
  for (const target of CONFIG_TARGETS) {
    targetFlags(
      set.command(target.kind).description(`store a ${target.sections.join(' | ')} section of a ${target.noun}`),
      target,
    )
      .argument('<file>', 'YAML or JSON document: {section, schema: v1, spec}')
      .option(
        '--expected-version <n>',
        'refuse unless the stored version is n (0 = not set yet)',
        nonNegativeInt,
      )
      .option('--validate-only', 'validate on the server and store nothing')
      .action(async (file: string, flags: ConfigSetFlags, command: Command) => {
        const rt = invocation.runtimeFor(command);
        let text: string;
        try {
          text = await rt.deps.readFile(file);
        } catch (error) {
          throw new CliError(
            'DOCUMENT_INVALID',
            `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
        }
        const document = parseConfigDocument(text, file, target.kind);
        const client = await rt.client();
        const id = await configTargetId(client, target.kind, flags);
        const result = await client.put<ConfigSectionResult>(
          configSectionPath(target.kind, id, document.section),
          configSetBody(document, flags),
          flags.validateOnly === true ? { validateOnly: true } : {},
        );
        rt.emit(result, () => configSectionSet(result));
      });
    targetFlags(
      get.command(target.kind).description(`show a ${target.sections.join(' | ')} section of a ${target.noun}`),
      target,
    )
      .argument('<section>', target.sections.join(' | '))
      .action(async (section: string, flags: ConfigTargetFlags, command: Command) => {
        const rt = invocation.runtimeFor(command);
        const client = await rt.client();
        const shown = await client.get<ConfigSection>(configSectionPath(target.kind, await configTargetId(client, target.kind, flags), section));
        rt.emit(shown, () => configSectionInfo(shown));
      });
  }

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
