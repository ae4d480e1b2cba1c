// Request schemas: one TypeBox (JSON Schema) value per API shape. The same value validates the
// request (parseRequest), appears in the OpenAPI document, and gives the handler its static
// type (Static<typeof schema>); tpctl's client types are generated from that document.
//
// Validation interprets the JSON Schema the builders below produce, rather than running Ajv
// through Fastify's route schemas: the API's problem+json answers name every failing field with a
// stable code (TYPE_STRING, LENGTH, RANGE, ENUM, UNKNOWN_FIELD, REQUIRED, …) that clients and the
// bad-input corpus rely on, and Ajv's keyword errors would change those codes and messages.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ProblemError, type FieldProblem } from './problem.js';

export { Type, type Static, type TSchema };

/** A string of `min` (default 1) to `max` characters, optionally matching `pattern` (`patternHint` says how, in the error). */
export function Str(options: { min?: number; max: number; description?: string; pattern?: RegExp; patternHint?: string }) {
  return Type.String({
    minLength: options.min ?? 1,
    maxLength: options.max,
    ...(options.description === undefined ? {} : { description: options.description }),
    ...(options.pattern === undefined ? {} : { pattern: options.pattern.source, 'x-pattern-hint': options.patternHint ?? `must match ${String(options.pattern)}` }),
  });
}

/** A whole number within [min, max]. */
export function Int(options: { min: number; max: number; description?: string }) {
  return Type.Integer({ minimum: options.min, maximum: options.max, ...(options.description === undefined ? {} : { description: options.description }) });
}

/** true or false. */
export function Bool() {
  return Type.Boolean();
}

/** One of these strings. */
export function Enum<const T extends string>(values: readonly T[], description?: string) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...(description === undefined ? {} : { description }) });
}

/** An array of `min` (default 0) to `max` items. */
export function List<T extends TSchema>(item: T, options: { min?: number; max: number }) {
  return Type.Array(item, { minItems: options.min ?? 0, maxItems: options.max });
}

/** Any JSON object (a user document, bounded by the request size limit). */
export function AnyObject(description?: string) {
  return Type.Record(Type.String(), Type.Unknown(), description === undefined ? {} : { description });
}

/** An object with exactly these properties (unknown ones are refused). */
export function Obj<T extends Record<string, TSchema>>(properties: T, description?: string) {
  return Type.Object(properties, { additionalProperties: false, ...(description === undefined ? {} : { description }) });
}

type Schema = Record<string, unknown>;

/** Validates `value` against `schema` at `path`; pushes problems; true when valid. */
function check(schema: Schema, value: unknown, path: string, problems: FieldProblem[]): boolean {
  if (Array.isArray(schema['enum'])) {
    const values = schema['enum'] as unknown[];
    if (!values.includes(value)) {
      problems.push({ field: path, code: 'ENUM', message: `${path} must be one of ${values.join(', ')}` });
      return false;
    }
    return true;
  }
  switch (schema['type']) {
    case 'string': {
      if (typeof value !== 'string') {
        problems.push({ field: path, code: 'TYPE_STRING', message: `${path} must be a string` });
        return false;
      }
      const min = Number(schema['minLength'] ?? 0);
      const max = Number(schema['maxLength'] ?? Number.MAX_SAFE_INTEGER);
      if (value.length < min || value.length > max) {
        problems.push({ field: path, code: 'LENGTH', message: `${path} must be ${min}–${max} characters` });
        return false;
      }
      if (typeof schema['pattern'] === 'string' && !new RegExp(schema['pattern'], 'u').test(value)) {
        problems.push({ field: path, code: 'FORMAT', message: `${path} ${String(schema['x-pattern-hint'] ?? `must match ${schema['pattern']}`)}` });
        return false;
      }
      return true;
    }
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        problems.push({ field: path, code: 'TYPE_INTEGER', message: `${path} must be an integer` });
        return false;
      }
      const min = Number(schema['minimum'] ?? Number.MIN_SAFE_INTEGER);
      const max = Number(schema['maximum'] ?? Number.MAX_SAFE_INTEGER);
      if (value < min || value > max) {
        problems.push({ field: path, code: 'RANGE', message: `${path} must be between ${min} and ${max}` });
        return false;
      }
      return true;
    }
    case 'boolean':
      if (typeof value !== 'boolean') {
        problems.push({ field: path, code: 'TYPE_BOOLEAN', message: `${path} must be true or false` });
        return false;
      }
      return true;
    case 'array': {
      if (!Array.isArray(value)) {
        problems.push({ field: path, code: 'TYPE_ARRAY', message: `${path} must be an array` });
        return false;
      }
      const min = Number(schema['minItems'] ?? 0);
      const max = Number(schema['maxItems'] ?? Number.MAX_SAFE_INTEGER);
      if (value.length < min || value.length > max) {
        problems.push({ field: path, code: 'LENGTH', message: `${path} must hold ${min}–${max} items` });
        return false;
      }
      let ok = true;
      value.forEach((element, index) => {
        if (!check(schema['items'] as Schema, element, `${path}[${index}]`, problems)) ok = false;
      });
      return ok;
    }
    case 'object':
      return checkObject(schema, value, path, problems);
    default:
      throw new Error(`request schema at ${path || '(body)'} has no supported type`);
  }
}

function checkObject(schema: Schema, value: unknown, path: string, problems: FieldProblem[]): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push({ field: path || '(body)', code: 'TYPE_OBJECT', message: `${path || 'body'} must be a JSON object` });
    return false;
  }
  const properties = schema['properties'] as Record<string, Schema> | undefined;
  // A record (any keys): only its being an object is checked.
  if (properties === undefined) return true;
  const record = value as Record<string, unknown>;
  const required = new Set((schema['required'] as string[] | undefined) ?? []);
  const before = problems.length;
  for (const key of Object.keys(record)) {
    if (!Object.hasOwn(properties, key)) {
      const field = path ? `${path}.${key}` : key;
      problems.push({ field, code: 'UNKNOWN_FIELD', message: `unknown field ${field}` });
    }
  }
  for (const [key, property] of Object.entries(properties)) {
    const field = path ? `${path}.${key}` : key;
    if (record[key] === undefined) {
      if (required.has(key)) problems.push({ field, code: 'REQUIRED', message: `${field} is required` });
      continue;
    }
    check(property, record[key], field, problems);
  }
  return problems.length === before;
}

/**
 * Validates a request body against its schema; throws a 400 VALIDATION_FAILED problem listing
 * every failing field, or returns the body typed by the schema. Fields left out stay absent.
 */
export function parseRequest<T extends TSchema>(schema: T, body: unknown): Static<T> {
  const problems: FieldProblem[] = [];
  const ok = check(schema as unknown as Schema, body, '', problems);
  if (!ok || problems.length > 0) {
    const summary = problems.map((p) => p.message).join('; ') || 'invalid request body';
    throw new ProblemError(400, 'VALIDATION_FAILED', summary, problems);
  }
  return body as Static<T>;
}

/** The schema as plain JSON Schema (TypeBox's symbol-keyed metadata dropped), for documents. */
export function jsonSchemaOf(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}
