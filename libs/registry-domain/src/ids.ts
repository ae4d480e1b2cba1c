import { randomBytes } from 'node:crypto';
import { RESOURCE_ID_ALPHABET, RESOURCE_ID_RANDOM_LENGTH } from '@trustplane/spiffe';

/** Prefix of join token ids (`jt-` + 10 lowercase base36 characters). */
export const JOIN_TOKEN_ID_PREFIX = 'jt-';
/** Prefix of cluster attestation key ids (`ck-` + 10 lowercase base36 characters). */
export const CLUSTER_KEY_ID_PREFIX = 'ck-';

const ID_PATTERN = new RegExp(`^[0-9a-z]{${RESOURCE_ID_RANDOM_LENGTH}}$`);

/** Source of random bytes; injectable for deterministic tests. */
export type RandomSource = (n: number) => Uint8Array;

// 252 = 7 × 36: bytes ≥ 252 are skipped so `byte % 36` is uniform (as in @trustplane/spiffe).
function randomBase36(length: number, random: RandomSource): string {
  let out = '';
  for (let batch = 0; out.length < length; batch++) {
    if (batch >= 1000) throw new Error('random source produced no usable bytes (only values >= 252)');
    for (const b of random(length + 4)) {
      if (out.length === length) break;
      if (b < 252) out += RESOURCE_ID_ALPHABET[b % 36];
    }
  }
  return out;
}

/** A fresh join token id, `jt-…`. */
export function newJoinTokenId(random: RandomSource = randomBytes): string {
  return JOIN_TOKEN_ID_PREFIX + randomBase36(RESOURCE_ID_RANDOM_LENGTH, random);
}

/** True when `input` is a well-formed join token id. */
export function isJoinTokenId(input: string): boolean {
  return input.startsWith(JOIN_TOKEN_ID_PREFIX) && ID_PATTERN.test(input.slice(JOIN_TOKEN_ID_PREFIX.length));
}

/** A fresh cluster key id, `ck-…`. */
export function newClusterKeyId(random: RandomSource = randomBytes): string {
  return CLUSTER_KEY_ID_PREFIX + randomBase36(RESOURCE_ID_RANDOM_LENGTH, random);
}
