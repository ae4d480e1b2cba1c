// `tpctl entry create|list|show|update|delete`.
import { Command } from 'commander';
import { apiPath } from '../client.js';
import { CliError } from '../errors.js';
import { positiveInt, repeatable, rfc3339, selector } from '../parse.js';
import type { Invocation } from '../runtime.js';
import { trustDomainOf, type ScopeFlags } from '../scope.js';
import type { Entry } from '../types.js';
import { entryInfo, entryList } from '../views.js';

/** Flags shared by `entry create` and `entry update` (commander's camelCase names). */
export interface EntryFlags {
  /** `--spiffe-id` */
  spiffeId?: string;
  /** `--parent-id` */
  parentId?: string;
  /** `--selector` (repeatable) */
  selector?: string[];
  /** `--x509-svid-ttl` seconds */
  x509SvidTtl?: number;
  /** `--jwt-svid-ttl` seconds */
  jwtSvidTtl?: number;
  /** `--dns-name` (repeatable) */
  dnsName?: string[];
  /** `--federates-with` (repeatable) */
  federatesWith?: string[];
  /** `--admin` / `--no-admin` */
  admin?: boolean;
  /** `--downstream` / `--no-downstream` */
  downstream?: boolean;
  /** `--hint` */
  hint?: string;
  /** `--expires-at` */
  expiresAt?: string;
}

/** The writable fields of an entry, as the API names them. */
export interface EntryFields {
  spiffeId?: string;
  parentId?: string;
  selectors?: string[];
  x509SvidTtl?: number;
  jwtSvidTtl?: number;
  dnsNames?: string[];
  federatesWith?: string[];
  admin?: boolean;
  downstream?: boolean;
  hint?: string;
  expiresAt?: string;
}

/** Maps the flags given to API fields; flags not given are left out. */
export function entryFields(flags: EntryFlags): EntryFields {
  const fields: EntryFields = {};
  if (flags.spiffeId !== undefined) fields.spiffeId = flags.spiffeId;
  if (flags.parentId !== undefined) fields.parentId = flags.parentId;
  if (flags.selector !== undefined) fields.selectors = flags.selector;
  if (flags.x509SvidTtl !== undefined) fields.x509SvidTtl = flags.x509SvidTtl;
  if (flags.jwtSvidTtl !== undefined) fields.jwtSvidTtl = flags.jwtSvidTtl;
  if (flags.dnsName !== undefined) fields.dnsNames = flags.dnsName;
  if (flags.federatesWith !== undefined) fields.federatesWith = flags.federatesWith;
  if (flags.admin !== undefined) fields.admin = flags.admin;
  if (flags.downstream !== undefined) fields.downstream = flags.downstream;
  if (flags.hint !== undefined) fields.hint = flags.hint;
  if (flags.expiresAt !== undefined) fields.expiresAt = flags.expiresAt;
  return fields;
}

/** The body of `POST /trust-domains/{td}/entries`; SPIFFE ID, parent ID and a selector are required. */
export function entryCreateBody(
  flags: EntryFlags,
): EntryFields & { spiffeId: string; parentId: string; selectors: string[] } {
  const fields = entryFields(flags);
  const missing = [
    fields.spiffeId === undefined ? '--spiffe-id' : null,
    fields.parentId === undefined ? '--parent-id' : null,
    fields.selectors === undefined || fields.selectors.length === 0 ? '--selector' : null,
  ].filter((flag): flag is string => flag !== null);
  if (missing.length > 0)
    throw new CliError('INVALID_ARGUMENT', `entry create needs ${missing.join(', ')}`);
  return fields as EntryFields & { spiffeId: string; parentId: string; selectors: string[] };
}

/** The body of `PATCH /entries/{id}`: the revision read, plus the fields to change. */
export function entryPatchBody(
  revision: number,
  flags: EntryFlags,
): EntryFields & { revision: number } {
  const fields = entryFields(flags);
  if (Object.keys(fields).length === 0)
    throw new CliError('INVALID_ARGUMENT', 'entry update needs at least one field to change');
  return { revision, ...fields };
}

/** Filters of `entry list`. */
export interface EntryListFlags {
  /** `--spiffe-id` */
  spiffeId?: string;
  /** `--parent-id` */
  parentId?: string;
  /** `--selector` */
  selector?: string;
}

/** The query of `GET /trust-domains/{td}/entries`. */
export function entryListQuery(flags: EntryListFlags): {
  spiffeId?: string;
  parentId?: string;
  selector?: string;
} {
  const query: { spiffeId?: string; parentId?: string; selector?: string } = {};
  if (flags.spiffeId !== undefined) query.spiffeId = flags.spiffeId;
  if (flags.parentId !== undefined) query.parentId = flags.parentId;
  if (flags.selector !== undefined) query.selector = flags.selector;
  return query;
}

/** Adds the entry field flags; `update` also gets the --no-… forms that unset. */
function withEntryFlags(command: Command, forUpdate: boolean): Command {
  command
    .option('--spiffe-id <id>', 'SPIFFE ID issued to matching workloads')
    .option('--parent-id <id>', 'SPIFFE ID of the parent (agent or entry)')
    .option(
      '--selector <type:value>',
      'workload selector (repeatable; all must match)',
      repeatable(selector),
    )
    .option('--x509-svid-ttl <seconds>', 'X.509-SVID lifetime', positiveInt)
    .option('--jwt-svid-ttl <seconds>', 'JWT-SVID lifetime', positiveInt)
    .option('--dns-name <name>', 'DNS SAN (repeatable)', repeatable())
    .option(
      '--federates-with <trust-domain>',
      'trust domain whose bundle the workload receives (repeatable)',
      repeatable(),
    )
    .option('--admin', 'workload may use the admin API')
    .option('--downstream', 'workload is a downstream CA')
    .option('--hint <hint>', 'hint for workloads holding several SVIDs')
    .option('--expires-at <time>', 'RFC 3339 time after which the entry is void', rfc3339);
  if (forUpdate) {
    command
      .option('--no-admin', 'clear the admin flag')
      .option('--no-downstream', 'clear the downstream flag');
  }
  return command;
}

/** Adds the `entry` group to the program. */
export function registerEntry(program: Command, invocation: Invocation): void {
  const group = program.command('entry').description('manage registration entries');

  withEntryFlags(
    group
      .command('create')
      .description('create a registration entry')
      .argument('[trust-domain]', 'trust domain name or td-… id (or --trust-domain)')
      .option('--trust-domain <trust-domain>', 'trust domain name or td-… id'),
    false,
  ).action(async (td: string | undefined, flags: EntryFlags & ScopeFlags, command: Command) => {
    const rt = invocation.runtimeFor(command);
    const trustDomain = trustDomainOf(td === undefined ? [] : [td], flags);
    const body = entryCreateBody(flags);
    const entry = await (
      await rt.client()
    ).post<Entry>(apiPath('trust-domains', trustDomain, 'entries'), body);
    rt.emit(entry, () => `Entry ${entry.id} created.\n\n${entryInfo(entry)}`);
  });

  group
    .command('list')
    .description("list a trust domain's registration entries")
    .argument('[trust-domain]', 'trust domain name or td-… id (or --trust-domain)')
    .option('--trust-domain <trust-domain>', 'trust domain name or td-… id')
    .option('--spiffe-id <id>', 'only entries with this SPIFFE ID')
    .option('--parent-id <id>', 'only entries with this parent ID')
    .option('--selector <type:value>', 'only entries with this selector', selector)
    .action(async (td: string | undefined, flags: EntryListFlags & ScopeFlags, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const trustDomain = trustDomainOf(td === undefined ? [] : [td], flags);
      const items = await (
        await rt.client()
      ).list<Entry>(apiPath('trust-domains', trustDomain, 'entries'), entryListQuery(flags));
      rt.emit(items, () => entryList(items));
    });

  group
    .command('show')
    .description('show a registration entry')
    .argument('<entry-id>', 'entry id')
    .action(async (id: string, _flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      const entry = await (await rt.client()).get<Entry>(apiPath('entries', id));
      rt.emit(entry, () => entryInfo(entry));
    });

  withEntryFlags(
    group
      .command('update')
      .description('change a registration entry (list flags replace the whole list)')
      .argument('<entry-id>', 'entry id'),
    true,
  ).action(async (id: string, flags: EntryFlags, command: Command) => {
    const rt = invocation.runtimeFor(command);
    entryPatchBody(0, flags); // refuse an empty update before any request
    const client = await rt.client();
    // Optimistic concurrency: send the revision we read; a change in between answers 409.
    const current = await client.get<Entry>(apiPath('entries', id));
    const entry = await client.patch<Entry>(
      apiPath('entries', id),
      entryPatchBody(current.revision, flags),
    );
    rt.emit(
      entry,
      () => `Entry ${entry.id} updated (revision ${entry.revision}).\n\n${entryInfo(entry)}`,
    );
  });

  group
    .command('delete')
    .description('delete a registration entry')
    .argument('<entry-id>', 'entry id')
    .action(async (id: string, _flags: object, command: Command) => {
      const rt = invocation.runtimeFor(command);
      await (await rt.client()).delete(apiPath('entries', id));
      rt.say(`Entry ${id} deleted.\n`);
    });
}
