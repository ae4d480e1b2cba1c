/**
 * Decides which outputs get the full signature check: the first one, then every `every`-th.
 * The field-by-field validation still runs on every output; the sampled signature check is a
 * tripwire for a misbehaving KeyManager (webhook KeyManagers also verify every signature).
 */
export function createSignatureSampler(every: number): () => boolean {
  if (!Number.isSafeInteger(every) || every < 1) throw new RangeError('every must be a positive integer');
  let count = 0;
  return () => count++ % every === 0;
}
