import {
  accept,
  assertNever,
  DomainError,
  reject,
  type ConfigSectionSet,
  type ConfigTargetKind,
  type Decider,
} from '@trustplane/events';
import { checkConfigDocument } from './text.js';

/** Aggregate type of config sections (one instance per target and section). */
export const CONFIG_SECTION = 'configsection';
/** Kinds of resources that carry config sections. */
export const CONFIG_TARGET_KINDS: readonly ConfigTargetKind[] = ['trust-domain-deployment', 'cluster'];
/** Schema versions a document can declare. */
export const CONFIG_SCHEMAS = ['v1'] as const;
/** The sections each target kind knows. */
export const CONFIG_SECTIONS: { readonly [K in ConfigTargetKind]: readonly string[] } = {
  'trust-domain-deployment': ['key-manager'],
  cluster: ['agent'],
};

/** Target ids and section names: lowercase, digits and `-` (no `_`, which separates them in the aggregate id). */
const PART_PATTERN = /^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$/;

/** One failing field of a config document (`field` is a path such as `spec.webhookURL`). */
export interface ConfigFieldProblem {
  readonly field: string;
  readonly code: string;
  readonly message: string;
}

/** Result of validating a section's `spec`: the normalized document, or every problem found. */
export type SectionValidation =
  | { readonly ok: true; readonly spec: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly errors: readonly ConfigFieldProblem[] };

/** Validates one section's `spec` (pure). Field paths start with `spec`. */
export type SectionValidator = (spec: unknown) => SectionValidation;

/** The validator of every known section, by target kind. */
export type ConfigSectionValidators = { readonly [K in ConfigTargetKind]: Readonly<Record<string, SectionValidator>> };

/**
 * The aggregate id of a target's section: `<targetId>_<section>`. Both parts are valid subject
 * tokens ([a-z0-9-]) without `_`, so the id is one unambiguous subject token.
 */
export function configSectionId(targetId: string, section: string): string {
  if (!PART_PATTERN.test(targetId)) throw new DomainError('CONFIG_TARGET_INVALID', `target id ${JSON.stringify(targetId)} is not a resource id`);
  if (!PART_PATTERN.test(section)) throw new DomainError('CONFIG_SECTION_UNKNOWN', `section ${JSON.stringify(section)} is not a section name`);
  return `${targetId}_${section}`;
}

/** True when `kind` names a target kind. */
export function isConfigTargetKind(kind: string): kind is ConfigTargetKind {
  return (CONFIG_TARGET_KINDS as readonly string[]).includes(kind);
}

/** Agent log levels a cluster's `agent` section accepts. */
export const AGENT_LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
/** Bounds of `agent.svidTtlSeconds` (1 minute to 24 hours, the default CA lifetime). */
export const AGENT_SVID_TTL_BOUNDS = { min: 60, max: 86_400 } as const;

/** The `agent` section of a cluster: `{svidTtlSeconds?, logLevel?}`, unknown keys refused. */
export const validateAgentSpec: SectionValidator = (spec) => {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    return { ok: false, errors: [{ field: 'spec', code: 'TYPE_OBJECT', message: 'spec must be an object' }] };
  }
  const input = spec as Record<string, unknown>;
  const errors: ConfigFieldProblem[] = [];
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    if (key !== 'svidTtlSeconds' && key !== 'logLevel') errors.push({ field: `spec.${key}`, code: 'UNKNOWN_FIELD', message: `unknown key for section agent` });
  }
  const ttl = input['svidTtlSeconds'];
  if (ttl !== undefined) {
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < AGENT_SVID_TTL_BOUNDS.min || ttl > AGENT_SVID_TTL_BOUNDS.max) {
      errors.push({
        field: 'spec.svidTtlSeconds',
        code: 'RANGE',
        message: `must be a whole number of seconds between ${AGENT_SVID_TTL_BOUNDS.min} and ${AGENT_SVID_TTL_BOUNDS.max}`,
      });
    } else out['svidTtlSeconds'] = ttl;
  }
  const level = input['logLevel'];
  if (level !== undefined) {
    if (typeof level !== 'string' || !(AGENT_LOG_LEVELS as readonly string[]).includes(level)) {
      errors.push({ field: 'spec.logLevel', code: 'ENUM', message: `must be one of ${AGENT_LOG_LEVELS.join(', ')}` });
    } else out['logLevel'] = level;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, spec: out };
};

/** Events of a config section. */
export type ConfigSectionEvent = ConfigSectionSet;

/** State of one target's section: absent (version 0) or its current document. */
export type ConfigSectionState =
  | { readonly phase: 'absent'; readonly version: 0 }
  | {
      readonly phase: 'set';
      readonly version: number;
      readonly targetKind: ConfigTargetKind;
      readonly targetId: string;
      readonly trustDomainId: string;
      readonly section: string;
      readonly spec: Readonly<Record<string, unknown>>;
    };

/** Commands of a config section. */
export type ConfigSectionCommand = {
  readonly kind: 'set';
  readonly targetKind: ConfigTargetKind;
  readonly targetId: string;
  /** The target's trust domain, as the caller's read model shows it. */
  readonly trustDomainId: string;
  readonly section: string;
  /** Declared schema of the document (only `v1` exists). */
  readonly schema: string;
  /** The untrusted document. */
  readonly spec: unknown;
  /** Optimistic concurrency: the version the caller last saw (0 = the section must not exist yet). */
  readonly expectedVersion?: number;
};

/** JSON with object keys sorted, to compare documents independently of key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(record[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function invalid(errors: readonly ConfigFieldProblem[]): DomainError {
  const summary = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
  return new DomainError('CONFIG_INVALID', `config document is invalid: ${summary}`, 'invalid', { errors });
}

/**
 * The config section aggregate: every accepted `set` validates the document with the section's
 * validator and stores it as the next version. Storing an identical document is a no-op.
 * Validators are injected so that sections validated by infrastructure libraries (the
 * KeyManager config) keep this decider pure.
 */
export function configSectionDecider(validators: ConfigSectionValidators): Decider<ConfigSectionState, ConfigSectionCommand, ConfigSectionEvent> {
  return {
    aggregateType: CONFIG_SECTION,
    initialState: () => ({ phase: 'absent', version: 0 }),
    evolve(_state, event) {
      switch (event.type) {
        case 'configsection.set':
          return {
            phase: 'set',
            version: event.data.version,
            targetKind: event.data.targetKind,
            targetId: event.data.targetId,
            trustDomainId: event.data.trustDomainId,
            section: event.data.section,
            spec: event.data.spec,
          };
        default:
          return assertNever(event.type, 'config section event');
      }
    },
    decide(command, state) {
      switch (command.kind) {
        case 'set': {
          const known = CONFIG_SECTIONS[command.targetKind] ?? [];
          const validate = known.includes(command.section) ? validators[command.targetKind][command.section] : undefined;
          if (validate === undefined) {
            return reject(
              new DomainError('CONFIG_SECTION_UNKNOWN', `a ${command.targetKind} has no section ${JSON.stringify(command.section)}; known: ${known.join(', ')}`, 'invalid', {
                errors: [{ field: 'section', code: 'ENUM', message: `must be one of ${known.join(', ')}` }],
              }),
            );
          }
          if (!(CONFIG_SCHEMAS as readonly string[]).includes(command.schema)) {
            return reject(invalid([{ field: 'schema', code: 'ENUM', message: `must be one of ${CONFIG_SCHEMAS.join(', ')}` }]));
          }
          const spec = checkConfigDocument('CONFIG_INVALID', 'spec', command.spec);
          if (spec instanceof DomainError) return reject(spec);
          const validated = validate(spec);
          if (!validated.ok) return reject(invalid(validated.errors));
          if (state.phase === 'set' && (state.targetId !== command.targetId || state.targetKind !== command.targetKind || state.section !== command.section)) {
            return reject(new DomainError('CONFIG_TARGET_MISMATCH', 'this config section belongs to another target', 'conflict'));
          }
          if (command.expectedVersion !== undefined && command.expectedVersion !== state.version) {
            return reject(
              new DomainError(
                'CONFIG_VERSION_MISMATCH',
                `the ${command.section} section is at version ${state.version}, not ${command.expectedVersion}; read it again before changing it`,
                'conflict',
                { expectedVersion: command.expectedVersion, currentVersion: state.version },
              ),
            );
          }
          if (state.phase === 'set' && canonical(state.spec) === canonical(validated.spec)) return accept();
          return accept({
            type: 'configsection.set',
            schemaVersion: 1,
            data: {
              targetKind: command.targetKind,
              targetId: command.targetId,
              trustDomainId: command.trustDomainId,
              section: command.section,
              schema: 'v1',
              spec: validated.spec,
              version: state.version + 1,
            },
          });
        }
        default:
          return assertNever(command.kind, 'config section command');
      }
    },
  };
}
