// Property-based tests: the parsers are checked against independent oracles (anchored regular
// expressions plus TextEncoder for byte lengths) on random, adversarial and near-valid strings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  parseSpiffeId,
  parseTrustDomain,
  parseTrustDomainKey,
  spiffeIdFromParts,
  unwrap,
  type SpiffeIdError,
} from './index.js';

// ---- Oracles: written from the spec text, sharing no code with the parsers ----------------------

const encoder = new TextEncoder();
const bytesOf = (s: string): number => encoder.encode(s).length;

/** SPIFFE-ID §2.1 + §2.3: lowercase letters, digits, '.', '-', '_'; 1..255 bytes (ASCII only). */
const oracleTrustDomain = (s: string): boolean => /^[a-z0-9._-]{1,255}$/.test(s);

/** SPIFFE-ID §2, §2.1, §2.2, §2.3 as one regular expression plus the dot-segment and length rules. */
function oracleSpiffeId(s: string): boolean {
  if (bytesOf(s) > 2048) return false;
  const m = /^spiffe:\/\/([a-z0-9._-]{1,255})((?:\/[A-Za-z0-9._-]+)*)$/.exec(s);
  if (m === null) return false;
  return (m[2] ?? '').split('/').every((seg) => seg !== '.' && seg !== '..');
}

/**
 * An error is justified when the input really breaks the rule its code names, at the place it
 * names. Checked from the raw input, not from parser internals.
 */
function justified(input: string, e: SpiffeIdError): boolean {
  const at = 'index' in e ? e.index : -1;
  const ch = input[at];
  const authorityEnd = (() => {
    const slash = input.indexOf('/', 9);
    return slash < 0 ? input.length : slash;
  })();
  const inAuthority = at >= 9 && at < authorityEnd;
  const inPath = at > authorityEnd && at <= input.length;
  switch (e.code) {
    case 'SPIFFE_ID_EMPTY':
      return input === '';
    case 'SPIFFE_ID_TOO_LONG':
      return e.actual === bytesOf(input) && e.actual > 2048;
    case 'SPIFFE_ID_MISSING_SCHEME':
      return !input.startsWith('spiffe://');
    case 'SPIFFE_ID_WRONG_SCHEME':
      return (
        !input.startsWith('spiffe://') &&
        input.startsWith(`${e.scheme}://`) &&
        e.scheme !== 'spiffe'
      );
    case 'SPIFFE_ID_HAS_QUERY':
      return at >= 9 && ch === '?';
    case 'SPIFFE_ID_HAS_FRAGMENT':
      return at >= 9 && ch === '#';
    case 'TRUST_DOMAIN_EMPTY':
      return authorityEnd === 9;
    case 'TRUST_DOMAIN_TOO_LONG':
      return e.actual === bytesOf(input.slice(9, authorityEnd)) && e.actual > 255;
    case 'TRUST_DOMAIN_HAS_SCHEME':
      return false; // a "://" cannot sit inside the authority of a spiffe:// URI
    case 'TRUST_DOMAIN_HAS_PATH':
      return false; // the authority ends at the first "/"
    case 'TRUST_DOMAIN_HAS_USERINFO':
      return inAuthority && ch === '@';
    case 'TRUST_DOMAIN_HAS_PORT':
      return inAuthority && ch === ':';
    case 'TRUST_DOMAIN_PERCENT_ENCODED':
      return inAuthority && ch === '%';
    case 'TRUST_DOMAIN_UPPERCASE':
      return inAuthority && /^[A-Z]$/.test(e.char) && input.startsWith(e.char, at);
    case 'TRUST_DOMAIN_INVALID_CHAR':
      return inAuthority && !/^[a-z0-9._-]$/.test(e.char) && input.startsWith(e.char, at);
    case 'SPIFFE_ID_EMPTY_SEGMENT':
      return inPath && input[at - 1] === '/' && ch === '/';
    case 'SPIFFE_ID_TRAILING_SLASH':
      return at === input.length - 1 && ch === '/';
    case 'SPIFFE_ID_DOT_SEGMENT': {
      const end = at + e.segment.length;
      return (
        inPath &&
        input[at - 1] === '/' &&
        input.startsWith(e.segment, at) &&
        (end === input.length || input[end] === '/')
      );
    }
    case 'SPIFFE_ID_PERCENT_ENCODED':
      return inPath && ch === '%';
    case 'SPIFFE_ID_INVALID_CHAR':
      return inPath && !/^[A-Za-z0-9._-]$/.test(e.char) && input.startsWith(e.char, at);
    default: {
      const exhaustive: never = e;
      return exhaustive;
    }
  }
}

// ---- Generators ---------------------------------------------------------------------------------

const TD_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789.-_'.split('');
const PATH_CHARS = [...TD_CHARS, ...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('')];

const trustDomainName = fc.string({
  unit: fc.constantFrom(...TD_CHARS),
  minLength: 1,
  maxLength: 40,
});
const segment = fc
  .string({ unit: fc.constantFrom(...PATH_CHARS), minLength: 1, maxLength: 16 })
  .filter((s) => s !== '.' && s !== '..');
const validParts = fc.tuple(trustDomainName, fc.array(segment, { maxLength: 8 }));
const validId = validParts.map(
  ([td, segs]) => `spiffe://${td}${segs.map((s) => `/${s}`).join('')}`,
);

/** Pieces that sit on rule boundaries; concatenations of them are mostly near-valid. */
const tokens = fc.constantFrom(
  'spiffe://',
  'SPIFFE://',
  'Spiffe://',
  'spiffe:',
  'https://',
  '://',
  '/',
  '//',
  '.',
  '..',
  '%',
  '%2F',
  ':',
  ':443',
  '@',
  'user@',
  '?',
  '?q=1',
  '#',
  '#f',
  'a',
  'Z',
  'example',
  '.org',
  '-',
  '_',
  '0',
  'é',
  '😀',
  '\u0000',
  '\n',
  ' ',
  '\ud800',
  '\udc00',
  '[',
  ']',
  '\\',
  '+',
);
const soup = fc.array(tokens, { maxLength: 24 }).map((parts) => parts.join(''));

/** Structurally plausible IDs whose trust domain or segments are drawn partly from edge cases. */
const trickyId = fc
  .tuple(
    fc.oneof(trustDomainName, fc.constantFrom('', 'A', 'a:1', 'u@a', 'a%41', 'é', '[::1]')),
    fc.array(
      fc.oneof(
        segment,
        fc.constantFrom('', '.', '..', '...', '%2F', 'a b', 'ü', '?', '#x', ':', '@'),
      ),
      {
        maxLength: 5,
      },
    ),
    fc.boolean(),
  )
  .map(
    ([td, segs, trailing]) =>
      `spiffe://${td}${segs.map((x) => `/${x}`).join('')}${trailing ? '/' : ''}`,
  );

/** Anything: unicode (lone surrogates included), ASCII, token soup, prefixed soup, mutated valid IDs. */
const anyInput = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.string({ unit: 'binary-ascii', maxLength: 80 }),
  soup,
  soup.map((s) => `spiffe://${s}`),
  trickyId,
  fc.tuple(validId, fc.nat(), tokens).map(([id, pos, tok]) => {
    const p = pos % (id.length + 1);
    return id.slice(0, p) + tok + id.slice(p);
  }),
);

/** IDs around the 2048-byte limit and trust domains around 255 bytes. */
const longInput = fc
  .tuple(
    fc.integer({ min: 1, max: 300 }),
    fc.integer({ min: 0, max: 2100 }),
    fc.constantFrom('a', 'é', '/a'),
  )
  .map(
    ([tdLen, pathLen, unit]) =>
      `spiffe://${'t'.repeat(tdLen)}/${unit.repeat(Math.max(1, Math.floor(pathLen / unit.length)))}`,
  );

const RUNS = { numRuns: 3000 };

// ---- Properties -------------------------------------------------------------------------------

test('parseTrustDomain agrees with the regex oracle on arbitrary input', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        anyInput,
        trustDomainName,
        fc.string({ unit: fc.constantFrom(...TD_CHARS), minLength: 250, maxLength: 260 }),
      ),
      (s) => {
        const r = parseTrustDomain(s);
        assert.equal(r.ok, oracleTrustDomain(s), JSON.stringify(s));
        if (r.ok) assert.equal(r.value, s);
      },
    ),
    RUNS,
  );
});

test('parseSpiffeId agrees with the regex oracle, and every rejection names a rule the input breaks', () => {
  fc.assert(
    fc.property(fc.oneof(anyInput, validId, longInput), (s) => {
      const r = parseSpiffeId(s);
      assert.equal(r.ok, oracleSpiffeId(s), JSON.stringify(s));
      if (!r.ok)
        assert.ok(justified(s, r.error), `${r.error.code} not justified for ${JSON.stringify(s)}`);
    }),
    RUNS,
  );
});

test('a trust domain name, its bundle key and its trust-domain SPIFFE ID are accepted together', () => {
  fc.assert(
    fc.property(fc.oneof(anyInput, trustDomainName), (s) => {
      const bare = parseTrustDomain(s).ok;
      assert.equal(parseTrustDomainKey(`spiffe://${s}`).ok, bare);
      if (!s.includes('/') && !s.includes('?') && !s.includes('#')) {
        assert.equal(parseSpiffeId(`spiffe://${s}`).ok, bare && bytesOf(s) <= 2048 - 9);
      }
    }),
    RUNS,
  );
});

test('round trip: parse(s).toString() === s, and spiffeIdFromParts builds the same value', () => {
  fc.assert(
    fc.property(validParts, ([td, segs]) => {
      const s = `spiffe://${td}${segs.map((x) => `/${x}`).join('')}`;
      const parsed = unwrap(parseSpiffeId(s));
      assert.equal(parsed.toString(), s);
      assert.equal(parsed.trustDomain, td);
      assert.deepEqual(parsed.segments, segs);
      assert.deepEqual(unwrap(spiffeIdFromParts(td, ...segs)), parsed);
      assert.deepEqual(unwrap(parseSpiffeId(parsed.toString())), parsed);
    }),
    RUNS,
  );
});

test('whatever parses is printed back unchanged (no normalization hides in the parser)', () => {
  fc.assert(
    fc.property(fc.oneof(anyInput, validId), (s) => {
      const r = parseSpiffeId(s);
      if (r.ok) assert.equal(r.value.toString(), s);
    }),
    RUNS,
  );
});

test('spiffeIdFromParts accepts exactly when the joined URI parses and no part contains "/"', () => {
  const part = fc.oneof(segment, fc.constantFrom('', '.', '..', 'a/b', '%2F', 'ü', 'A'));
  fc.assert(
    fc.property(
      fc.oneof(trustDomainName, fc.constantFrom('', 'A.org', 'a:1', 'a/b')),
      fc.array(part, { maxLength: 5 }),
      (td, segs) => {
        const built = spiffeIdFromParts(td, ...segs);
        const joined = `spiffe://${td}${segs.map((x) => `/${x}`).join('')}`;
        const expected =
          oracleSpiffeId(joined) && segs.every((x) => !x.includes('/')) && !td.includes('/');
        assert.equal(built.ok, expected, joined);
        if (built.ok) assert.equal(built.value.toString(), joined);
      },
    ),
  );
});
