import { createHash } from 'node:crypto';
import {
  RESOURCE_ID_ALPHABET,
  RESOURCE_ID_PREFIXES,
  RESOURCE_ID_RANDOM_LENGTH,
  randomResourceSuffix,
  type RandomBytes,
  type ResourceId,
  type ResourceKind,
} from '@trustplane/spiffe';

/** Prefix of join token ids (`jt-` + 10 lowercase base36 characters). */
export const JOIN_TOKEN_ID_PREFIX = 'jt-';
/** Prefix of cluster attestation key ids (`ck-` + 10 lowercase base36 characters). */
export const CLUSTER_KEY_ID_PREFIX = 'ck-';

const ID_PATTERN = new RegExp(`^[0-9a-z]{${RESOURCE_ID_RANDOM_LENGTH}}$`);

/** Source of random bytes; injectable for deterministic tests. */
export type RandomSource = RandomBytes;

/** A fresh join token id, `jt-…`. */
export function newJoinTokenId(random?: RandomSource): string {
  return JOIN_TOKEN_ID_PREFIX + randomResourceSuffix(random);
}

/** True when `input` is a well-formed join token id. */
export function isJoinTokenId(input: string): boolean {
  return input.startsWith(JOIN_TOKEN_ID_PREFIX) && ID_PATTERN.test(input.slice(JOIN_TOKEN_ID_PREFIX.length));
}

/** A fresh cluster key id, `ck-…`. */
export function newClusterKeyId(random?: RandomSource): string {
  return CLUSTER_KEY_ID_PREFIX + randomResourceSuffix(random);
}

/**
 * The random-looking part of an id derived from `seed`: RESOURCE_ID_RANDOM_LENGTH base36
 * characters taken from SHA-256(seed), one per digest byte below 252 (`byte % 36`, no modulo
 * bias), hashing the digest again in the (practically impossible) case that 32 bytes do not
 * yield enough characters. The same seed always gives the same suffix.
 */
export function derivedResourceSuffix(seed: string): string {
  let digest = createHash('sha256').update(seed, 'utf8').digest();
  let out = '';
  for (;;) {
    for (const b of digest) {
      if (out.length === RESOURCE_ID_RANDOM_LENGTH) return out;
      if (b < 252) out += RESOURCE_ID_ALPHABET[b % 36];
    }
    if (out.length === RESOURCE_ID_RANDOM_LENGTH) return out;
    digest = createHash('sha256').update(digest).digest();
  }
}

/**
 * The id of a resource of `kind` determined by `seed` (for example the request's
 * Idempotency-Key with its tenant and body): whoever repeats the same request addresses the
 * same aggregate, so a retry can never create a second resource.
 */
export function derivedResourceId<K extends ResourceKind>(kind: K, seed: string): ResourceId<K> {
  return (RESOURCE_ID_PREFIXES[kind] + derivedResourceSuffix(`${kind}\n${seed}`)) as ResourceId<K>;
}

/** A join token id derived from `seed` (see {@link derivedResourceId}). */
export function derivedJoinTokenId(seed: string): string {
  return JOIN_TOKEN_ID_PREFIX + derivedResourceSuffix(`joinToken\n${seed}`);
}
