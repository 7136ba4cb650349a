package catalog

import "strings"

// Privilege is a set of PostgreSQL privileges (a bit per privilege).
type Privilege uint16

// The privileges. Tables: SELECT to TRIGGER; databases: CONNECT, CREATE,
// TEMPORARY.
const (
	PrivSelect Privilege = 1 << iota
	PrivInsert
	PrivUpdate
	PrivDelete
	PrivTruncate
	PrivReferences
	PrivTrigger
	PrivConnect
	PrivCreate
	PrivTemporary
	// PrivUsage is USAGE on sequences (and schemas).
	PrivUsage
)

// TablePrivileges is ALL [PRIVILEGES] on a table; DatabasePrivileges on a
// database.
const (
	TablePrivileges    = PrivSelect | PrivInsert | PrivUpdate | PrivDelete | PrivTruncate | PrivReferences | PrivTrigger
	DatabasePrivileges = PrivConnect | PrivCreate | PrivTemporary
	SequencePrivileges = PrivUsage | PrivSelect | PrivUpdate
	SchemaPrivileges   = PrivUsage | PrivCreate
)

// PublicGrantee is the grantee OID of PUBLIC (every role).
const PublicGrantee uint32 = 0

// BootstrapOwner owns objects whose descriptor names no owner (those
// created before owners were recorded): the bootstrap superuser's OID.
const BootstrapOwner uint32 = 10

// privNames are PostgreSQL's names, in aclitem letter order.
var privNames = []struct {
	p    Privilege
	name string
}{
	{PrivSelect, "SELECT"}, {PrivInsert, "INSERT"}, {PrivUpdate, "UPDATE"}, {PrivDelete, "DELETE"},
	{PrivTruncate, "TRUNCATE"}, {PrivReferences, "REFERENCES"}, {PrivTrigger, "TRIGGER"},
	{PrivConnect, "CONNECT"}, {PrivCreate, "CREATE"}, {PrivTemporary, "TEMPORARY"}, {PrivUsage, "USAGE"},
}

// ParsePrivilege returns the privilege named name (upper or lower case;
// TEMP is TEMPORARY).
func ParsePrivilege(name string) (Privilege, bool) {
	name = strings.ToUpper(name)
	if name == "TEMP" {
		name = "TEMPORARY"
	}
	for _, pn := range privNames {
		if pn.name == name {
			return pn.p, true
		}
	}
	return 0, false
}

// String lists the privileges, comma-separated.
func (p Privilege) String() string {
	var parts []string
	for _, pn := range privNames {
		if p&pn.p != 0 {
			parts = append(parts, pn.name)
		}
	}
	return strings.Join(parts, ", ")
}

// ACLItem grants Privs on an object to Grantee (a role OID, or
// PublicGrantee). Grantor is the role that granted them.
type ACLItem struct {
	Grantee uint32    `json:"grantee"`
	Privs   Privilege `json:"privs"`
	Grantor uint32    `json:"grantor"`
}

// ACL is an object's access list, the owner's implicit rights aside.
// Invariant: at most one item per grantee, and no item with Privs 0.
type ACL []ACLItem

// Has reports whether role (or PUBLIC) was granted every privilege in p.
func (a ACL) Has(role uint32, p Privilege) bool {
	var have Privilege
	for _, it := range a {
		if it.Grantee == role || it.Grantee == PublicGrantee {
			have |= it.Privs
		}
	}
	return have&p == p
}

// Grant returns a with p added for grantee.
func (a ACL) Grant(grantee, grantor uint32, p Privilege) ACL {
	out := append(ACL{}, a...)
	for i := range out {
		if out[i].Grantee == grantee {
			out[i].Privs |= p
			return out
		}
	}
	return append(out, ACLItem{Grantee: grantee, Privs: p, Grantor: grantor})
}

// Revoke returns a with p taken from grantee.
func (a ACL) Revoke(grantee uint32, p Privilege) ACL {
	out := ACL{}
	for _, it := range a {
		if it.Grantee == grantee {
			it.Privs &^= p
		}
		if it.Privs != 0 {
			out = append(out, it)
		}
	}
	return out
}

// Mentions reports whether role appears in a as grantee or grantor.
func (a ACL) Mentions(role uint32) bool {
	for _, it := range a {
		if it.Grantee == role || it.Grantor == role {
			return true
		}
	}
	return false
}

// DatabaseACL is a database's effective ACL: its own once set, else
// PostgreSQL's default (PUBLIC may CONNECT and create TEMPORARY tables).
func (d *DatabaseDesc) DatabaseACL() ACL {
	if d.ACL == nil {
		return ACL{{Grantee: PublicGrantee, Privs: PrivConnect | PrivTemporary, Grantor: d.OwnerOID()}}
	}
	return *d.ACL
}

// OwnerOID is the database's owner.
func (d *DatabaseDesc) OwnerOID() uint32 { return ownerOrBootstrap(d.Owner) }

// OwnerOID is the table's owner.
func (t *TableDesc) OwnerOID() uint32 { return ownerOrBootstrap(t.Owner) }

// OwnerOID is the sequence's owner.
func (s *SequenceDesc) OwnerOID() uint32 { return ownerOrBootstrap(s.Owner) }

func ownerOrBootstrap(o uint32) uint32 {
	if o == 0 {
		return BootstrapOwner
	}
	return o
}

// aclLetters are PostgreSQL's aclitem letters in its output order
// (ACL_ALL_RIGHTS_STR "arwdDxtXUCTc...").
var aclLetters = []struct {
	p Privilege
	c byte
}{
	{PrivInsert, 'a'}, {PrivSelect, 'r'}, {PrivUpdate, 'w'}, {PrivDelete, 'd'}, {PrivTruncate, 'D'},
	{PrivReferences, 'x'}, {PrivTrigger, 't'}, {PrivUsage, 'U'}, {PrivCreate, 'C'}, {PrivTemporary, 'T'}, {PrivConnect, 'c'},
}

// Letters renders p as aclitem letters ("arwdDxt" for a table's ALL).
func (p Privilege) Letters() string {
	var b []byte
	for _, l := range aclLetters {
		if p&l.p != 0 {
			b = append(b, l.c)
		}
	}
	return string(b)
}

// Items renders a as PostgreSQL's aclitem[] text items, for relacl and
// datacl ("alice=arwdDxt/alice", "=r/alice" for PUBLIC). PostgreSQL lists
// the owner's own rights first once an object has an explicit ACL; all
// are the owner's rights of the object kind. name gives a role's name.
// An object without an explicit ACL (nil) shows NULL in PostgreSQL: the
// caller checks that first.
func (a ACL) Items(owner uint32, all Privilege, name func(oid uint32) string) []string {
	out := []string{name(owner) + "=" + all.Letters() + "/" + name(owner)}
	for _, it := range a {
		grantee := ""
		if it.Grantee != PublicGrantee {
			grantee = name(it.Grantee)
		}
		if it.Grantee == owner {
			continue // the owner's entry is already first
		}
		out = append(out, grantee+"="+it.Privs.Letters()+"/"+name(it.Grantor))
	}
	return out
}
