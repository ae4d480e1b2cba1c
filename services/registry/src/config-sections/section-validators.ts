// The validators of every config section. The KeyManager section is checked by the same parser
// the signer uses (@trustplane/keymanager, which also applies the webhook client's endpoint
// rules) and by the operator's policy for tenant-written sections (file paths only inside the
// configured roots, webhook URLs only from the allow-list), so a document the registry stores is
// one the signer will apply. The signer checks again, on its own host, before it applies one.
import { isAbsolute } from 'node:path';
import { isKeyManagerError, KEY_MANAGER_PATH_OPTIONS, keyManagerPolicyProblems, parseKeyManagerConfig, type KeyManagerPolicy } from '@trustplane/keymanager';
import { validateAgentSpec, type ConfigFieldProblem, type ConfigSectionValidators, type SectionValidator } from '@trustplane/registry-domain';

/** The reference a key-manager section stores instead of a bearer token (sealed by the signer). */
const TOKEN_REF = /^sec-[0-9a-f]{20}$/;
/** Stands for the reference while a document with a token is validated, before it is sealed. */
export const PENDING_TOKEN_REF = 'sec-00000000000000000000';
/** A bearer token as an HTTP header carries it. */
const BEARER_TOKEN = /^[\x21-\x7e]{1,4096}$/;

function asObject(spec: unknown): Record<string, unknown> | undefined {
  return typeof spec === 'object' && spec !== null && !Array.isArray(spec) ? (spec as Record<string, unknown>) : undefined;
}

/**
 * `key-manager` of a trust-domain deployment: `{kind: memory|disk|webhook, …}`, written by
 * organization `tenant`. A webhook's bearer token is never part of a stored document: the API
 * takes it as `token`, the signer seals it and the document keeps `tokenRef` (see
 * takeWebhookToken); a `token` reaching this validator is refused.
 */
export function keyManagerValidator(policy: KeyManagerPolicy, tenant: string): SectionValidator {
  return (spec) => {
    const input = asObject(spec);
    if (input === undefined) return { ok: false, errors: [{ field: 'spec', code: 'CONFIG_INVALID', message: 'must be an object' }] };
    const { tokenRef, token, ...rest } = input;
    const errors: ConfigFieldProblem[] = [];
    const problem = (key: string, code: string, message: string): void => void errors.push({ field: `spec.${key}`, code, message });
    if (token !== undefined) {
      problem('token', 'CONFIG_INVALID', 'a bearer token of at most 4096 visible ASCII characters, for managed deployments only (the signer seals it, it is never stored); self-hosted signers read theirs from tokenPath');
    }
    if (tokenRef !== undefined && (typeof tokenRef !== 'string' || !TOKEN_REF.test(tokenRef))) problem('tokenRef', 'CONFIG_INVALID', 'must be a sealed-secret reference sec-…');
    if (tokenRef !== undefined && rest['kind'] !== 'webhook') problem('tokenRef', 'CONFIG_INVALID', 'only a webhook key manager takes a token');
    let parsed: Readonly<Record<string, unknown>>;
    try {
      // A referenced token stands in for the real one: the bearer rules see that there is one.
      parsed = parseKeyManagerConfig(tokenRef === undefined ? rest : { ...rest, token: 'sealed' }, 'spec') as unknown as Readonly<Record<string, unknown>>;
    } catch (error) {
      if (!isKeyManagerError(error, 'CONFIG_INVALID')) throw error;
      // The parser's message is `<where>.<key>: <why>` (or `<where>: <why>`); split the field off.
      const match = /^(spec(?:\.[A-Za-z0-9_]+)?): (.*)$/s.exec(error.message);
      return { ok: false, errors: [...errors, { field: match?.[1] ?? 'spec', code: 'CONFIG_INVALID', message: match?.[2] ?? error.message }] };
    }
    for (const key of KEY_MANAGER_PATH_OPTIONS) {
      const value = parsed[key];
      if (typeof value === 'string' && !isAbsolute(value)) problem(key, 'CONFIG_INVALID', 'must be an absolute path on the signer host');
    }
    for (const breach of keyManagerPolicyProblems(parsed as never, policy, tenant)) {
      if (!errors.some((e) => e.field === `spec.${breach.key}`)) problem(breach.key, breach.code, breach.message);
    }
    if (errors.length > 0) return { ok: false, errors };
    const { token: _placeholder, ...stored } = parsed;
    return { ok: true, spec: { ...stored, ...(tokenRef === undefined ? {} : { tokenRef }) } };
  };
}

/**
 * Splits a webhook bearer token given in a `key-manager` document off it: the caller has the
 * signer seal the token and stores the reference (withTokenRef); until then the document holds
 * PENDING_TOKEN_REF. Anything that is not a usable token stays in the document, where the
 * validator refuses it.
 */
export function takeWebhookToken(section: string, spec: unknown): { readonly spec: unknown; readonly token?: string } {
  const input = asObject(spec);
  if (section !== 'key-manager' || input === undefined || typeof input['token'] !== 'string' || !BEARER_TOKEN.test(input['token'])) return { spec };
  const { token, ...rest } = input;
  return { spec: { ...rest, tokenRef: PENDING_TOKEN_REF }, token: token as string };
}

/** The document with the sealed token's reference in place of the pending one. */
export function withTokenRef(spec: unknown, secretRef: string): Record<string, unknown> {
  return { ...(asObject(spec) ?? {}), tokenRef: secretRef };
}

/** Every section the registry accepts, by target kind, for documents written by `tenant`. */
export function sectionValidatorsFor(policy: KeyManagerPolicy, tenant: string): ConfigSectionValidators {
  return {
    'trust-domain-deployment': { 'key-manager': keyManagerValidator(policy, tenant) },
    cluster: { agent: validateAgentSpec },
  };
}
