// Command interop drives TrustPlane's node agent with the reference SPIFFE library, go-spiffe:
// its Workload API client, X509Source/JWTSource, spiffetls and jwtsvid. Test code only; the e2e
// test e2e/src/go-spiffe.e2e.spec.ts builds it once and runs it as workloads of several uids.
//
//	interop inspect -socket S -audience A     X.509 and JWT checks, one JSON report on stdout
//	interop server  -socket S -addr H:P -allow ID
//	interop client  -socket S -addr H:P -server-id ID -every 300ms   (rounds until stdin closes)
//	interop dial    -socket S -addr H:P -server-id ID                (one mTLS exchange)
//
// Every line on stdout is one JSON object; the exit code is 0 only when everything checked held.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

var stdout = json.NewEncoder(os.Stdout)
var stdoutMu sync.Mutex

// emit writes one JSON line on stdout.
func emit(v any) {
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	_ = stdout.Encode(v)
}

func fail(format string, args ...any) {
	emit(map[string]string{"event": "fatal", "error": fmt.Sprintf(format, args...)})
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: interop inspect|server|client|dial [flags]")
	}
	flags := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	socket := flags.String("socket", "", "the agent's Workload API socket path")
	addr := flags.String("addr", "127.0.0.1:0", "server address")
	allow := flags.String("allow", "", "SPIFFE ID the server accepts")
	serverID := flags.String("server-id", "", "SPIFFE ID the client expects of the server")
	audience := flags.String("audience", "interop", "JWT-SVID audience")
	every := flags.Duration("every", 300*time.Millisecond, "time between client rounds")
	_ = flags.Parse(os.Args[2:])
	if *socket == "" {
		fail("-socket is required")
	}
	client := workloadapi.WithClientOptions(workloadapi.WithAddr("unix://" + *socket))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	switch os.Args[1] {
	case "inspect":
		inspect(ctx, *socket, *audience, client)
	case "server":
		serve(ctx, *addr, mustID(*allow), client)
	case "client":
		talk(ctx, *addr, mustID(*serverID), *every, client)
	case "dial":
		dialOnce(ctx, *addr, mustID(*serverID), client)
	default:
		fail("unknown command %q", os.Args[1])
	}
}

func mustID(text string) spiffeid.ID {
	id, err := spiffeid.FromString(text)
	if err != nil {
		fail("bad SPIFFE ID %q: %v", text, err)
	}
	return id
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// serialOf names a certificate briefly: its serial number in hex.
func serialOf(cert *x509.Certificate) string {
	return cert.SerialNumber.Text(16)
}

// authorityOf names the CA that issued a certificate: the SHA-256 of its authority key ID.
func authorityOf(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.AuthorityKeyId)
	return hex.EncodeToString(sum[:8])
}

// inspect checks the X.509 and JWT sides of the Workload API with go-spiffe's own types.
func inspect(ctx context.Context, socket, audience string, client workloadapi.SourceOption) {
	report := map[string]any{}
	addr := workloadapi.WithAddr("unix://" + socket)

	x509Source, err := workloadapi.NewX509Source(ctx, client)
	if err != nil {
		fail("NewX509Source: %v", err)
	}
	defer x509Source.Close()
	svid, err := x509Source.GetX509SVID()
	if err != nil {
		fail("GetX509SVID: %v", err)
	}
	leaf := svid.Certificates[0]
	report["x509_id"] = svid.ID.String()
	report["x509_uri_sans"] = len(leaf.URIs)
	report["x509_is_ca"] = leaf.IsCA
	verifiedID, _, err := x509svid.Verify(svid.Certificates, x509Source)
	report["x509_verified_id"] = verifiedID.String()
	report["x509_verify_error"] = errText(err)
	x509Context, err := workloadapi.FetchX509Context(ctx, addr)
	if err != nil {
		fail("FetchX509Context: %v", err)
	}
	ids := []string{}
	for _, s := range x509Context.SVIDs {
		ids = append(ids, s.ID.String())
	}
	report["x509_context_ids"] = ids
	trustDomains := []string{}
	for _, b := range x509Context.Bundles.Bundles() {
		trustDomains = append(trustDomains, b.TrustDomain().IDString())
	}
	// TODO(federation): once federation relationships exist, an entry that federates with another
	// trust domain must receive that bundle here (and in FetchJWTBundles below); assert it then.
	report["x509_bundle_trust_domains"] = trustDomains
	ownBundle, err := x509Source.GetX509BundleForTrustDomain(svid.ID.TrustDomain())
	if err != nil {
		fail("GetX509BundleForTrustDomain: %v", err)
	}
	report["x509_authorities"] = len(ownBundle.X509Authorities())

	jwtSource, err := workloadapi.NewJWTSource(ctx, client)
	if err != nil {
		fail("NewJWTSource: %v", err)
	}
	defer jwtSource.Close()
	jwt, err := jwtSource.FetchJWTSVID(ctx, jwtsvid.Params{Audience: audience})
	if err != nil {
		fail("JWTSource.FetchJWTSVID: %v", err)
	}
	token := jwt.Marshal()
	report["jwt_id"] = jwt.ID.String()
	report["jwt_audience"] = jwt.Audience
	report["jwt_expires_in_s"] = int(time.Until(jwt.Expiry).Seconds())
	bundles, err := workloadapi.FetchJWTBundles(ctx, addr)
	if err != nil {
		fail("FetchJWTBundles: %v", err)
	}
	report["jwt_bundle_trust_domains"] = trustDomainsOf(bundles)
	parsed, err := jwtsvid.ParseAndValidate(token, bundles, []string{audience})
	report["jwt_parse_and_validate_error"] = errText(err)
	if parsed != nil {
		report["jwt_parsed_id"] = parsed.ID.String()
	}
	_, err = jwtsvid.ParseAndValidate(token, jwtSource, []string{audience})
	report["jwt_validate_with_source_error"] = errText(err)
	_, err = jwtsvid.ParseAndValidate(token, bundles, []string{"someone-else"})
	report["jwt_wrong_audience_local"] = errText(err)
	tampered := tamper(token)
	_, err = jwtsvid.ParseAndValidate(tampered, bundles, []string{audience})
	report["jwt_tampered_local"] = errText(err)

	validated, err := workloadapi.ValidateJWTSVID(ctx, token, audience, addr)
	report["validate_error"] = errText(err)
	if validated != nil {
		report["validated_id"] = validated.ID.String()
		report["validated_audience"] = validated.Audience
	}
	_, err = workloadapi.ValidateJWTSVID(ctx, tampered, audience, addr)
	report["validate_tampered"] = errText(err)
	_, err = workloadapi.ValidateJWTSVID(ctx, token, "someone-else", addr)
	report["validate_wrong_audience"] = errText(err)
	emit(report)
}

func trustDomainsOf(set *jwtbundle.Set) []string {
	out := []string{}
	for _, b := range set.Bundles() {
		out = append(out, b.TrustDomain().IDString())
	}
	return out
}

// tamper changes one character in the middle of the claims segment.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	claims := []byte(parts[1])
	i := len(claims) / 2
	if claims[i] == 'A' {
		claims[i] = 'B'
	} else {
		claims[i] = 'A'
	}
	parts[1] = string(claims)
	return strings.Join(parts, ".")
}

// reply is what the server answers to each line: who it is, and whom it sees on the connection.
type reply struct {
	Server string `json:"server"`
	Peer   string `json:"peer"`
	Echo   string `json:"echo"`
}

func serve(ctx context.Context, addr string, allow spiffeid.ID, client workloadapi.SourceOption) {
	source, err := workloadapi.NewX509Source(ctx, client)
	if err != nil {
		fail("NewX509Source: %v", err)
	}
	defer source.Close()
	listener, err := spiffetls.ListenWithMode(ctx, "tcp", addr, spiffetls.MTLSServerWithSource(tlsconfig.AuthorizeID(allow), source))
	if err != nil {
		fail("Listen: %v", err)
	}
	svid, _ := source.GetX509SVID()
	emit(map[string]string{"event": "listening", "addr": listener.Addr().String(), "id": svid.ID.String()})
	go func() {
		// The test stops the server by closing its stdin.
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = listener.Close()
	}()
	for {
		conn, err := listener.Accept()
		if err != nil {
			emit(map[string]string{"event": "stopped"})
			return
		}
		go handle(conn, source)
	}
}

func handle(conn net.Conn, source *workloadapi.X509Source) {
	defer conn.Close()
	lines := bufio.NewScanner(conn)
	for lines.Scan() {
		peer, err := spiffetls.PeerIDFromConn(conn)
		if err != nil {
			emit(map[string]string{"event": "refused", "error": err.Error()})
			return
		}
		body, _ := json.Marshal(reply{Server: mustOwnID(source), Peer: peer.String(), Echo: lines.Text()})
		if _, err := conn.Write(append(body, '\n')); err != nil {
			return
		}
	}
	if err := lines.Err(); err != nil {
		// A client the authorizer refused fails here, in the handshake of the first read.
		emit(map[string]string{"event": "refused", "error": err.Error()})
	}
}

func mustOwnID(source *workloadapi.X509Source) string {
	svid, err := source.GetX509SVID()
	if err != nil {
		return ""
	}
	return svid.ID.String()
}

// exchange sends one line on conn and reads the server's reply.
func exchange(conn net.Conn, text string) (reply, error) {
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintln(conn, text); err != nil {
		return reply{}, err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return reply{}, err
	}
	var r reply
	err = json.Unmarshal([]byte(line), &r)
	return r, err
}

// peerCertificate is the certificate the other side presented in this connection's handshake.
func peerCertificate(conn net.Conn) *x509.Certificate {
	if c, ok := conn.(interface{ ConnectionState() tls.ConnectionState }); ok {
		if certs := c.ConnectionState().PeerCertificates; len(certs) > 0 {
			return certs[0]
		}
	}
	return nil
}

func dial(ctx context.Context, addr string, serverID spiffeid.ID, source *workloadapi.X509Source) (net.Conn, error) {
	dialCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return spiffetls.DialWithMode(dialCtx, "tcp", addr, spiffetls.MTLSClientWithSource(tlsconfig.AuthorizeID(serverID), source))
}

// round is one line of the client's report.
type round struct {
	Round            int    `json:"round"`
	ClientSerial     string `json:"clientSerial"`
	ClientAuthority  string `json:"clientAuthority"`
	Persistent       string `json:"persistent"`
	PersistentServer string `json:"persistentServer,omitempty"`
	Fresh            string `json:"fresh"`
	FreshServer      string `json:"freshServerSerial,omitempty"`
	FreshAuthority   string `json:"freshServerAuthority,omitempty"`
	PeerSeenByServer string `json:"peerSeenByServer,omitempty"`
}

// talk keeps one mTLS connection open for the whole run and also opens a new one every round,
// until stdin closes; every round is reported. Exit 1 when any exchange failed.
func talk(ctx context.Context, addr string, serverID spiffeid.ID, every time.Duration, client workloadapi.SourceOption) {
	source, err := workloadapi.NewX509Source(ctx, client)
	if err != nil {
		fail("NewX509Source: %v", err)
	}
	defer source.Close()
	persistent, err := dial(ctx, addr, serverID, source)
	if err != nil {
		fail("first dial: %v", err)
	}
	defer persistent.Close()
	stop := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	failures := 0
	for n := 1; ; n++ {
		r := round{Round: n, Persistent: "ok", Fresh: "ok"}
		if svid, err := source.GetX509SVID(); err == nil {
			r.ClientSerial = serialOf(svid.Certificates[0])
			r.ClientAuthority = authorityOf(svid.Certificates[0])
		}
		if got, err := exchange(persistent, fmt.Sprintf("persistent %d", n)); err != nil {
			r.Persistent = err.Error()
			failures++
		} else {
			r.PersistentServer = got.Server
		}
		if conn, err := dial(ctx, addr, serverID, source); err != nil {
			r.Fresh = err.Error()
			failures++
		} else {
			got, err := exchange(conn, fmt.Sprintf("fresh %d", n))
			if err != nil {
				r.Fresh = err.Error()
				failures++
			} else {
				r.PeerSeenByServer = got.Peer
			}
			if cert := peerCertificate(conn); cert != nil {
				r.FreshServer = serialOf(cert)
				r.FreshAuthority = authorityOf(cert)
			}
			_ = conn.Close()
		}
		emit(r)
		select {
		case <-stop:
			emit(map[string]any{"event": "done", "rounds": n, "failures": failures})
			if failures > 0 {
				os.Exit(1)
			}
			return
		case <-time.After(every):
		}
	}
}

// dialOnce makes one mTLS exchange and reports its outcome (exit 1 when it failed).
func dialOnce(ctx context.Context, addr string, serverID spiffeid.ID, client workloadapi.SourceOption) {
	source, err := workloadapi.NewX509Source(ctx, client)
	if err != nil {
		fail("NewX509Source: %v", err)
	}
	defer source.Close()
	conn, err := dial(ctx, addr, serverID, source)
	if err == nil {
		defer conn.Close()
		var got reply
		got, err = exchange(conn, "hello")
		if err == nil {
			emit(map[string]string{"event": "exchanged", "server": got.Server, "peer": got.Peer})
			return
		}
	}
	emit(map[string]string{"event": "failed", "error": err.Error()})
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		os.Exit(3)
	}
	os.Exit(1)
}
