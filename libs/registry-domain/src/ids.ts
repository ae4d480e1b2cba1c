import { RESOURCE_ID_RANDOM_LENGTH, randomResourceSuffix, type RandomBytes } from '@trustplane/spiffe';

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
