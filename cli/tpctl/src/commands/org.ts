// `tpctl org create`: makes an organization on the registry host (bootstrap, no server, no token).
import type { Command } from 'commander';
import { serviceEnv } from '../bootstrap.js';
import { CliError } from '../errors.js';
import type { Invocation } from '../runtime.js';
import { createdOrganization } from '../views.js';

/** Adds the `org` group to the program. */
export function registerOrg(program: Command, invocation: Invocation): void {
  const group = program.command('org').description('organizations (host-local bootstrap)');

  group
    .command('create')
    .description('create an organization on the registry host, writing through the event log')
    .requiredOption('--name <name>', 'organization name')
    .action(async (flags: { name: string }, command: Command) => {
      const rt = invocation.runtimeFor(command);
      if (flags.name.trim() === '')
        throw new CliError('INVALID_ARGUMENT', '--name must not be empty');
      const bootstrap = await rt.deps.loadBootstrap();
      const organization = await bootstrap.bootstrapOrganization(
        serviceEnv(rt.deps.env),
        flags.name,
      );
      rt.emit(organization, () => createdOrganization(organization));
    });
}
