import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Tag,
  children,
  namedBitString,
  oid,
  oidToString,
  readNamedBits,
  readNode,
  readPositiveInteger,
  readRoot,
  readTime,
  sequence,
  smallInteger,
  time,
  unsignedInteger,
} from './der';
import { isCryptoError } from './errors';
import { ecdsaDerToRaw, ecdsaRawToDer } from './keys';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const malformed = (err: unknown): boolean => isCryptoError(err, 'DER_MALFORMED');

describe('DER encoder (X.690 §8, §10)', () => {
  it('encodes short and long lengths minimally', () => {
    assert.equal(hex(sequence(Buffer.alloc(3))), '3003000000');
    assert.equal(hex(sequence(Buffer.alloc(0x80)).subarray(0, 3)), '308180');
    assert.equal(hex(sequence(Buffer.alloc(0x100)).subarray(0, 4)), '30820100');
  });

  it('encodes INTEGERs positive and minimal', () => {
    assert.equal(hex(smallInteger(0)), '020100');
    assert.equal(hex(smallInteger(2)), '020102');
    assert.equal(hex(smallInteger(128)), '02020080');
    assert.equal(hex(unsignedInteger(Buffer.from('0000ff', 'hex'))), '020200ff');
    assert.equal(hex(unsignedInteger(Buffer.from('00007f', 'hex'))), '02017f');
  });

  it('encodes OIDs and reads them back', () => {
    assert.equal(hex(oid('1.2.840.10045.2.1')), '06072a8648ce3d0201');
    assert.equal(hex(oid('2.5.29.17')), '0603551d11');
    assert.equal(oidToString(oid('1.3.6.1.5.5.7.3.2').subarray(2)), '1.3.6.1.5.5.7.3.2');
  });

  it('drops trailing zero bits of named bit strings (X.690 §11.2.2)', () => {
    assert.equal(hex(namedBitString([0, 2, 4])), '030203a8');
    assert.equal(hex(namedBitString([5, 6])), '03020106');
    const buf = namedBitString([0, 8]);
    assert.deepEqual([...readNamedBits(buf, readRoot(buf, Tag.BIT_STRING))], [0, 8]);
  });

  it('uses UTCTime before 2050 and GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)', () => {
    const t1 = Date.UTC(2049, 11, 31, 23, 59, 59) / 1000;
    const t2 = Date.UTC(2050, 0, 1, 0, 0, 0) / 1000;
    assert.equal(time(t1).toString('latin1', 2), '491231235959Z');
    assert.equal(time(t1)[0], Tag.UTC_TIME);
    assert.equal(time(t2).toString('latin1', 2), '20500101000000Z');
    assert.equal(time(t2)[0], Tag.GENERALIZED_TIME);
    for (const t of [t1, t2, 0, 1735732800]) {
      const b = time(t);
      assert.equal(readTime(b, readNode(b, 0, b.length)), t);
    }
  });
});

describe('DER reader', () => {
  it('walks nested structures', () => {
    const buf = sequence(smallInteger(1), sequence(smallInteger(2)));
    const root = readRoot(buf, Tag.SEQUENCE);
    const [a, b] = children(buf, root);
    assert.equal(readPositiveInteger(buf, a!)[0], 1);
    assert.equal(children(buf, b!).length, 1);
  });

  it('rejects indefinite, non-minimal and overrunning lengths, high tags and trailing octets', () => {
    for (const bad of ['3080', '30810100', '3005020101', '1f0100', '300302010100', '3082000100']) {
      const buf = Buffer.from(bad, 'hex');
      assert.throws(() => readRoot(buf, buf[0]!), malformed, bad);
    }
  });

  it('rejects non-minimal and negative INTEGERs', () => {
    for (const bad of ['0202007f', '0201ff', '0200']) {
      const buf = Buffer.from(bad, 'hex');
      assert.throws(() => readPositiveInteger(buf, readRoot(buf, Tag.INTEGER)), malformed, bad);
    }
  });

  it('rejects Time in other forms', () => {
    for (const bad of ['170b3235303130313030303000', '170d3235313333313030303030305a']) {
      const buf = Buffer.from(bad, 'hex');
      assert.throws(() => readTime(buf, readNode(buf, 0, buf.length)), malformed, bad);
    }
  });
});

describe('ECDSA signature encodings (RFC 3279 §2.2.3 ↔ RFC 7518 §3.4)', () => {
  it('round-trips and pads r and s to the curve size', () => {
    const raw = Buffer.concat([Buffer.alloc(31, 0), Buffer.from([5]), Buffer.alloc(32, 0xff)]);
    const der = ecdsaRawToDer(raw);
    assert.equal(hex(der).slice(0, 10), '3026020105');
    assert.equal(hex(ecdsaDerToRaw(der, 32)), hex(raw));
  });

  it('rejects r longer than the curve', () => {
    const der = ecdsaRawToDer(Buffer.alloc(66, 0x7f));
    assert.throws(() => ecdsaDerToRaw(der, 32), malformed);
  });
});
