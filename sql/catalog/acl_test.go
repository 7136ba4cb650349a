package catalog

import (
	"fmt"
	"reflect"
	"testing"
)

func TestACL(t *testing.T) {
	var a ACL
	a = a.Grant(20, 10, PrivSelect|PrivInsert)
	a = a.Grant(PublicGrantee, 10, PrivSelect)
	a = a.Grant(20, 10, PrivUpdate)
	if !a.Has(20, PrivSelect|PrivUpdate) || a.Has(20, PrivDelete) || !a.Has(30, PrivSelect) || a.Has(30, PrivInsert) {
		t.Fatalf("Has: %+v", a)
	}
	a = a.Revoke(20, PrivSelect|PrivInsert|PrivUpdate)
	if len(a) != 1 || a.Mentions(20) || !a.Has(20, PrivSelect) {
		t.Fatalf("Revoke: %+v", a)
	}
	// PostgreSQL 15: GRANT SELECT, INSERT ON t TO alice by owner bob:
	// relacl {bob=arwdDxt/bob,alice=ar/bob}.
	names := map[uint32]string{10: "bob", 20: "alice"}
	b := ACL{}.Grant(20, 10, PrivSelect|PrivInsert).Grant(PublicGrantee, 10, PrivSelect)
	got := b.Items(10, TablePrivileges, func(o uint32) string { return names[o] })
	if want := []string{"bob=arwdDxt/bob", "alice=ar/bob", "=r/bob"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Items %v, want %v", got, want)
	}
	if got := DatabasePrivileges.Letters(); got != "CTc" {
		t.Fatalf("database letters %q", got)
	}
	d := &DatabaseDesc{Name: "d"}
	if !d.DatabaseACL().Has(99, PrivConnect) || d.OwnerOID() != BootstrapOwner {
		t.Fatal(fmt.Sprint("default database ACL ", d.DatabaseACL()))
	}
	if p, ok := ParsePrivilege("temp"); !ok || p != PrivTemporary || p.String() != "TEMPORARY" {
		t.Fatal("ParsePrivilege")
	}
}
