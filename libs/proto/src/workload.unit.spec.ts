import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { workload } from './index.js';

/** Protobuf wire types (encoding spec): 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. */
const VARINT = 0;
const LEN = 2;

/** One top-level field of an encoded message, as read straight from the bytes. */
interface WireField {
  readonly field: number;
  readonly wireType: number;
  /** Payload of a length-delimited field; the value of a varint field as bytes is not kept. */
  readonly payload: Uint8Array;
  readonly varint: bigint;
}

/** Reads a base-128 varint at `offset`; returns the value and the offset after it. */
function readVarint(bytes: Uint8Array, offset: number): [bigint, number] {
  let value = 0n;
  let shift = 0n;
  for (let i = offset; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [value, i + 1];
    shift += 7n;
  }
  throw new Error('truncated varint');
}

/** Splits an encoded message into its top-level fields, by hand, without the generated code. */
function wireFields(bytes: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const [tag, afterTag] = readVarint(bytes, offset);
    const field = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    if (wireType === VARINT) {
      const [value, next] = readVarint(bytes, afterTag);
      fields.push({ field, wireType, payload: new Uint8Array(), varint: value });
      offset = next;
    } else if (wireType === LEN) {
      const [length, start] = readVarint(bytes, afterTag);
      const end = start + Number(length);
      assert.ok(end <= bytes.length, 'length-delimited field overruns the message');
      fields.push({ field, wireType, payload: bytes.subarray(start, end), varint: 0n });
      offset = end;
    } else {
      throw new Error(`unexpected wire type ${wireType} for field ${field}`);
    }
  }
  return fields;
}

/** `[field number, wire type]` pairs in encoding order. */
function tags(bytes: Uint8Array): Array<[number, number]> {
  return wireFields(bytes).map((f) => [f.field, f.wireType]);
}

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('utf8');
}

function field(bytes: Uint8Array, number: number): WireField {
  const found = wireFields(bytes).find((f) => f.field === number);
  assert.ok(found, `field ${number} not present`);
  return found;
}

describe('SpiffeWorkloadAPIService definition', () => {
  const service = workload.SpiffeWorkloadAPIService;

  // Paths and streaming flags from the SPIFFE Workload API specification (no proto package).
  // The keys (handler and client method names) are ts-proto's grpc-js camel-casing of the
  // RPC names, e.g. FetchJWTSVID -> fetchJwtsvid; only the paths go on the wire.
  const expected = {
    fetchX509Svid: ['/SpiffeWorkloadAPI/FetchX509SVID', false, true],
    fetchX509Bundles: ['/SpiffeWorkloadAPI/FetchX509Bundles', false, true],
    fetchJwtsvid: ['/SpiffeWorkloadAPI/FetchJWTSVID', false, false],
    fetchJwtBundles: ['/SpiffeWorkloadAPI/FetchJWTBundles', false, true],
    validateJwtsvid: ['/SpiffeWorkloadAPI/ValidateJWTSVID', false, false],
    fetchWitsvid: ['/SpiffeWorkloadAPI/FetchWITSVID', false, true],
    fetchWitBundles: ['/SpiffeWorkloadAPI/FetchWITBundles', false, true],
  } as const;

  it('has exactly the seven RPCs of the X.509-SVID, JWT-SVID and (incubating) WIT-SVID profiles', () => {
    assert.deepEqual(Object.keys(service).sort(), Object.keys(expected).sort());
  });

  for (const [name, [path, requestStream, responseStream]] of Object.entries(expected)) {
    it(`${path}: requestStream=${requestStream}, responseStream=${responseStream}`, () => {
      const method = service[name as keyof typeof expected];
      assert.equal(method.path, path);
      assert.equal(method.requestStream, requestStream);
      assert.equal(method.responseStream, responseStream);
      assert.equal(typeof method.requestSerialize, 'function');
      assert.equal(typeof method.responseDeserialize, 'function');
    });
  }

  it('names the client service SpiffeWorkloadAPI', () => {
    assert.equal(workload.SpiffeWorkloadAPIClient.serviceName, 'SpiffeWorkloadAPI');
    assert.equal(workload.protobufPackage, '');
  });
});

describe('X.509-SVID profile messages on the wire', () => {
  const svid = workload.X509SVID.create({
    spiffeId: 'spiffe://example.org/web',
    x509Svid: Buffer.from([0x30, 0x01, 0xaa]),
    x509SvidKey: Buffer.from([0x30, 0x02, 0xbb, 0xcc]),
    bundle: Buffer.from([0x30, 0x00]),
    hint: 'internal',
  });

  it('X509SVID: spiffe_id=1, x509_svid=2, x509_svid_key=3, bundle=4, hint=5', () => {
    const bytes = workload.X509SVID.encode(svid).finish();
    assert.deepEqual(tags(bytes), [
      [1, LEN],
      [2, LEN],
      [3, LEN],
      [4, LEN],
      [5, LEN],
    ]);
    assert.equal(text(field(bytes, 1).payload), 'spiffe://example.org/web');
    assert.deepEqual([...field(bytes, 2).payload], [0x30, 0x01, 0xaa]);
    assert.deepEqual([...field(bytes, 3).payload], [0x30, 0x02, 0xbb, 0xcc]);
    assert.deepEqual([...field(bytes, 4).payload], [0x30, 0x00]);
    assert.equal(text(field(bytes, 5).payload), 'internal');
    // And the exact bytes of the first field: tag (1 << 3 | 2) = 0x0a, length 24.
    assert.deepEqual([...bytes.subarray(0, 2)], [0x0a, 24]);
  });

  it('X509SVIDResponse: svids=1, crl=2, federated_bundles=3 (map entry key=1, value=2)', () => {
    const bytes = workload.X509SVIDResponse.encode({
      svids: [svid],
      crl: [Buffer.from([0x30, 0x03])],
      federatedBundles: { 'spiffe://other.org': Buffer.from([0x30, 0x04]) },
    }).finish();
    assert.deepEqual(tags(bytes), [
      [1, LEN],
      [2, LEN],
      [3, LEN],
    ]);
    assert.deepEqual(tags(field(bytes, 1).payload), [
      [1, LEN],
      [2, LEN],
      [3, LEN],
      [4, LEN],
      [5, LEN],
    ]);
    const entry = field(bytes, 3).payload;
    assert.equal(text(field(entry, 1).payload), 'spiffe://other.org');
    assert.deepEqual([...field(entry, 2).payload], [0x30, 0x04]);
  });

  it('X509BundlesRequest and X509SVIDRequest are empty', () => {
    assert.equal(workload.X509SVIDRequest.encode({}).finish().length, 0);
    assert.equal(workload.X509BundlesRequest.encode({}).finish().length, 0);
  });

  it('X509BundlesResponse: crl=1, bundles=2', () => {
    const bytes = workload.X509BundlesResponse.encode({
      crl: [Buffer.from([0x30, 0x05])],
      bundles: { 'spiffe://example.org': Buffer.from([0x30, 0x06]) },
    }).finish();
    assert.deepEqual(tags(bytes), [
      [1, LEN],
      [2, LEN],
    ]);
    assert.equal(text(field(field(bytes, 2).payload, 1).payload), 'spiffe://example.org');
  });
});

describe('JWT-SVID profile messages on the wire', () => {
  it('JWTSVIDRequest: audience=1 (repeated), spiffe_id=2', () => {
    const bytes = workload.JWTSVIDRequest.encode({
      audience: ['a', 'b'],
      spiffeId: 'spiffe://example.org/web',
    }).finish();
    assert.deepEqual(tags(bytes), [
      [1, LEN],
      [1, LEN],
      [2, LEN],
    ]);
  });

  it('JWTSVIDResponse: svids=1; JWTSVID: spiffe_id=1, svid=2, hint=3', () => {
    const bytes = workload.JWTSVIDResponse.encode({
      svids: [{ spiffeId: 'spiffe://example.org/web', svid: 'h.p.s', hint: 'external' }],
    }).finish();
    assert.deepEqual(tags(bytes), [[1, LEN]]);
    const jwt = field(bytes, 1).payload;
    assert.deepEqual(tags(jwt), [
      [1, LEN],
      [2, LEN],
      [3, LEN],
    ]);
    assert.equal(text(field(jwt, 2).payload), 'h.p.s');
  });

  it('JWTBundlesRequest is empty; JWTBundlesResponse: bundles=1', () => {
    assert.equal(workload.JWTBundlesRequest.encode({}).finish().length, 0);
    const bytes = workload.JWTBundlesResponse.encode({
      bundles: { 'spiffe://example.org': Buffer.from('{"keys":[]}') },
    }).finish();
    assert.deepEqual(tags(bytes), [[1, LEN]]);
    assert.equal(text(field(field(bytes, 1).payload, 2).payload), '{"keys":[]}');
  });

  it('ValidateJWTSVIDRequest: audience=1, svid=2', () => {
    const bytes = workload.ValidateJWTSVIDRequest.encode({
      audience: 'db',
      svid: 'h.p.s',
    }).finish();
    assert.deepEqual(tags(bytes), [
      [1, LEN],
      [2, LEN],
    ]);
  });

  it('ValidateJWTSVIDResponse: spiffe_id=1, claims=2 as google.protobuf.Struct', () => {
    const claims = {
      sub: 'spiffe://example.org/web',
      aud: ['db'],
      exp: 1_900_000_000,
      nested: { ok: true },
    };
    const bytes = workload.ValidateJWTSVIDResponse.encode({
      spiffeId: 'spiffe://example.org/web',
      claims,
    }).finish();
    assert.deepEqual(tags(bytes), [
      [1, LEN],
      [2, LEN],
    ]);
    // Struct { map<string, Value> fields = 1 }: every claim is one map entry.
    const struct = field(bytes, 2).payload;
    assert.deepEqual(
      wireFields(struct).map((f) => text(field(f.payload, 1).payload)),
      Object.keys(claims),
    );
    assert.deepEqual(workload.ValidateJWTSVIDResponse.decode(bytes).claims, claims);
  });
});

describe('round trips through the generated codecs', () => {
  it('decodes what it encodes, bytes as Buffers', () => {
    const message: workload.X509SVIDResponse = {
      svids: [
        {
          spiffeId: 'spiffe://example.org/web',
          x509Svid: Buffer.from([1, 2, 3]),
          x509SvidKey: Buffer.from([4, 5]),
          bundle: Buffer.from([6]),
          hint: '',
        },
      ],
      crl: [],
      federatedBundles: { 'spiffe://other.org': Buffer.from([7, 8]) },
    };
    const decoded = workload.X509SVIDResponse.decode(
      workload.X509SVIDResponse.encode(message).finish(),
    );
    assert.deepEqual(decoded, message);
    assert.ok(Buffer.isBuffer(decoded.svids[0]?.x509Svid));
  });

  it('omits default values (proto3 implicit presence)', () => {
    const bytes = workload.X509SVID.encode(
      workload.X509SVID.create({ spiffeId: 'spiffe://example.org/x' }),
    ).finish();
    assert.deepEqual(tags(bytes), [[1, LEN]]);
  });
});

describe('WIT-SVID profile messages on the wire (incubating)', () => {
  it('WITSVIDRequest: spiffe_id=1', () => {
    const bytes = workload.WITSVIDRequest.encode({ spiffeId: 'spiffe://example.org/web' }).finish();
    assert.deepEqual(tags(bytes), [[1, LEN]]);
  });

  it('WITSVIDResponse: svids=1; WITSVID: spiffe_id=1, wit_svid=2, wit_svid_key=3, hint=4', () => {
    const bytes = workload.WITSVIDResponse.encode({
      svids: [
        {
          spiffeId: 'spiffe://example.org/web',
          witSvid: 'a.b.c',
          witSvidKey: '{"kty":"EC"}',
          hint: 'h',
        },
      ],
    }).finish();
    assert.deepEqual(tags(bytes), [[1, LEN]]);
    const inner = field(bytes, 1).payload;
    assert.deepEqual(tags(inner), [
      [1, LEN],
      [2, LEN],
      [3, LEN],
      [4, LEN],
    ]);
    assert.equal(text(field(inner, 2).payload), 'a.b.c');
    assert.equal(text(field(inner, 3).payload), '{"kty":"EC"}');
  });

  it('WITBundlesResponse: bundles=1, a map<string, string> (entry key=1, value=2)', () => {
    const bytes = workload.WITBundlesResponse.encode({
      bundles: { 'spiffe://example.org': '{"keys":[]}' },
    }).finish();
    assert.deepEqual(tags(bytes), [[1, LEN]]);
    const entry = field(bytes, 1).payload;
    assert.deepEqual(tags(entry), [
      [1, LEN],
      [2, LEN],
    ]);
    assert.equal(text(field(entry, 2).payload), '{"keys":[]}');
  });
});
