package roles

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// The example exchange of RFC 7677 section 3 (user "user", password
// "pencil").
const (
	rfcClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
	rfcServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	rfcServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
	rfcClientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
	rfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
)

func rfcVerifier(t testing.TB) SCRAM {
	salt, err := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	if err != nil {
		t.Fatal(err)
	}
	return SCRAMKeys("pencil", salt, 4096)
}

func TestSCRAMRFC7677(t *testing.T) {
	v := rfcVerifier(t)
	// The verifier round-trips through PostgreSQL's text form.
	parsed, err := ParseSCRAM(v.String())
	if err != nil || parsed.String() != v.String() {
		t.Fatalf("round trip: %v %q", err, parsed.String())
	}
	s := NewSCRAMServer(v, false)
	s.fixedNonce = rfcServerNonce
	first, err := s.First([]byte(rfcClientFirst))
	if err != nil || string(first) != rfcServerFirst {
		t.Fatalf("server-first %q, %v", first, err)
	}
	final, ok, err := s.Final([]byte(rfcClientFinal))
	if err != nil || !ok || string(final) != rfcServerFinal {
		t.Fatalf("server-final %q ok=%v err=%v", final, ok, err)
	}
}

func TestSCRAMWrongPasswordAndMock(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	for _, tc := range []struct {
		name string
		v    SCRAM
		mock bool
	}{
		{"wrong password", SCRAMKeys("pencil2", salt, 4096), false},
		{"mock with the right keys", rfcVerifier(t), true},
	} {
		s := NewSCRAMServer(tc.v, tc.mock)
		s.fixedNonce = rfcServerNonce
		if _, err := s.First([]byte(rfcClientFirst)); err != nil {
			t.Fatal(err)
		}
		if out, ok, err := s.Final([]byte(rfcClientFinal)); ok || err != nil || out != nil {
			t.Fatalf("%s: ok=%v err=%v out=%q", tc.name, ok, err, out)
		}
	}
}

// clientFinal computes a client's final message for password over a
// server-first message, as a driver would.
func clientFinal(password, gs2, clientFirstBare, serverFirst string) string {
	var nonce, salt string
	var iter int
	for _, a := range strings.Split(serverFirst, ",") {
		switch {
		case strings.HasPrefix(a, "r="):
			nonce = a[2:]
		case strings.HasPrefix(a, "s="):
			salt = a[2:]
		case strings.HasPrefix(a, "i="):
			for _, c := range a[2:] {
				iter = iter*10 + int(c-'0')
			}
		}
	}
	rawSalt, _ := base64.StdEncoding.DecodeString(salt)
	k := SCRAMKeys(password, rawSalt, iter)
	without := "c=" + base64.StdEncoding.EncodeToString([]byte(gs2)) + ",r=" + nonce
	auth := clientFirstBare + "," + serverFirst + "," + without
	// ClientKey is recomputed from the password the slow way.
	salted := saltedPassword(password, rawSalt, iter)
	clientKey := hmacSHA256(salted, "Client Key")
	h := hmac.New(sha256.New, k.StoredKey)
	h.Write([]byte(auth))
	sig := h.Sum(nil)
	proof := make([]byte, len(sig))
	for i := range sig {
		proof[i] = clientKey[i] ^ sig[i]
	}
	return without + ",p=" + base64.StdEncoding.EncodeToString(proof)
}

func TestSCRAMRoundTripAndFlags(t *testing.T) {
	v, err := ParseSCRAM(SCRAMVerifier("sécret ", []byte("0123456789abcdef"), 4096))
	if err != nil {
		t.Fatal(err)
	}
	for _, gs2 := range []string{"n,,", "y,,"} {
		s := NewSCRAMServer(v, false)
		bare := "n=,r=abcdefgh"
		first, err := s.First([]byte(gs2 + bare))
		if err != nil {
			t.Fatal(err)
		}
		out, ok, err := s.Final([]byte(clientFinal("sécret ", gs2, bare, string(first))))
		if err != nil || !ok || !bytes.HasPrefix(out, []byte("v=")) {
			t.Fatalf("%s: ok=%v err=%v", gs2, ok, err)
		}
	}
	// Errors: channel binding, authzid, extensions, garbage; each is a
	// clean SQLSTATE, never a panic.
	for in, code := range map[string]string{
		"p=tls-server-end-point,,n=,r=abc": sqlerr.ProtocolViolation,
		"n,a=bob,n=,r=abc":                 sqlerr.FeatureNotSupported,
		"n,,m=ext,n=,r=abc":                sqlerr.FeatureNotSupported,
		"":                                 sqlerr.ProtocolViolation,
		"x,,n=,r=abc":                      sqlerr.ProtocolViolation,
		"n,,n=,r=":                         sqlerr.ProtocolViolation,
		"n,,n=":                            sqlerr.ProtocolViolation,
	} {
		_, err := NewSCRAMServer(v, false).First([]byte(in))
		if sqlerr.Code(err) != code {
			t.Errorf("%q: got %v, want %s", in, err, code)
		}
	}
	// A final message with another channel-binding header or nonce.
	s := NewSCRAMServer(v, false)
	first, _ := s.First([]byte("n,,n=,r=abc"))
	bad := strings.Replace(clientFinal("sécret ", "n,,", "n=,r=abc", string(first)), "c=biws", "c=eSws", 1)
	if _, _, err := s.Final([]byte(bad)); sqlerr.Code(err) != sqlerr.ProtocolViolation {
		t.Fatalf("cbind mismatch: %v", err)
	}
}

func TestVerifiers(t *testing.T) {
	// PostgreSQL 15: SET password_encryption = 'md5'; CREATE ROLE m
	// PASSWORD 'pw' stores md57764e463c73a54e4bb79b9b9e419e145.
	if got := MD5Verifier("m", "pw"); got != "md57764e463c73a54e4bb79b9b9e419e145" {
		t.Fatalf("md5 %s", got)
	}
	// A verifier from PostgreSQL 15 (role u1, password 'pw') parses, and
	// the password derives the same keys from its salt.
	const pg = "SCRAM-SHA-256$4096:fTHwhsaPcRPmXvMrhDuwbA==$kNHx4+n7j8nj4HIuGQttGxjJZjCWhvMObnohggq18fQ=:MHrsUjagmAyTOKcInhRc2ug99y5AbJXlQihUWBakz5w="
	v, err := ParseSCRAM(pg)
	if err != nil {
		t.Fatal(err)
	}
	if got := SCRAMVerifier("pw", v.Salt, v.Iterations); got != pg {
		t.Fatalf("derived %s", got)
	}
	// Encrypt keeps verifiers as given and never returns cleartext.
	for _, m := range []string{MethodSCRAM, MethodMD5} {
		enc, err := Encrypt("u", "secret", m)
		if err != nil || !IsVerifier(enc) || strings.Contains(enc, "secret") {
			t.Fatalf("%s: %q %v", m, enc, err)
		}
		again, _ := Encrypt("u", enc, MethodSCRAM)
		if again != enc {
			t.Fatalf("verifier re-encrypted")
		}
	}
	var salt [4]byte
	copy(salt[:], "abcd")
	stored := MD5Verifier("alice", "pw")
	// The client's answer: "md5" + md5(md5(password+user) hex + salt).
	resp := MD5Verifier(string(salt[:]), stored[3:])
	if !CheckMD5Response(stored, salt, resp) || CheckMD5Response(stored, salt, MD5Verifier(string(salt[:]), "x")) {
		t.Fatal("md5 challenge")
	}
	for _, bad := range []string{"SCRAM-SHA-256$", "SCRAM-SHA-256$0:AA==$AA==:AA==", "md5xyz", "pw"} {
		if IsVerifier(bad) {
			t.Errorf("%q taken as a verifier", bad)
		}
	}
}

func TestSASLprep(t *testing.T) {
	for in, want := range map[string]string{
		"pencil":     "pencil",
		"I\u00ADX":   "IX",         // mapped to nothing
		"a\u00A0b":   "a b",        // non-ASCII space
		"\u2168":     "IX",         // NFKC
		"ctl\u0007é": "ctl\u0007é", // prohibited: used as is
		"\xff\xfe":   "\xff\xfe",   // not UTF-8: as is
	} {
		if got := SASLprep(in); got != want {
			t.Errorf("SASLprep(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSCRAMServer(f *testing.F) {
	f.Add([]byte(rfcClientFirst), []byte(rfcClientFinal))
	f.Add([]byte("y,,n=,r=x"), []byte("c=eSws,r=x,p=AAAA"))
	f.Add([]byte("p=x,,n=,r=x"), []byte(""))
	f.Add([]byte("n,,n=,r=abc,ext=1"), []byte("c=biws,r=abc,x=1,p="))
	v := rfcVerifier(f)
	f.Fuzz(func(t *testing.T, first, final []byte) {
		s := NewSCRAMServer(v, false)
		s.fixedNonce = rfcServerNonce
		if _, err := s.First(first); err != nil {
			if sqlerr.Code(err) == "" || sqlerr.Code(err) == sqlerr.InternalError {
				t.Fatalf("error without SQLSTATE: %v", err)
			}
			return
		}
		out, ok, err := s.Final(final)
		if ok && (err != nil || out == nil) {
			t.Fatal("ok without a server-final message")
		}
		if err != nil && sqlerr.Code(err) == sqlerr.InternalError {
			t.Fatalf("error without SQLSTATE: %v", err)
		}
	})
}
