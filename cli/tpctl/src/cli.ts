// Wires the commander program. `run` never exits the process: it returns the exit code, so the
// whole CLI runs in-process in tests with injected surroundings.
import { Command, CommanderError, Option } from 'commander';
import { registerAgent } from './commands/agent.js';
import { registerAudit } from './commands/audit.js';
import { registerCluster } from './commands/cluster.js';
import { registerConfig } from './commands/config.js';
import { registerEntry } from './commands/entry.js';
import { registerOrg } from './commands/org.js';
import { registerToken, registerWhoami } from './commands/token.js';
import { registerTrustDomain } from './commands/trust-domain.js';
import { registerFederation } from './commands/federation.js';
import { AcceptedAnswer, renderAccepted, renderError } from './errors.js';
import { renderJson } from './format.js';
import { snakeCaseKeys } from './json.js';
import { Invocation, type Deps } from './runtime.js';

/** tpctl's version. */
export const VERSION = '0.1.0';

/** Commander writes usage errors as `error: …`; tpctl prints every error as `Error: … (<code>)`. */
export function usageError(text: string): string {
  const [first = '', ...rest] = text
    .replace(/^error:\s*/i, '')
    .trimEnd()
    .split('\n');
  return [`Error: ${first} (INVALID_ARGUMENT)`, ...rest].join('\n') + '\n';
}

/** Builds the program for one invocation. */
export function buildProgram(deps: Deps): Command {
  const invocation = new Invocation(deps);
  const program = new Command('tpctl');
  // Settings that subcommands inherit must be set before they are created.
  program
    .exitOverride()
    .configureOutput({
      writeOut: (text) => deps.stdout(text),
      writeErr: (text) => deps.stderr(text),
      outputError: (text, write) => write(usageError(text)),
    })
    .showHelpAfterError('(add --help for usage)')
    .description('The TrustPlane operator CLI')
    .version(VERSION, '-v, --version')
    .option(
      '--server <url>',
      'registry URL (env TPCTL_SERVER, config file, default http://127.0.0.1:8080)',
    )
    .option('--token <token>', 'API token (env TPCTL_TOKEN, config file)')
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['table', 'json'])
        .default('table'),
    );
  registerTrustDomain(program, invocation);
  registerCluster(program, invocation);
  registerAgent(program, invocation);
  registerEntry(program, invocation);
  registerToken(program, invocation);
  registerWhoami(program, invocation);
  registerOrg(program, invocation);
  registerConfig(program, invocation);
  registerAudit(program, invocation);
  registerFederation(program, invocation);
  return program;
}

/** Runs tpctl with the user's arguments (without `node` and the script); resolves to the exit code. */
export async function run(args: readonly string[], deps: Deps): Promise<number> {
  const program = buildProgram(deps);
  try {
    await program.parseAsync(args.slice(), { from: 'user' });
    return 0;
  } catch (error) {
    // Commander already printed its own message (usage errors, --help, --version).
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 1;
    if (error instanceof AcceptedAnswer) {
      deps.stdout(program.opts<{ output?: string }>().output === 'json' ? renderJson(snakeCaseKeys(error.answer)) : renderAccepted(error.answer));
      return 0;
    }
    deps.stderr(renderError(error));
    return 1;
  }
}
