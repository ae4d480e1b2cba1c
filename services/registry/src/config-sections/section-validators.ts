// The validators of every config section. The KeyManager section is checked by the same parser
// the signer uses (@trustplane/keymanager, which also applies the webhook client's endpoint
// rules), so a document the registry stores is one the signer can apply.
import { isAbsolute } from 'node:path';
import { isKeyManagerError, parseKeyManagerConfig } from '@trustplane/keymanager';
import { validateAgentSpec, type ConfigFieldProblem, type ConfigSectionValidators, type SectionValidator } from '@trustplane/registry-domain';

const PATH_KEYS = ['dir', 'kekPath', 'tokenPath', 'caCertPath'] as const;

/** `key-manager` of a trust-domain deployment: `{kind: memory|disk|webhook, …}`. */
export const validateKeyManagerSpec: SectionValidator = (spec) => {
  let parsed: Readonly<Record<string, unknown>>;
  try {
    parsed = parseKeyManagerConfig(spec, 'spec') as unknown as Readonly<Record<string, unknown>>;
  } catch (error) {
    if (!isKeyManagerError(error, 'CONFIG_INVALID')) throw error;
    // The parser's message is `<where>.<key>: <why>` (or `<where>: <why>`); split the field off.
    const match = /^(spec(?:\.[A-Za-z0-9_]+)?): (.*)$/s.exec(error.message);
    return { ok: false, errors: [{ field: match?.[1] ?? 'spec', code: 'CONFIG_INVALID', message: match?.[2] ?? error.message }] };
  }
  const errors: ConfigFieldProblem[] = [];
  const problem = (key: string, message: string): void => void errors.push({ field: `spec.${key}`, code: 'CONFIG_INVALID', message });
  for (const key of PATH_KEYS) {
    const value = parsed[key];
    if (typeof value === 'string' && !isAbsolute(value)) problem(key, 'must be an absolute path on the signer host');
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, spec: { ...parsed } };
};

/** Every section the registry accepts, by target kind. */
export const sectionValidators: ConfigSectionValidators = {
  'trust-domain-deployment': { 'key-manager': validateKeyManagerSpec },
  cluster: { agent: validateAgentSpec },
};
