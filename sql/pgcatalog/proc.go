package pgcatalog

import (
	"strings"
	"sync"

	"github.com/outpostdb/outpost/sql/builtins"
	"github.com/outpostdb/outpost/sql/types"
)

// proc is a builtin function overload as pg_proc shows it. Outpost's
// builtins are not PostgreSQL's pg_proc entries, so they get synthetic
// OIDs: firstProcOID + position in builtins.Signatures() (sorted by name),
// below FirstNormalOID and stable for a given build.
type proc struct {
	oid uint32
	sig builtins.Signature
}

const firstProcOID = 9000

var procList struct {
	once  sync.Once
	procs []proc
	byOID map[uint32]*proc
}

func procs() []proc {
	procList.once.Do(func() {
		procList.byOID = map[uint32]*proc{}
		for i, s := range builtins.Signatures() {
			procList.procs = append(procList.procs, proc{oid: uint32(firstProcOID + i), sig: s})
		}
		for i := range procList.procs {
			procList.byOID[procList.procs[i].oid] = &procList.procs[i]
		}
	})
	return procList.procs
}

func procByOID(oid uint32) *proc {
	procs()
	return procList.byOID[oid]
}

const (
	oidAny        = 2276
	oidAnyElement = 2283
)

func procTypeOID(t *types.T) uint32 {
	switch t {
	case builtins.AnyType:
		return oidAny
	case builtins.AnyElement:
		return oidAnyElement
	}
	return t.Oid()
}

func procTypeName(t *types.T) string {
	switch t {
	case builtins.AnyType:
		return `"any"`
	case builtins.AnyElement:
		return "anyelement"
	}
	return t.WithoutModifiers().SQLString()
}

func procArgs(p *proc) string {
	parts := make([]string, len(p.sig.Params))
	for i, t := range p.sig.Params {
		parts[i] = procTypeName(t)
		if p.sig.Variadic && i == len(p.sig.Params)-1 {
			parts[i] = "VARIADIC " + parts[i] + "[]"
		}
	}
	return strings.Join(parts, ", ")
}

func fnFuncArgs(_ *Env, _ *snapshot, a []types.Datum) (types.Datum, error) {
	p := procByOID(oidArg(a[0]))
	if p == nil {
		return types.Null, nil
	}
	return types.DString(procArgs(p)), nil
}

var volatility = map[builtins.Volatility]string{builtins.Immutable: "i", builtins.Stable: "s", builtins.Volatile: "v"}

func genProc(s *snapshot, rs *rowSet) error {
	for i := range procs() {
		p := &procs()[i]
		kind := "f"
		if p.sig.Aggregate {
			kind = "a"
		}
		argOIDs := make([]uint32, len(p.sig.Params))
		for k, t := range p.sig.Params {
			argOIDs[k] = procTypeOID(t)
		}
		var variadic uint32
		if p.sig.Variadic && len(argOIDs) > 0 {
			variadic = argOIDs[len(argOIDs)-1]
		}
		rs.add().oid("oid", p.oid).s("proname", p.sig.Name).oid("pronamespace", NamespaceCatalog).
			oid("proowner", BootstrapRoleOID).oid("prolang", 12).set("procost", types.DFloat(1)).
			set("prorows", types.DFloat(0)).oid("provariadic", variadic).set("prosupport", types.DOid(0)).
			s("prokind", kind).b("prosecdef", false).b("proleakproof", false).b("proisstrict", p.sig.Strict).
			b("proretset", false).s("provolatile", volatility[p.sig.Volatile]).s("proparallel", "s").
			i("pronargs", int64(len(argOIDs))).i("pronargdefaults", 0).oid("prorettype", procTypeOID(p.sig.Result)).
			s("proargtypes", vector(argOIDs)).s("prosrc", p.sig.Name)
	}
	return nil
}
