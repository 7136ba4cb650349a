package roles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// BootstrapOID is the OID of the first bootstrap superuser, as PostgreSQL's
// bootstrap superuser is OID 10.
const BootstrapOID uint32 = 10

// PublicOID stands for PUBLIC (every role) in ACLs, as in PostgreSQL.
const PublicOID uint32 = 0

// ReservedName is SQLSTATE 42939 (reserved_name).
const ReservedName = "42939"

// Role is a stored role.
type Role struct {
	OID  uint32 `json:"oid"`
	Name string `json:"name"`
	// Superuser bypasses every permission check.
	Superuser bool `json:"superuser,omitempty"`
	// Login: the role may connect (a "user").
	Login bool `json:"login,omitempty"`
	// CreateDB: the role may create databases.
	CreateDB bool `json:"createdb,omitempty"`
	// CreateRole: the role may create, alter and drop non-superuser roles.
	CreateRole bool `json:"createrole,omitempty"`
	// Inherit, Replication and BypassRLS are kept for pg_roles; Outpost
	// has no role membership, replication connections or row security.
	Inherit     bool `json:"inherit,omitempty"`
	Replication bool `json:"replication,omitempty"`
	BypassRLS   bool `json:"bypassrls,omitempty"`
	// Password is a verifier (see the package invariants), "" for none.
	Password string `json:"password,omitempty"`
	// ValidUntil ends the password's validity: Unix microseconds
	// (math.MaxInt64 for 'infinity', math.MinInt64 for '-infinity'),
	// nil for no limit. Password authentication fails after it.
	ValidUntil *int64 `json:"valid_until,omitempty"`
	// ConnLimit bounds the role's concurrent sessions; nil for no limit
	// (PostgreSQL's -1). Superusers are exempt.
	ConnLimit *int32 `json:"conn_limit,omitempty"`
}

// ConnectionLimit is rolconnlimit: -1 for none.
func (r *Role) ConnectionLimit() int32 {
	if r.ConnLimit == nil {
		return -1
	}
	return *r.ConnLimit
}

// PasswordExpired reports whether the role's password is past VALID
// UNTIL at now.
func (r *Role) PasswordExpired(now time.Time) bool {
	if r.ValidUntil == nil || *r.ValidUntil == math.MaxInt64 {
		return false
	}
	return *r.ValidUntil == math.MinInt64 || now.UnixMicro() > *r.ValidUntil
}

var bootstrappedKey = kvpb.Key(keys.SystemKey("roles-bootstrapped"))

func roleKey(name string) kvpb.Key { return kvpb.Key(keys.SystemKey("role/" + name)) }

func rolePrefix() kvpb.Key { return kvpb.Key(keys.SystemKey("role/")) }

// Get returns the role named name, or nil if there is none.
func Get(ctx context.Context, txn *kv.Txn, name string) (*Role, error) {
	v, err := txn.Get(ctx, roleKey(name))
	if err != nil || v == nil {
		return nil, err
	}
	return decode(name, v)
}

func decode(name string, v []byte) (*Role, error) {
	r := &Role{}
	if err := json.Unmarshal(v, r); err != nil {
		return nil, sqlerr.Wrap(err, sqlerr.DataCorrupted, fmt.Sprintf("role %q", name))
	}
	return r, nil
}

// List returns every role, ordered by name. The catalog's pg_roles and
// pg_authid read it.
func List(ctx context.Context, txn *kv.Txn) ([]*Role, error) {
	p := rolePrefix()
	rows, err := txn.Scan(ctx, p, p.PrefixEnd(), 0)
	if err != nil {
		return nil, err
	}
	out := make([]*Role, 0, len(rows))
	for _, r := range rows {
		role, err := decode(strings.TrimPrefix(string(r.Key), string(p)), r.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, role)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ByOID returns the role with OID oid, or nil (a scan: roles are few).
func ByOID(ctx context.Context, txn *kv.Txn, oid uint32) (*Role, error) {
	all, err := List(ctx, txn)
	if err != nil {
		return nil, err
	}
	for _, r := range all {
		if r.OID == oid {
			return r, nil
		}
	}
	return nil, nil
}

// CheckName refuses the names PostgreSQL reserves: public, none, and
// names starting with pg_ (42939).
func CheckName(name string) error {
	switch {
	case name == "":
		return sqlerr.New(sqlerr.InvalidParameterValue, "role name must not be empty")
	case name == "public" || name == "none":
		return sqlerr.New(ReservedName, "role name %q is reserved", name)
	case strings.HasPrefix(name, "pg_"):
		return sqlerr.New(ReservedName, "role name %q is reserved", name).
			WithDetail(`Role names starting with "pg_" are reserved.`)
	}
	return nil
}

// Create stores a new role, giving it an OID if it has none (42710 if the
// name is taken).
func Create(ctx context.Context, txn *kv.Txn, r *Role) error {
	if err := checkStored(r); err != nil {
		return err
	}
	if r.OID == 0 {
		id, err := catalog.AllocateID(ctx, txn)
		if err != nil {
			return err
		}
		r.OID = uint32(id)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := txn.ConditionalPut(ctx, roleKey(r.Name), b, nil); err != nil {
		var cf *kvpb.ConditionFailedError
		if errors.As(err, &cf) {
			return sqlerr.New(sqlerr.DuplicateObject, "role %q already exists", r.Name)
		}
		return err
	}
	return catalog.BumpVersion(ctx, txn)
}

// Put overwrites an existing role.
func Put(ctx context.Context, txn *kv.Txn, r *Role) error {
	if err := checkStored(r); err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := txn.Put(ctx, roleKey(r.Name), b); err != nil {
		return err
	}
	return catalog.BumpVersion(ctx, txn)
}

// Rename moves a role to a new name (42710 if taken), keeping its OID.
func Rename(ctx context.Context, txn *kv.Txn, r *Role, newName string) error {
	old := r.Name
	r.Name = newName
	if err := Create(ctx, txn, r); err != nil {
		r.Name = old
		return err
	}
	if _, err := txn.Delete(ctx, roleKey(old)); err != nil {
		return err
	}
	return nil
}

// Drop removes a role. The caller has checked that nothing depends on it.
func Drop(ctx context.Context, txn *kv.Txn, name string) error {
	if _, err := txn.Delete(ctx, roleKey(name)); err != nil {
		return err
	}
	return catalog.BumpVersion(ctx, txn)
}

// Bootstrap creates the bootstrap superusers (LOGIN, no password) on a
// fresh cluster: the first gets BootstrapOID. It does nothing once done,
// so that a bootstrap role dropped later stays dropped.
func Bootstrap(ctx context.Context, txn *kv.Txn, superusers []string) error {
	v, err := txn.Get(ctx, bootstrappedKey)
	if err != nil || v != nil {
		return err
	}
	for i, name := range superusers {
		if existing, err := Get(ctx, txn, name); err != nil {
			return err
		} else if existing != nil {
			continue
		}
		r := &Role{Name: name, Superuser: true, Login: true, CreateDB: true, CreateRole: true,
			Inherit: true, Replication: true, BypassRLS: true}
		if i == 0 {
			r.OID = BootstrapOID
		}
		if err := Create(ctx, txn, r); err != nil {
			return err
		}
	}
	return txn.Put(ctx, bootstrappedKey, []byte{1})
}

// checkStored enforces the package invariants on a role about to be
// stored.
func checkStored(r *Role) error {
	if r.Name == "" {
		return fmt.Errorf("roles: role without a name")
	}
	if r.Password != "" && !IsVerifier(r.Password) {
		return fmt.Errorf("roles: refusing to store a password that is not a verifier")
	}
	return nil
}
