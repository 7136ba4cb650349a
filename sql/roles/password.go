package roles

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Password encryption methods (the password_encryption setting).
const (
	MethodSCRAM = "scram-sha-256"
	MethodMD5   = "md5"
)

// SCRAMIterations is the PBKDF2 iteration count of new SCRAM verifiers
// (PostgreSQL's scram_iterations default).
const SCRAMIterations = 4096

const (
	scramPrefix  = "SCRAM-SHA-256$"
	md5Prefix    = "md5"
	saltBytes    = 16
	scramKeySize = sha256.Size
)

// IsVerifier reports whether s is a stored form this package produces:
// a parsable SCRAM verifier or an md5 one.
func IsVerifier(s string) bool {
	if IsMD5(s) {
		return true
	}
	_, err := ParseSCRAM(s)
	return err == nil
}

// IsMD5 reports whether s has the form of an md5 verifier.
func IsMD5(s string) bool {
	if len(s) != len(md5Prefix)+32 || !strings.HasPrefix(s, md5Prefix) {
		return false
	}
	_, err := hex.DecodeString(s[len(md5Prefix):])
	return err == nil
}

// Encrypt returns the verifier to store for password, as PostgreSQL's
// CREATE/ALTER ROLE ... PASSWORD does: a password given already in a
// verifier form is stored as is; otherwise method says which verifier
// ("scram-sha-256" or "md5").
func Encrypt(user, password, method string) (string, error) {
	if IsVerifier(password) {
		return password, nil
	}
	switch method {
	case MethodMD5:
		return MD5Verifier(user, password), nil
	case MethodSCRAM, "":
		salt := make([]byte, saltBytes)
		_, _ = rand.Read(salt) // never fails (crypto/rand)
		return SCRAMVerifier(password, salt, SCRAMIterations), nil
	}
	return "", fmt.Errorf("roles: unknown password encryption %q", method)
}

// MD5Verifier is "md5" + hex(md5(password + user)).
func MD5Verifier(user, password string) string {
	sum := md5.Sum([]byte(password + user))
	return md5Prefix + hex.EncodeToString(sum[:])
}

// CheckMD5Response checks a client's answer to an MD5 challenge with salt
// against an md5 verifier: "md5" + hex(md5(hex-part-of-verifier + salt)).
func CheckMD5Response(verifier string, salt [4]byte, response string) bool {
	if !IsMD5(verifier) {
		return false
	}
	sum := md5.Sum(append([]byte(verifier[len(md5Prefix):]), salt[:]...))
	want := md5Prefix + hex.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(response)) == 1
}

// SCRAM is a parsed SCRAM-SHA-256 verifier.
type SCRAM struct {
	Iterations int
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
}

// String renders the verifier in PostgreSQL's format.
func (s SCRAM) String() string {
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("%s%d:%s$%s:%s", scramPrefix, s.Iterations, b64(s.Salt), b64(s.StoredKey), b64(s.ServerKey))
}

// ParseSCRAM parses "SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>".
func ParseSCRAM(s string) (SCRAM, error) {
	var v SCRAM
	rest, ok := strings.CutPrefix(s, scramPrefix)
	if !ok {
		return v, fmt.Errorf("roles: not a SCRAM-SHA-256 verifier")
	}
	iterSalt, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return v, fmt.Errorf("roles: malformed SCRAM verifier")
	}
	iter, salt, ok1 := strings.Cut(iterSalt, ":")
	stored, server, ok2 := strings.Cut(keys, ":")
	if !ok1 || !ok2 {
		return v, fmt.Errorf("roles: malformed SCRAM verifier")
	}
	n, err := strconv.Atoi(iter)
	if err != nil || n <= 0 {
		return v, fmt.Errorf("roles: bad SCRAM iteration count")
	}
	v.Iterations = n
	dec := base64.StdEncoding.DecodeString
	if v.Salt, err = dec(salt); err != nil || len(v.Salt) == 0 {
		return v, fmt.Errorf("roles: bad SCRAM salt")
	}
	if v.StoredKey, err = dec(stored); err != nil || len(v.StoredKey) != scramKeySize {
		return v, fmt.Errorf("roles: bad SCRAM StoredKey")
	}
	if v.ServerKey, err = dec(server); err != nil || len(v.ServerKey) != scramKeySize {
		return v, fmt.Errorf("roles: bad SCRAM ServerKey")
	}
	return v, nil
}

// SCRAMVerifier derives the verifier of password (SASLprep'd as
// PostgreSQL does) with salt and iterations.
func SCRAMVerifier(password string, salt []byte, iterations int) string {
	return SCRAMKeys(password, salt, iterations).String()
}

// SCRAMKeys derives StoredKey and ServerKey (RFC 5802 section 3):
//
//	SaltedPassword = PBKDF2-HMAC-SHA-256(SASLprep(password), salt, i)
//	StoredKey      = SHA-256(HMAC(SaltedPassword, "Client Key"))
//	ServerKey      = HMAC(SaltedPassword, "Server Key")
func SCRAMKeys(password string, salt []byte, iterations int) SCRAM {
	salted := saltedPassword(password, salt, iterations)
	clientKey := hmacSHA256(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	return SCRAM{Iterations: iterations, Salt: append([]byte(nil), salt...),
		StoredKey: stored[:], ServerKey: hmacSHA256(salted, "Server Key")}
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// SASLprep prepares a password as PostgreSQL's pg_saslprep does (RFC
// 4013): non-ASCII spaces become spaces, "commonly mapped to nothing"
// characters vanish, the result is NFKC-normalized. Like PostgreSQL, a
// string that is not valid UTF-8 or that holds prohibited characters
// (controls, private use, surrogates, non-characters, ...) or mixes
// right-to-left with left-to-right text is used as is.
func SASLprep(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii || !utf8.ValidString(s) {
		// PostgreSQL passes pure ASCII through unchanged (control
		// characters included).
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case mappedToNothing(r):
			continue
		case r != ' ' && unicode.Is(unicode.Zs, r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	out := norm.NFKC.String(b.String())
	var hasRandAL, hasL bool
	for _, r := range out {
		if prohibited(r) {
			return s
		}
		if unicode.In(r, unicode.Hebrew, unicode.Arabic) {
			hasRandAL = true
		} else if unicode.IsLetter(r) {
			hasL = true
		}
	}
	if hasRandAL && hasL {
		return s
	}
	return out
}

// mappedToNothing is RFC 3454 table B.1.
func mappedToNothing(r rune) bool {
	switch r {
	case 0x00AD, 0x034F, 0x1806, 0x180B, 0x180C, 0x180D, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF:
		return true
	}
	return r >= 0xFE00 && r <= 0xFE0F
}

// prohibited approximates RFC 4013 section 2.3 (tables C.1.2 to C.9).
func prohibited(r rune) bool {
	switch {
	case r < 0x20 || r == 0x7F || (r >= 0x80 && r <= 0x9F): // controls
		return true
	case unicode.Is(unicode.Zs, r) && r != ' ':
		return true
	case r >= 0xE000 && r <= 0xF8FF, r >= 0xF0000: // private use
		return true
	case r >= 0xFDD0 && r <= 0xFDEF, r&0xFFFE == 0xFFFE: // non-characters
		return true
	case r >= 0xD800 && r <= 0xDFFF, r == 0xFFFD || (r >= 0xFFF9 && r <= 0xFFFC):
		return true
	case r >= 0x2FF0 && r <= 0x2FFB, r >= 0x200E && r <= 0x200F, r >= 0x202A && r <= 0x202E,
		r >= 0x206A && r <= 0x206F, r == 0x0340 || r == 0x0341, r == 0xE0001 || (r >= 0xE0020 && r <= 0xE007F):
		return true
	}
	return false
}

// saltedPassword is PBKDF2 over SASLprep(password) (tests recompute
// client keys with it).
func saltedPassword(password string, salt []byte, iterations int) []byte {
	b, err := pbkdf2.Key(sha256.New, SASLprep(password), salt, iterations, scramKeySize)
	if err != nil {
		panic(fmt.Sprintf("roles: pbkdf2: %v", err))
	}
	return b
}
