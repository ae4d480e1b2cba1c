import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFresh, jwtCacheKey, JwtSvidCache, normalizeAudience } from './jwt-cache.js';

const t0 = new Date('2030-01-01T00:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

describe('JWT-SVID cache policy', () => {
  it('is fresh strictly before half of the lifetime', () => {
    const entry = { token: 't', obtainedAt: t0, expiresAt: at(300) };
    assert.equal(isFresh(entry, at(0)), true);
    assert.equal(isFresh(entry, at(149)), true);
    assert.equal(isFresh(entry, at(150)), false);
    assert.equal(isFresh(entry, at(400)), false);
    assert.equal(isFresh({ ...entry, expiresAt: t0 }, t0), false);
  });

  it('keys by SPIFFE ID and the audience set', () => {
    assert.equal(
      jwtCacheKey('spiffe://a/x', ['b', 'a', 'b']),
      jwtCacheKey('spiffe://a/x', ['a', 'b']),
    );
    assert.notEqual(jwtCacheKey('spiffe://a/x', ['a']), jwtCacheKey('spiffe://a/y', ['a']));
    assert.notEqual(jwtCacheKey('spiffe://a/x', ['a,b']), jwtCacheKey('spiffe://a/x', ['a', 'b']));
    assert.deepEqual(normalizeAudience(['z', 'a', 'z']), ['a', 'z']);
  });
});

describe('JwtSvidCache', () => {
  function setup(maxEntries?: number) {
    let now = t0;
    const calls: { id: string; audience: readonly string[] }[] = [];
    const cache = new JwtSvidCache(
      async (id, audience) => {
        calls.push({ id, audience });
        return { token: `tok-${calls.length}`, expiresAt: new Date(now.getTime() + 300_000) };
      },
      { now: () => now },
      maxEntries,
    );
    return { cache, calls, setNow: (d: Date) => (now = d) };
  }

  it('reuses a token until half-life, then mints again with the normalized audience', async () => {
    const { cache, calls, setNow } = setup();
    const first = await cache.get('spiffe://td/a', ['y', 'x']);
    assert.deepEqual(calls[0]?.audience, ['x', 'y']);
    setNow(at(149));
    assert.equal((await cache.get('spiffe://td/a', ['x', 'y'])).token, first.token);
    setNow(at(150));
    const second = await cache.get('spiffe://td/a', ['x', 'y']);
    assert.notEqual(second.token, first.token);
    assert.equal(calls.length, 2);
  });

  it('shares one mint between concurrent requests', async () => {
    const { cache, calls } = setup();
    const results = await Promise.all([
      cache.get('spiffe://td/a', ['x']),
      cache.get('spiffe://td/a', ['x']),
    ]);
    assert.equal(results[0].token, results[1].token);
    assert.equal(calls.length, 1);
  });

  it('does not cache failures', async () => {
    let fail = true;
    const cache = new JwtSvidCache(
      async () => {
        if (fail) throw new Error('signer down');
        return { token: 'ok', expiresAt: at(300) };
      },
      { now: () => t0 },
    );
    await assert.rejects(cache.get('spiffe://td/a', ['x']), /signer down/);
    fail = false;
    assert.equal((await cache.get('spiffe://td/a', ['x'])).token, 'ok');
  });

  it('stays within its size bound', async () => {
    const { cache } = setup(3);
    for (let i = 0; i < 10; i++) await cache.get(`spiffe://td/${i}`, ['x']);
    assert.equal(cache.size, 3);
  });
});
