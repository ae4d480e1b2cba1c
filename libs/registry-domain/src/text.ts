// The shared text rule (libs/spiffe checkText) as the deciders apply it: every string a command
// carries into the log passes here first, so nothing the read models cannot store is appended.
import { DomainError } from '@trustplane/events';
import { checkJsonText, checkText, looksLikeResourceId, type TextRule } from '@trustplane/spiffe';
import { CLUSTER_KEY_ID_PREFIX, JOIN_TOKEN_ID_PREFIX } from './ids.js';

/** Id prefixes defined in this package, on top of libs/spiffe's resource ids. */
const LOCAL_ID_PREFIXES = [JOIN_TOKEN_ID_PREFIX, CLUSTER_KEY_ID_PREFIX];

/** Deepest nesting accepted in a configuration document. */
export const CONFIG_DOCUMENT_MAX_DEPTH = 16;
const CONFIG_KEY: TextRule = { maxLength: 128, minLength: 1 };
const CONFIG_VALUE: TextRule = { maxLength: 16_384, multiline: true };

function fieldError(code: string, field: string, ruleCode: string, message: string): DomainError {
  return new DomainError(code, `${field}: ${message}`, 'invalid', { errors: [{ field, code: ruleCode, message }] });
}

/**
 * Checks one free-text field of a command with the shared rule. Returns the normalized (NFC)
 * value to put in the event, or a DomainError with `code` that names the field.
 */
export function checkTextField(code: string, field: string, value: string, rule: TextRule): string | DomainError {
  const checked = checkText(value, rule);
  return checked.ok ? checked.value : fieldError(code, field, checked.error.code, checked.error.message);
}

/** Refuses a name shaped like a resource id (`td-…`, `c-…`, `jt-…`): lookups by id or name must stay unambiguous. */
export function refuseIdLikeName(code: string, field: string, name: string): DomainError | undefined {
  return looksLikeResourceId(name, LOCAL_ID_PREFIXES)
    ? fieldError(code, field, 'NAME_LOOKS_LIKE_ID', `${JSON.stringify(name)} has the shape of a resource id; choose another name`)
    : undefined;
}

/**
 * Checks every key and string of a configuration document with the shared rule and bounds its
 * depth; returns the normalized copy or a DomainError naming the path of the first problem.
 */
export function checkConfigDocument<T>(code: string, field: string, document: T): T | DomainError {
  const checked = checkJsonText(document, { maxDepth: CONFIG_DOCUMENT_MAX_DEPTH, key: CONFIG_KEY, value: CONFIG_VALUE }, field);
  if (!checked.ok) {
    const { path, code: ruleCode, message } = checked.error;
    return new DomainError(code, message, 'invalid', { errors: [{ field: path, code: ruleCode, message }] });
  }
  return checked.value as T;
}
