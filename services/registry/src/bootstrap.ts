// Host-local bootstrap (used by `tpctl org create` and `tpctl token create --org …`): a fresh
// install has no API token, so the first organization and token are written straight to the
// event log with the service's own configuration. The registry projects them as usual.
import { userInfo } from 'node:os';
import { uuidv7 } from '@trustplane/events';
import { EventLog, handleCommand, type CommandContext } from '@trustplane/eventstore';
import { connectNats, eventStreamSettings } from '@trustplane/platform';
import { ORGANIZATION, organizationDecider } from '@trustplane/registry-domain';
import { newResourceId, parseResourceId } from '@trustplane/spiffe';
import { loadRegistryConfig } from './config.js';
import { issueToken } from './tokens/tokens.service.js';

type Env = Readonly<Record<string, string | undefined>>;

function bootstrapContext(): CommandContext {
  const id = uuidv7();
  return { actor: { kind: 'bootstrap', id: `host:${userInfo().username}` }, correlationId: id, causationId: id, now: new Date() };
}

async function withLog<T>(env: Env, work: (log: EventLog) => Promise<T>): Promise<T> {
  const config = loadRegistryConfig(env);
  const nc = await connectNats(config, 'tpctl-bootstrap');
  try {
    const log = await EventLog.open(nc, eventStreamSettings(config));
    return await work(log);
  } finally {
    await nc.close();
  }
}

/** Creates an organization through the event log. */
export async function bootstrapOrganization(env: Env, name: string): Promise<{ id: string; name: string }> {
  return withLog(env, async (log) => {
    const id = newResourceId('organization');
    await handleCommand(log, organizationDecider, { tenant: id, aggregateType: ORGANIZATION, aggregateId: id }, { kind: 'create', id, name }, bootstrapContext());
    return { id, name };
  });
}

/** Issues an API token for an organization through the event log; the token is returned once. */
export async function bootstrapToken(
  env: Env,
  input: { organizationId: string; name: string; scopes: string[]; ttlDays?: number },
): Promise<{ id: string; token: string; scopes: string[]; expiresAt: string | null }> {
  const organization = parseResourceId('organization', input.organizationId);
  if (!organization.ok) throw new Error(`--org: ${organization.error.message}`);
  return withLog(env, async (log) => {
    const ref = { tenant: input.organizationId, aggregateType: ORGANIZATION, aggregateId: input.organizationId };
    if ((await log.version(ref)) === 0) throw new Error(`organization ${input.organizationId} does not exist`);
    const issued = await issueToken(
      { run: (decider, aggregate, command, context) => handleCommand(log, decider, aggregate, command, context) },
      input.organizationId,
      { name: input.name, scopes: input.scopes, ttlDays: input.ttlDays, authority: { kind: 'host' } },
      bootstrapContext(),
    );
    return { id: issued.id, token: issued.token, scopes: issued.scopes, expiresAt: issued.expiresAt };
  });
}
