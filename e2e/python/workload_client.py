# A Workload API client we did not write the libraries of: Python grpcio with stubs compiled by
# grpc_tools from proto/spiffe/workload/workload.proto. Used by the e2e tests of the Workload
# API (services/agent) and of the real agent (e2e/). Environment: STUBS (compiled stubs dir),
# SOCKET (socket path), WORK (output dir for PEM files), TRUST_DOMAIN. Prints one JSON report.
import json, os, sys
sys.path.insert(0, os.environ["STUBS"])
import grpc, jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from spiffe.workload import workload_pb2 as pb, workload_pb2_grpc as pb_grpc

HEADER = [("workload.spiffe.io", "true")]
work = os.environ["WORK"]
channel = grpc.insecure_channel("unix://" + os.environ["SOCKET"])
stub = pb_grpc.SpiffeWorkloadAPIStub(channel)
report = {}

def code_of(fn):
    try:
        fn()
    except grpc.RpcError as e:
        return e.code().name
    return "OK"

def split_der(data):
    out, i = [], 0
    while i < len(data):
        n = data[i + 1]
        if n < 0x80:
            size, hdr = n, 2
        else:
            k = n & 0x7F
            size, hdr = int.from_bytes(data[i + 2:i + 2 + k], "big"), 2 + k
        out.append(data[i:i + hdr + size])
        i += hdr + size
    return out

def pem(ders):
    return b"".join(x509.load_der_x509_certificate(d).public_bytes(serialization.Encoding.PEM) for d in ders)

# No security header: InvalidArgument on a stream and on a unary call.
report["no_header_stream"] = code_of(lambda: next(stub.FetchX509SVID(pb.X509SVIDRequest())))
report["no_header_unary"] = code_of(lambda: stub.FetchJWTSVID(pb.JWTSVIDRequest(audience=["e2e"])))

# X.509-SVID: the first message of the stream.
stream = stub.FetchX509SVID(pb.X509SVIDRequest(), metadata=HEADER)
first = next(stream)
stream.cancel()
svid = first.svids[0]
chain = split_der(svid.x509_svid)
leaf = x509.load_der_x509_certificate(chain[0])
sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
report["spiffe_id"] = svid.spiffe_id
report["uri_sans"] = [u for u in sans.get_values_for_type(x509.UniformResourceIdentifier)]
key = serialization.load_der_private_key(svid.x509_svid_key, password=None)
same = lambda k: k.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
report["key_matches_leaf"] = same(key.public_key()) == same(leaf.public_key())
report["federated"] = sorted(first.federated_bundles.keys())
open(os.path.join(work, "svid.pem"), "wb").write(pem(chain[:1]))
open(os.path.join(work, "intermediates.pem"), "wb").write(pem(chain[1:]) if len(chain) > 1 else b"")
open(os.path.join(work, "bundle.pem"), "wb").write(pem(split_der(svid.bundle)))

# X.509 bundles.
bstream = stub.FetchX509Bundles(pb.X509BundlesRequest(), metadata=HEADER)
bundles = next(bstream)
bstream.cancel()
report["x509_bundles"] = sorted(bundles.bundles.keys())

# JWT bundles and a JWT-SVID verified by PyJWT with them.
jstream = stub.FetchJWTBundles(pb.JWTBundlesRequest(), metadata=HEADER)
jwt_bundles = next(jstream)
jstream.cancel()
jwks = json.loads(jwt_bundles.bundles["spiffe://" + os.environ.get("TRUST_DOMAIN", "example.org")])
report["missing_audience"] = code_of(lambda: stub.FetchJWTSVID(pb.JWTSVIDRequest(), metadata=HEADER))
token = stub.FetchJWTSVID(pb.JWTSVIDRequest(audience=["e2e"]), metadata=HEADER).svids[0].svid
kid = jwt.get_unverified_header(token)["kid"]
jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
claims = jwt.decode(token, key=jwt.PyJWK(jwk).key, algorithms=["ES256"], audience="e2e",
                    options={"require": ["exp", "sub", "aud"]})
report["jwt_sub"] = claims["sub"]

# ValidateJWTSVID: accepts the token, rejects a tampered one.
valid = stub.ValidateJWTSVID(pb.ValidateJWTSVIDRequest(audience="e2e", svid=token), metadata=HEADER)
report["validated_id"] = valid.spiffe_id
report["validated_sub_claim"] = valid.claims["sub"]
h, p, s = token.split(".")
tampered = h + "." + p + "." + ("A" if s[0] != "A" else "B") + s[1:]
report["tampered"] = code_of(lambda: stub.ValidateJWTSVID(pb.ValidateJWTSVIDRequest(audience="e2e", svid=tampered), metadata=HEADER))
report["wrong_audience"] = code_of(lambda: stub.ValidateJWTSVID(pb.ValidateJWTSVIDRequest(audience="other", svid=token), metadata=HEADER))
# The incubating WIT-SVID profile: an endpoint without it must answer Unimplemented.
report["wit_svid"] = code_of(lambda: next(stub.FetchWITSVID(pb.WITSVIDRequest(), metadata=HEADER)))
report["wit_bundles"] = code_of(lambda: next(stub.FetchWITBundles(pb.WITBundlesRequest(), metadata=HEADER)))
print(json.dumps(report))
