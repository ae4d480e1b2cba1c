import { ProblemError, type FieldProblem } from './problem.js';

/** Validates one value; pushes problems and returns the typed value (or undefined). */
export type Validator<T> = (value: unknown, path: string, problems: FieldProblem[]) => T | undefined;

type Shape = Record<string, Validator<unknown> & { optional?: boolean }>;
type Out<S extends Shape> = {
  [K in keyof S as S[K] extends { optional: true } ? never : K]: S[K] extends Validator<infer T> ? T : never;
} & {
  [K in keyof S as S[K] extends { optional: true } ? K : never]?: S[K] extends Validator<infer T> ? T : never;
};

/** Validators for request bodies and query strings. Unknown fields are always rejected. */
export const v = {
  string(options: { min?: number; max: number; pattern?: RegExp; patternHint?: string }): Validator<string> {
    return (value, path, problems) => {
      if (typeof value !== 'string') {
        problems.push({ field: path, code: 'TYPE_STRING', message: `${path} must be a string` });
        return undefined;
      }
      if (value.length < (options.min ?? 1) || value.length > options.max) {
        problems.push({
          field: path,
          code: 'LENGTH',
          message: `${path} must be ${options.min ?? 1}–${options.max} characters`,
        });
        return undefined;
      }
      if (options.pattern !== undefined && !options.pattern.test(value)) {
        problems.push({ field: path, code: 'FORMAT', message: `${path} ${options.patternHint ?? `must match ${String(options.pattern)}`}` });
        return undefined;
      }
      return value;
    };
  },
  int(options: { min: number; max: number }): Validator<number> {
    return (value, path, problems) => {
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        problems.push({ field: path, code: 'TYPE_INTEGER', message: `${path} must be an integer` });
        return undefined;
      }
      if (value < options.min || value > options.max) {
        problems.push({ field: path, code: 'RANGE', message: `${path} must be between ${options.min} and ${options.max}` });
        return undefined;
      }
      return value;
    };
  },
  bool(): Validator<boolean> {
    return (value, path, problems) => {
      if (typeof value !== 'boolean') {
        problems.push({ field: path, code: 'TYPE_BOOLEAN', message: `${path} must be true or false` });
        return undefined;
      }
      return value;
    };
  },
  oneOf<const T extends string>(values: readonly T[]): Validator<T> {
    return (value, path, problems) => {
      if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
        problems.push({ field: path, code: 'ENUM', message: `${path} must be one of ${values.join(', ')}` });
        return undefined;
      }
      return value as T;
    };
  },
  array<T>(item: Validator<T>, options: { max: number; min?: number }): Validator<T[]> {
    return (value, path, problems) => {
      if (!Array.isArray(value)) {
        problems.push({ field: path, code: 'TYPE_ARRAY', message: `${path} must be an array` });
        return undefined;
      }
      if (value.length < (options.min ?? 0) || value.length > options.max) {
        problems.push({ field: path, code: 'LENGTH', message: `${path} must hold ${options.min ?? 0}–${options.max} items` });
        return undefined;
      }
      const out: T[] = [];
      let ok = true;
      value.forEach((element, index) => {
        const parsed = item(element, `${path}[${index}]`, problems);
        if (parsed === undefined) ok = false;
        else out.push(parsed);
      });
      return ok ? out : undefined;
    };
  },
  /** A JSON object with any keys (bounded by the request size limit). */
  record(): Validator<Record<string, unknown>> {
    return (value, path, problems) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        problems.push({ field: path, code: 'TYPE_OBJECT', message: `${path} must be a JSON object` });
        return undefined;
      }
      return value as Record<string, unknown>;
    };
  },
  optional<T>(inner: Validator<T>): Validator<T> & { optional: true } {
    const wrapped = ((value: unknown, path: string, problems: FieldProblem[]) =>
      value === undefined ? undefined : inner(value, path, problems)) as Validator<T> & { optional: true };
    wrapped.optional = true;
    return wrapped;
  },
  object<S extends Shape>(shape: S): Validator<Out<S>> {
    return (value, path, problems) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        problems.push({ field: path || '(body)', code: 'TYPE_OBJECT', message: `${path || 'body'} must be a JSON object` });
        return undefined;
      }
      const record = value as Record<string, unknown>;
      const before = problems.length;
      for (const key of Object.keys(record)) {
        if (!(key in shape)) {
          const field = path ? `${path}.${key}` : key;
          problems.push({ field, code: 'UNKNOWN_FIELD', message: `unknown field ${field}` });
        }
      }
      const out: Record<string, unknown> = {};
      for (const [key, validator] of Object.entries(shape)) {
        const field = path ? `${path}.${key}` : key;
        if (record[key] === undefined) {
          if (!validator.optional) problems.push({ field, code: 'REQUIRED', message: `${field} is required` });
          continue;
        }
        const parsed = validator(record[key], field, problems);
        if (parsed !== undefined) out[key] = parsed;
      }
      return problems.length === before ? (out as Out<S>) : undefined;
    };
  },
};

/** Validates a request body; throws a 400 problem listing every failing field. */
export function parseBody<T>(validator: Validator<T>, body: unknown): T {
  const problems: FieldProblem[] = [];
  const parsed = validator(body, '', problems);
  if (parsed === undefined || problems.length > 0) {
    const summary = problems.map((p) => p.message).join('; ') || 'invalid request body';
    throw new ProblemError(400, 'VALIDATION_FAILED', summary, problems);
  }
  return parsed;
}
