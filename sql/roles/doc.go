// Package roles owns roles (users) and their passwords: the stored role
// records, the password verifiers PostgreSQL stores (SCRAM-SHA-256 and
// md5; never cleartext) and the server side of a SCRAM-SHA-256 exchange
// (RFC 5802 / RFC 7677, as PostgreSQL 15 speaks it: no channel binding).
//
// Roles live in the system keyspace next to the catalog and are read and
// written inside the caller's kv.Txn, so role DDL is transactional:
//
//	/sys/role/<name>          role record (JSON)
//	/sys/roles-bootstrapped   set once the bootstrap superusers exist
//
// Every change bumps the catalog version (catalog.BumpVersion), so that
// sessions that cache what they know about roles per catalog version see
// the change with the read they already make.
//
// Invariants:
//   - a stored Password is "" (none), an md5 verifier ("md5" + 32 hex) or
//     a SCRAM verifier ("SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>");
//     Create and Put refuse anything else, so cleartext never reaches kv;
//   - role names are unique (the name is the key); OIDs are unique (taken
//     from the catalog's descriptor ID counter, the bootstrap superuser
//     has BootstrapOID).
//
// It imports kv, kv/keys, sql/catalog and sql/sqlerr of ours, and
// golang.org/x/text for SASLprep's normalization; pgwire imports it for
// the verifiers and the SCRAM exchange (pure functions, no kv use).
// pg_catalog's pg_roles and pg_authid read List.
package roles
