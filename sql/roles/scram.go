package roles

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// MechanismSCRAM is the SASL mechanism offered. SCRAM-SHA-256-PLUS
// (channel binding) is not.
const MechanismSCRAM = "SCRAM-SHA-256"

// serverNonceBytes is the random part the server adds to the client's
// nonce (PostgreSQL uses 18 bytes).
const serverNonceBytes = 18

// SCRAMServer is the server side of one SCRAM-SHA-256 exchange (RFC 5802
// section 5, RFC 7677), as PostgreSQL 15 runs it:
//
//	client-first  "n,," ["a=" authzid] ... "n=" user ",r=" cnonce
//	server-first  "r=" cnonce snonce ",s=" salt ",i=" iterations
//	client-final  "c=biws,r=" cnonce snonce ",p=" proof
//	server-final  "v=" ServerSignature
//
// The user name inside the messages is ignored (PostgreSQL takes the
// startup packet's). Channel binding is refused cleanly ('p=' flag); a
// client that supports it but thinks the server does not ('y') is served,
// since no -PLUS mechanism is offered.
//
// Errors are *sqlerr.Error: 08P01 for malformed messages, 0A000 for
// unsupported features. A wrong proof is not an error of First/Final: it
// is Final's ok=false, and the caller answers 28P01 without revealing
// whether the user exists.
type SCRAMServer struct {
	v    SCRAM
	mock bool

	gs2Header       string
	clientFirstBare string
	serverFirst     string
	nonce           string
	state           int // 0: want client-first, 1: want client-final, 2: done
	// fixedNonce replaces the random server nonce (tests with known
	// vectors only).
	fixedNonce string
}

// NewSCRAMServer starts an exchange against verifier v. A mock exchange
// (unknown user, no password, or a verifier of another kind) runs the
// whole protocol and always fails, so that a client cannot tell the
// cases apart: v should then come from MockSCRAM.
func NewSCRAMServer(v SCRAM, mock bool) *SCRAMServer {
	return &SCRAMServer{v: v, mock: mock}
}

// MockSCRAM returns a verifier for a user that cannot authenticate: its
// salt is derived from secret and user (stable for a server, as
// PostgreSQL's mock salt is), its keys are random.
func MockSCRAM(secret []byte, user string) SCRAM {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(user))
	salt := h.Sum(nil)[:saltBytes]
	stored := make([]byte, scramKeySize)
	server := make([]byte, scramKeySize)
	_, _ = rand.Read(stored)
	_, _ = rand.Read(server)
	return SCRAM{Iterations: SCRAMIterations, Salt: salt, StoredKey: stored, ServerKey: server}
}

func malformed(detail string) error {
	return sqlerr.New(sqlerr.ProtocolViolation, "malformed SCRAM message").WithDetail("%s", detail)
}

// First reads client-first-message and returns server-first-message.
func (s *SCRAMServer) First(msg []byte) ([]byte, error) {
	if s.state != 0 {
		return nil, malformed("Unexpected SCRAM message.")
	}
	s.state = 1
	in := string(msg)
	if in == "" {
		return nil, malformed("The message is empty.")
	}
	// gs2-cbind-flag
	switch in[0] {
	case 'n', 'y':
		if len(in) < 2 || in[1] != ',' {
			return nil, malformed("Comma expected, but found character \"" + charAt(in, 1) + "\".")
		}
		in = in[2:]
	case 'p':
		return nil, malformed("The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data.")
	default:
		return nil, malformed("Unexpected channel-binding flag \"" + charAt(in, 0) + "\".")
	}
	// [authzid] ","
	if strings.HasPrefix(in, "a=") {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "client uses authorization identity, but it is not supported")
	}
	if in == "" || in[0] != ',' {
		return nil, malformed("Unexpected attribute \"" + charAt(in, 0) + "\" in client-first-message.")
	}
	in = in[1:]
	s.gs2Header = string(msg[:len(msg)-len(in)])
	s.clientFirstBare = in
	if strings.HasPrefix(in, "m=") {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "client requires an unsupported SCRAM extension")
	}
	// "n=" saslname (ignored) "," "r=" c-nonce ["," extensions]
	name, rest, ok := strings.Cut(in, ",")
	if !ok || !strings.HasPrefix(name, "n=") {
		return nil, malformed("Expected attribute \"n\" but found \"" + charAt(in, 0) + "\".")
	}
	nonceAttr, _, _ := strings.Cut(rest, ",")
	cnonce, ok := strings.CutPrefix(nonceAttr, "r=")
	if !ok {
		return nil, malformed("Expected attribute \"r\" but found \"" + charAt(nonceAttr, 0) + "\".")
	}
	if cnonce == "" || !printable(cnonce) {
		return nil, malformed("Could not parse client nonce.")
	}
	snonce := s.fixedNonce
	if snonce == "" {
		b := make([]byte, serverNonceBytes)
		_, _ = rand.Read(b)
		snonce = base64.StdEncoding.EncodeToString(b)
	}
	s.nonce = cnonce + snonce
	s.serverFirst = "r=" + s.nonce + ",s=" + base64.StdEncoding.EncodeToString(s.v.Salt) +
		",i=" + strconv.Itoa(s.v.Iterations)
	return []byte(s.serverFirst), nil
}

// Final reads client-final-message. ok reports whether the proof is
// right (never for a mock exchange); then out is server-final-message,
// to send with AuthenticationSASLFinal.
func (s *SCRAMServer) Final(msg []byte) (out []byte, ok bool, err error) {
	if s.state != 1 {
		return nil, false, malformed("Unexpected SCRAM message.")
	}
	s.state = 2
	in := string(msg)
	// "c=" b64(gs2-header) ",r=" nonce ["," extensions] ",p=" proof
	cattr, rest, found := strings.Cut(in, ",")
	cb, isC := strings.CutPrefix(cattr, "c=")
	if !found || !isC {
		return nil, false, malformed("Expected attribute \"c\" but found \"" + charAt(in, 0) + "\".")
	}
	if raw, err := base64.StdEncoding.DecodeString(cb); err != nil || string(raw) != s.gs2Header {
		return nil, false, malformed("SCRAM channel binding check failed.")
	}
	rattr, rest, found := strings.Cut(rest, ",")
	nonce, isR := strings.CutPrefix(rattr, "r=")
	if !found || !isR {
		return nil, false, malformed("Expected attribute \"r\" but found \"" + charAt(rattr, 0) + "\".")
	}
	if subtle.ConstantTimeCompare([]byte(nonce), []byte(s.nonce)) != 1 {
		return nil, false, malformed("Nonce does not match.")
	}
	i := strings.LastIndex(in, ",p=")
	if i < 0 || i < len(in)-len(rest)-1 {
		return nil, false, malformed("Could not find proof in client-final-message.")
	}
	proof, err := base64.StdEncoding.DecodeString(in[i+3:])
	if err != nil || len(proof) != scramKeySize {
		return nil, false, malformed("Malformed proof in client-final-message.")
	}
	authMessage := s.clientFirstBare + "," + s.serverFirst + "," + in[:i]
	// ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); the proof
	// holds iff SHA-256(ClientKey) = StoredKey.
	sig := hmacSHA256(s.v.StoredKey, authMessage)
	clientKey := make([]byte, scramKeySize)
	for j := range clientKey {
		clientKey[j] = proof[j] ^ sig[j]
	}
	got := sha256.Sum256(clientKey)
	if subtle.ConstantTimeCompare(got[:], s.v.StoredKey) != 1 || s.mock {
		return nil, false, nil
	}
	serverSig := hmacSHA256(s.v.ServerKey, authMessage)
	return []byte("v=" + base64.StdEncoding.EncodeToString(serverSig)), true, nil
}

// printable reports whether s is RFC 5802's printable: %x21-2B / %x2D-7E.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

func charAt(s string, i int) string {
	if i >= len(s) {
		return ""
	}
	return s[i : i+1]
}
