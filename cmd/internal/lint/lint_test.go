// Package lint holds repository-wide checks: the layering rules of
// DESIGN.md/STYLE.md (which package may import which) and formatting.
package lint

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const mod = "github.com/outpostdb/outpost"

type pkgInfo struct {
	path    string
	imports []string // direct
	deps    []string // transitive
}

func listPackages(t *testing.T) []pkgInfo {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{join .Imports \" \"}}|{{join .Deps \" \"}}", mod+"/...")
	cmd.Dir = repoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkgInfo
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.Split(line, "|")
		if len(parts) != 3 {
			t.Fatalf("unexpected go list line %q", line)
		}
		pkgs = append(pkgs, pkgInfo{path: parts[0], imports: strings.Fields(parts[1]), deps: strings.Fields(parts[2])})
	}
	return pkgs
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func within(pkg, prefix string) bool {
	return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
}

// TestForbiddenImports enforces the layering: imports point down only, and
// each heavy dependency has one importing package (tree).
func TestForbiddenImports(t *testing.T) {
	type rule struct {
		from      string   // package tree the rule applies to
		forbidden []string // package trees it must not depend on (transitively)
		except    []string // packages in from exempt from the rule
	}
	rules := []rule{
		{from: mod + "/kv", forbidden: []string{mod + "/replication", mod + "/sql", mod + "/pgwire", mod + "/cmd"}},
		{from: mod + "/replication", forbidden: []string{mod + "/sql", mod + "/pgwire", mod + "/cmd", mod + "/kv/router"}},
		{from: mod + "/sql", forbidden: []string{mod + "/replication", mod + "/kv/storage", mod + "/pgwire", mod + "/cmd", "github.com/cockroachdb/pebble/v2"},
			except: []string{mod + "/sql/logictest"}},
		{from: mod + "/pgwire", forbidden: []string{mod + "/replication", mod + "/kv/storage", mod + "/cmd"},
			except: []string{mod + "/pgwire/pgwiretest"}},
	}
	// Heavy dependencies and the one package tree allowed to import them
	// directly.
	owners := map[string]string{
		"github.com/cockroachdb/pebble/v2": mod + "/kv/storage",
		"github.com/jackc/pgproto3/v2":     mod + "/pgwire",
		"go.etcd.io/raft/v3":               mod + "/replication",
		"google.golang.org/grpc":           mod + "/replication/rpc",
	}
	// The TiDB parser itself (and any value driver) belongs to sql/parser;
	// its AST packages are the planner's input and may be read anywhere in
	// sql/.
	const tidb = "github.com/pingcap/tidb/pkg/parser"
	tidbEntry := []string{tidb, tidb + "/test_driver"}
	for _, p := range listPackages(t) {
		for _, r := range rules {
			if !within(p.path, r.from) || contains(r.except, p.path) {
				continue
			}
			for _, d := range p.deps {
				for _, f := range r.forbidden {
					if within(d, f) {
						t.Errorf("%s depends on %s (forbidden: %s must not import %s)", p.path, d, r.from, f)
					}
				}
			}
		}
		for _, imp := range p.imports {
			for dep, owner := range owners {
				if within(imp, dep) && !within(p.path, owner) {
					t.Errorf("%s imports %s; only %s may", p.path, imp, owner)
				}
			}
			if contains(tidbEntry, imp) && !within(p.path, mod+"/sql/parser") {
				t.Errorf("%s imports %s; only sql/parser may", p.path, imp)
			}
			if within(imp, tidb) && !within(p.path, mod+"/sql") {
				t.Errorf("%s imports %s; the TiDB parser stays inside sql/", p.path, imp)
			}
			if within(imp, mod+"/cmd") && !within(p.path, mod+"/cmd") {
				t.Errorf("%s imports %s; nothing outside cmd/ may", p.path, imp)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestGofmt fails on unformatted Go files.
func TestGofmt(t *testing.T) {
	cmd := exec.Command("gofmt", "-l", ".")
	cmd.Dir = repoRoot(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gofmt: %v\n%s", err, out)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Fatalf("gofmt -l reports unformatted files:\n%s", s)
	}
}
