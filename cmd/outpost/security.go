package main

import (
	"fmt"
	"net/netip"
	"os/user"
	"strings"

	"github.com/outpostdb/outpost/cmd/internal/server"
	"github.com/outpostdb/outpost/sql"
	"github.com/outpostdb/outpost/sql/roles"
)

// parseSecurityFlags applies --trust-addrs and adds the OS user running
// the first start to the bootstrap superusers, as initdb does, so that
// psql without -U connects.
func parseSecurityFlags(cfg *server.Config, trust string) error {
	cfg.Security.NoTrust = strings.TrimSpace(trust) == ""
	if !cfg.Security.NoTrust {
		cfg.Security.TrustAddrs = []netip.Prefix{}
		for _, s := range strings.Split(trust, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("--trust-addrs: %w", err)
			}
			cfg.Security.TrustAddrs = append(cfg.Security.TrustAddrs, p)
		}
	}
	cfg.SQL.BootstrapSuperusers = append([]string(nil), sql.DefaultBootstrapSuperusers...)
	if u, err := user.Current(); err == nil && roles.CheckName(u.Username) == nil {
		known := false
		for _, n := range cfg.SQL.BootstrapSuperusers {
			known = known || n == u.Username
		}
		if !known {
			cfg.SQL.BootstrapSuperusers = append(cfg.SQL.BootstrapSuperusers, u.Username)
		}
	}
	return nil
}
