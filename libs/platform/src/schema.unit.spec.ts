// Request validation from a TypeBox schema: every failing field is named with its stable code,
// unknown fields are refused, optional fields may be absent, and a valid body comes back as is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProblemError } from './problem.js';
import { AnyObject, Bool, Enum, Int, jsonSchemaOf, List, Obj, parseRequest, Str, Type } from './schema.js';

const body = Obj({
  name: Str({ max: 5 }),
  note: Type.Optional(Str({ min: 0, max: 3 })),
  count: Type.Optional(Int({ min: 1, max: 9 })),
  on: Type.Optional(Bool()),
  kind: Type.Optional(Enum(['a', 'b'] as const)),
  tags: Type.Optional(List(Str({ max: 2 }), { min: 1, max: 2 })),
  doc: Type.Optional(AnyObject()),
  nested: Type.Optional(Obj({ x: Int({ min: 0, max: 1 }) })),
});

function problems(value: unknown): { field: string; code: string; message: string }[] {
  try {
    parseRequest(body, value);
  } catch (error) {
    assert.ok(error instanceof ProblemError);
    assert.equal(error.status, 400);
    assert.equal(error.code, 'VALIDATION_FAILED');
    return [...(error.errors ?? [])];
  }
  assert.fail('expected a refusal');
}

test('a valid body is returned as it came; absent optional fields stay absent', () => {
  const ok = { name: 'abc', note: '', count: 9, on: false, kind: 'b', tags: ['x'], doc: { anyKey: [1] }, nested: { x: 0 } };
  assert.deepEqual(parseRequest(body, ok), ok);
  assert.deepEqual(parseRequest(body, { name: 'a' }), { name: 'a' });
});

test('each rule fails with its code and a message naming the field; all failures are listed', () => {
  assert.deepEqual(problems('x'), [{ field: '(body)', code: 'TYPE_OBJECT', message: 'body must be a JSON object' }]);
  assert.deepEqual(problems({}), [{ field: 'name', code: 'REQUIRED', message: 'name is required' }]);
  assert.deepEqual(
    problems({ name: '', note: 'long', count: 1.5, on: 'yes', kind: 'c', tags: [], doc: [], nested: { x: 2, y: 1 }, extra: 1 }).map((p) => `${p.field}:${p.code}`),
    ['extra:UNKNOWN_FIELD', 'name:LENGTH', 'note:LENGTH', 'count:TYPE_INTEGER', 'on:TYPE_BOOLEAN', 'kind:ENUM', 'tags:LENGTH', 'doc:TYPE_OBJECT', 'nested.y:UNKNOWN_FIELD', 'nested.x:RANGE'],
  );
  assert.deepEqual(problems({ name: 7, tags: ['abc', 3] }), [
    { field: 'name', code: 'TYPE_STRING', message: 'name must be a string' },
    { field: 'tags[0]', code: 'LENGTH', message: 'tags[0] must be 1–2 characters' },
    { field: 'tags[1]', code: 'TYPE_STRING', message: 'tags[1] must be a string' },
  ]);
  assert.deepEqual(problems({ name: 'a', count: 0, kind: 1, tags: 'x' }).map((p) => p.message), ['count must be between 1 and 9', 'kind must be one of a, b', 'tags must be an array']);
});

test('the published JSON Schema is the validated one: bounds, required and closed objects', () => {
  const published = jsonSchemaOf(body);
  assert.equal(published['additionalProperties'], false);
  assert.deepEqual(published['required'], ['name']);
  assert.deepEqual((published['properties'] as Record<string, unknown>)['name'], { type: 'string', minLength: 1, maxLength: 5 });
  assert.deepEqual((published['properties'] as Record<string, unknown>)['kind'], { type: 'string', enum: ['a', 'b'] });
});
