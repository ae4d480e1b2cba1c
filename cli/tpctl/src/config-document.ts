// A config section document as `tpctl config set` reads it from a YAML (or JSON) file:
// `{section, schema, spec}`. Parsed and shape-checked here; the server validates `spec`.
import { parse } from 'yaml';
import { CliError } from './errors.js';

/** The targets `tpctl config set|get` knows, with the id prefix each expects. */
export const CONFIG_TARGETS = [
  {
    kind: 'trust-domain-deployment',
    idPrefix: 'tdd-',
    noun: 'deployment',
    sections: ['key-manager'],
  },
  { kind: 'cluster', idPrefix: 'c-', noun: 'cluster', sections: ['agent'] },
] as const;

/** One config target kind. */
export type ConfigTargetKind = (typeof CONFIG_TARGETS)[number]['kind'];

/** A parsed document file. */
export interface ConfigDocument {
  /** Section name, e.g. `key-manager`. */
  section: string;
  /** Schema of `spec`, e.g. `v1`. */
  schema: string;
  /** The section's settings. */
  spec: Record<string, unknown>;
}

const KEYS = ['section', 'schema', 'spec'];

/**
 * Parses a document file's text. The file must be a mapping with exactly `section`, `schema`
 * and `spec`; `section` must be one the target kind has (the server checks it again).
 */
export function parseConfigDocument(
  text: string,
  path: string,
  kind: ConfigTargetKind,
): ConfigDocument {
  const bad = (why: string): never => {
    throw new CliError('DOCUMENT_INVALID', `${path}: ${why}`);
  };
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new CliError(
      'DOCUMENT_INVALID',
      `${path} is not valid YAML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      { cause: error },
    );
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document))
    return bad('must be a mapping with the keys section, schema and spec');
  const record = document as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!KEYS.includes(key)) bad(`unknown key "${key}" (expected section, schema, spec)`);
  }
  const section = record['section'];
  const schema = record['schema'];
  const spec = record['spec'];
  if (typeof section !== 'string' || section === '')
    return bad('"section" must be a non-empty string');
  const target = CONFIG_TARGETS.find((t) => t.kind === kind);
  const known: readonly string[] = target?.sections ?? [];
  if (!known.includes(section))
    bad(`section "${section}" is not a ${kind} section (expected ${known.join(', ')})`);
  if (typeof schema !== 'string' || schema === '') return bad('"schema" must be a string, e.g. v1');
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec))
    return bad('"spec" must be a mapping');
  return { section, schema, spec: spec as Record<string, unknown> };
}
