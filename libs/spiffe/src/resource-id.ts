import { randomFillSync } from 'node:crypto';
import type { CharError, PlainError } from './errors.js';
import { err, ok, type CodedError, type Result } from './result.js';
import { codePointAt, describeChar, isDigit, isLowerAlpha } from './text.js';

/** The prefix of each kind of resource ID, as in the hosted product (`td-…`, `tdd-…`). */
export const RESOURCE_ID_PREFIXES = Object.freeze({
  /** An organization (tenant). */
  organization: 't-',
  /** A trust domain. */
  trustDomain: 'td-',
  /** A trust domain deployment (a self-hosted or managed server). */
  deployment: 'tdd-',
  /** A deployment key. */
  deploymentKey: 'tdk-',
  /** A cluster. */
  cluster: 'c-',
  /** A version of a cluster's configuration. */
  clusterConfigVersion: 'cv-',
  /** A registration entry. */
  entry: 'e-',
  /** A node agent. */
  agent: 'ag-',
  /** An API token. */
  apiToken: 'tok-',
} as const);

/** A kind of resource that has an ID. */
export type ResourceKind = keyof typeof RESOURCE_ID_PREFIXES;

/** Every {@link ResourceKind}, in declaration order. */
export const RESOURCE_KINDS: readonly ResourceKind[] = Object.freeze(
  Object.keys(RESOURCE_ID_PREFIXES) as ResourceKind[],
);

/** Number of random base36 characters after the prefix. */
export const RESOURCE_ID_RANDOM_LENGTH = 10;

/** The alphabet of the random part: digits then lowercase letters. */
export const RESOURCE_ID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

declare const resourceIdBrand: unique symbol;

/** A validated ID of a resource of kind `K`; a plain string at run time. */
export type ResourceId<K extends ResourceKind = ResourceKind> = string & {
  readonly [resourceIdBrand]: K;
};

/** ID of an organization, `t-…`. */
export type OrganizationId = ResourceId<'organization'>;
/** ID of a trust domain, `td-…`. */
export type TrustDomainId = ResourceId<'trustDomain'>;
/** ID of a deployment, `tdd-…`. */
export type DeploymentId = ResourceId<'deployment'>;
/** ID of a deployment key, `tdk-…`. */
export type DeploymentKeyId = ResourceId<'deploymentKey'>;
/** ID of a cluster, `c-…`. */
export type ClusterId = ResourceId<'cluster'>;
/** ID of a cluster config version, `cv-…`. */
export type ClusterConfigVersionId = ResourceId<'clusterConfigVersion'>;
/** ID of a registration entry, `e-…`. */
export type EntryId = ResourceId<'entry'>;
/** ID of an agent, `ag-…`. */
export type AgentId = ResourceId<'agent'>;
/** ID of an API token, `tok-…`. */
export type ApiTokenId = ResourceId<'apiToken'>;

/** Source of random bytes: returns exactly `n` bytes. Injectable for deterministic tests. */
export type RandomBytes = (n: number) => Uint8Array;

/** Why a string is not a resource ID of the expected kind. */
export type ResourceIdError =
  /** The input is empty. */
  | PlainError<'RESOURCE_ID_EMPTY'>
  /** The input does not start with the kind's prefix; `expectedPrefix` says which one. */
  | (CodedError & {
      readonly code: 'RESOURCE_ID_WRONG_PREFIX';
      readonly expectedPrefix: string;
      /** The kind the input's prefix belongs to, if it belongs to another one. */
      readonly actualKind: ResourceKind | undefined;
    })
  /** The part after the prefix is not exactly {@link RESOURCE_ID_RANDOM_LENGTH} characters long. */
  | (CodedError & {
      readonly code: 'RESOURCE_ID_WRONG_LENGTH';
      /** Always {@link RESOURCE_ID_RANDOM_LENGTH}. */
      readonly expected: number;
      /** Length of the part after the prefix, in UTF-16 units. */
      readonly actual: number;
    })
  /** A random-part character outside `[0-9a-z]`. */
  | CharError<'RESOURCE_ID_INVALID_CHAR'>;

/** The stable code of a {@link ResourceIdError}. */
export type ResourceIdErrorCode = ResourceIdError['code'];

// 252 = 7 × 36 is the largest multiple of 36 that fits in a byte: bytes ≥ 252 are rejected so
// that `byte % 36` is exactly uniform (no modulo bias).
const ACCEPT_BELOW = 252;
// A correct source rejects a byte with probability 4/256; needing this many batches means the
// source is broken (e.g. constant 0xff), which is a programming error.
const MAX_BATCHES = 1000;

/** Default randomness: the OS CSPRNG. */
const systemRandom: RandomBytes = (n) => randomFillSync(new Uint8Array(n));

/**
 * A new random ID for `kind`: prefix + 10 uniform base36 characters (~51.7 bits). `random` is
 * injectable for tests; it must return `n` bytes when asked for `n`. Throws a plain `Error` only
 * if the source misbehaves (wrong length, or only bytes ≥ 252 for 1000 batches).
 */
export function newResourceId<K extends ResourceKind>(
  kind: K,
  random: RandomBytes = systemRandom,
): ResourceId<K> {
  return (RESOURCE_ID_PREFIXES[kind] + randomResourceSuffix(random)) as ResourceId<K>;
}

/**
 * The random part of a resource ID: RESOURCE_ID_RANDOM_LENGTH uniform base36 characters, for
 * other prefixed IDs (join tokens, cluster keys) that follow the same rule.
 */
export function randomResourceSuffix(random: RandomBytes = systemRandom): string {
  let out = '';
  let needed = RESOURCE_ID_RANDOM_LENGTH;
  for (let batch = 0; needed > 0; batch++) {
    if (batch >= MAX_BATCHES)
      throw new Error('random source produced no usable bytes (only values >= 252)');
    // Ask for a few spare bytes so one batch almost always suffices.
    const want = needed + 4;
    const bytes = random(want);
    if (bytes.length !== want)
      throw new Error(`random source returned ${bytes.length} bytes, expected ${want}`);
    for (const b of bytes) {
      if (needed === 0) break;
      if (b >= ACCEPT_BELOW) continue;
      out += RESOURCE_ID_ALPHABET[b % 36];
      needed--;
    }
  }
  return out;
}

/** Parses an ID that must be of `kind`, e.g. `parseResourceId('trustDomain', 'td-0a1b2c3d4e')`. */
export function parseResourceId<K extends ResourceKind>(
  kind: K,
  input: string,
): Result<ResourceId<K>, ResourceIdError> {
  if (input.length === 0)
    return err({ code: 'RESOURCE_ID_EMPTY', message: `${kind} ID must not be empty` });
  const prefix = RESOURCE_ID_PREFIXES[kind];
  if (!input.startsWith(prefix)) {
    const actualKind = resourceKindOf(input);
    return err({
      code: 'RESOURCE_ID_WRONG_PREFIX',
      message:
        actualKind === undefined
          ? `${kind} ID must start with "${prefix}"`
          : `${kind} ID must start with "${prefix}"; this looks like a ${actualKind} ID`,
      expectedPrefix: prefix,
      actualKind,
    });
  }
  const randomLength = input.length - prefix.length;
  if (randomLength !== RESOURCE_ID_RANDOM_LENGTH) {
    return err({
      code: 'RESOURCE_ID_WRONG_LENGTH',
      message: `${kind} ID must have exactly ${RESOURCE_ID_RANDOM_LENGTH} characters after "${prefix}", not ${randomLength}`,
      expected: RESOURCE_ID_RANDOM_LENGTH,
      actual: randomLength,
    });
  }
  for (let i = prefix.length; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (isDigit(c) || isLowerAlpha(c)) continue;
    const char = codePointAt(input, i);
    return err({
      code: 'RESOURCE_ID_INVALID_CHAR',
      message: `${kind} ID may contain only 0-9 and a-z after the prefix: ${describeChar(char)} at ${i}`,
      char,
      index: i,
    });
  }
  return ok(input as ResourceId<K>);
}

/** True when `input` is a well-formed ID of `kind`. */
export function isResourceId<K extends ResourceKind>(
  kind: K,
  input: string,
): input is ResourceId<K> {
  return parseResourceId(kind, input).ok;
}

/**
 * The kind whose prefix `input` starts with (prefixes are prefix-free once the `-` is included),
 * or undefined. Says nothing about the rest of the ID; use {@link parseResourceId} for that.
 */
export function resourceKindOf(input: string): ResourceKind | undefined {
  return RESOURCE_KINDS.find((k) => input.startsWith(RESOURCE_ID_PREFIXES[k]));
}

const RANDOM_PART = new RegExp(`^[0-9a-z]{${RESOURCE_ID_RANDOM_LENGTH}}$`);

/**
 * True when `input` has the shape of a resource ID: one of the {@link RESOURCE_ID_PREFIXES} (or of
 * `extraPrefixes`, for IDs defined elsewhere such as join tokens) followed by the random part,
 * compared case-insensitively. Such strings are refused as names, so that a lookup by "id or
 * name" can never match two resources.
 */
export function looksLikeResourceId(input: string, extraPrefixes: readonly string[] = []): boolean {
  const lower = input.toLowerCase();
  return [...Object.values(RESOURCE_ID_PREFIXES), ...extraPrefixes].some(
    (prefix) => lower.startsWith(prefix) && RANDOM_PART.test(lower.slice(prefix.length)),
  );
}
