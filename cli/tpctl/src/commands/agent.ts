// `tpctl agent list|show|ban`.
import type { Command } from 'commander';
import { apiPath } from '../client.js';
import type { Invocation } from '../runtime.js';
import { trustDomainOf, type ScopeFlags } from '../scope.js';
import type { Agent } from '../types.js';
import { agentInfo, agentList } from '../views.js';

/** Flags of `agent ban`. */
export interface AgentBanFlags {
  /** `--reason` */
  reason?: string;
}

/** The body of `POST /agents/{id}/ban`. */
export function agentBanBody(flags: AgentBanFlags): { reason?: string } {
  return flags.reason === undefined ? {} : { reason: flags.reason };
}

/** Adds the `agent` group to the program. */
export function registerAgent(program: Command, invocation: Invocation): void {
  const group = program.command('agent').description('inspect and ban node agents');

  group
    .command('list')
    .description("list a trust domain's node agents")
    .argument('[trust-domain]', 'trust domain name or td-… id (or --trust-domain)')
    .option('--trust-domain <trust-domain>', 'trust domain name or td-… id')
    .action(async (td: string | undefined, flags: ScopeFlags, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const trustDomain = trustDomainOf(td === undefined ? [] : [td], flags);
      const items = await (await rt.client()).list<Agent>(apiPath('trust-domains', trustDomain, 'agents'));
      rt.emit(items, () => agentList(items));
    });

  group
    .command('show')
    .description('show a node agent')
    .argument('<agent-id>', 'ag-… id')
    .action(async (id: string, _flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const agent = await (await rt.client()).get<Agent>(apiPath('agents', id));
      rt.emit(agent, () => agentInfo(agent));
    });

  group
    .command('ban')
    .description('ban a node agent: it can no longer renew or attest again')
    .argument('<agent-id>', 'ag-… id')
    .option('--reason <text>', 'why (kept with the ban, at most 500 characters)')
    .action(async (id: string, flags: AgentBanFlags, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const agent = await (await rt.client()).post<Agent>(apiPath('agents', id, 'ban'), agentBanBody(flags));
      rt.emit(agent, () => `Agent ${agent.id} (${agent.spiffeId}) banned.\n`);
    });
}
