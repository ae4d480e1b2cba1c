// Where a command acts: spirlctl's shape names the trust domain (and deployment) with flags,
// `--trust-domain on-prem.example.com --deployment-name us-west-2`, and the resource as the one
// positional argument. tpctl's earlier shape, `<trust-domain> <resource>`, stays as an alias:
// without `--trust-domain` the first of two positionals is the trust domain.
import { CliError } from './errors.js';

/** The flags every scoped command takes. */
export interface ScopeFlags {
  /** `--trust-domain <name-or-id>` */
  trustDomain?: string;
  /** `--deployment-name <name-or-id>` */
  deploymentName?: string;
}

/**
 * The trust domain and the resource of a command that acts on one resource of a trust domain:
 * `<resource> --trust-domain <td>` or `<td> <resource>`.
 */
export function trustDomainAndResource(
  positionals: readonly string[],
  flags: ScopeFlags,
  resource: string,
): { trustDomain: string; resource: string } {
  if (flags.trustDomain !== undefined) {
    if (positionals.length === 1) return { trustDomain: flags.trustDomain, resource: positionals[0] as string };
    if (positionals.length === 2 && positionals[0] === flags.trustDomain) {
      return { trustDomain: flags.trustDomain, resource: positionals[1] as string };
    }
    throw new CliError('INVALID_ARGUMENT', `expected one ${resource} with --trust-domain, got ${describe(positionals)}`);
  }
  if (positionals.length === 2) return { trustDomain: positionals[0] as string, resource: positionals[1] as string };
  if (positionals.length === 1) {
    throw new CliError('INVALID_ARGUMENT', `name the trust domain: <${resource}> --trust-domain <name-or-id>`);
  }
  throw new CliError('INVALID_ARGUMENT', `expected <${resource}> --trust-domain <name-or-id>, got ${describe(positionals)}`);
}

/** The trust domain of a command that acts on a whole trust domain: `--trust-domain <td>` or `<td>`. */
export function trustDomainOf(positionals: readonly string[], flags: ScopeFlags, options: { optional: true }): string | undefined;
export function trustDomainOf(positionals: readonly string[], flags: ScopeFlags, options?: { optional?: false }): string;
export function trustDomainOf(positionals: readonly string[], flags: ScopeFlags, options: { optional?: boolean } = {}): string | undefined {
  if (positionals.length > 1) throw new CliError('INVALID_ARGUMENT', `expected at most one trust domain, got ${describe(positionals)}`);
  const [positional] = positionals;
  if (flags.trustDomain !== undefined && positional !== undefined && positional !== flags.trustDomain) {
    throw new CliError('INVALID_ARGUMENT', `two trust domains given: ${positional} and --trust-domain ${flags.trustDomain}`);
  }
  const trustDomain = flags.trustDomain ?? positional;
  if (trustDomain === undefined && options.optional !== true) {
    throw new CliError('INVALID_ARGUMENT', 'name the trust domain: --trust-domain <name-or-id>');
  }
  return trustDomain;
}

function describe(positionals: readonly string[]): string {
  return positionals.length === 0 ? 'none' : positionals.map((p) => `"${p}"`).join(' ');
}
