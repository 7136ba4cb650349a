package sql

import "github.com/outpostdb/outpost/sql/sqlerr"

// Column describes one result column as the PostgreSQL protocol needs it
// (RowDescription). Format is 0 (text) or 1 (binary), as bound.
type Column struct {
	Name       string
	TableOID   uint32
	ColumnAttr int16
	TypeOID    uint32
	TypeSize   int16
	TypeMod    int32
	Format     int16
}

// ResultWriter receives a statement's results. sql declares it; pgwire
// implements it over a connection. Values arrive already encoded in the
// bound format (text or binary); a nil value is SQL NULL. Calls come from the
// goroutine running the statement. An error from a ResultWriter (the client
// went away) aborts the statement.
type ResultWriter interface {
	// RowDescription announces the columns of a row-returning statement
	// run through the simple query protocol, before its first DataRow.
	// (The extended protocol describes portals with Describe instead.)
	RowDescription(cols []Column) error
	DataRow(values [][]byte) error
	// CommandComplete ends one statement, with PostgreSQL's tag
	// ("SELECT 3", "INSERT 0 1", "CREATE TABLE", ...).
	CommandComplete(tag string) error
	// EmptyQuery answers a query string with no statement in it.
	EmptyQuery() error
	// Notice sends a NoticeResponse (a warning that does not fail the
	// statement, e.g. 25P01 for COMMIT outside a transaction).
	Notice(n *sqlerr.Error) error
}

// SessionArgs are what a client names at connection start.
type SessionArgs struct {
	User     string
	Database string
	// Params are the other startup parameters (application_name,
	// client_encoding, DateStyle, TimeZone, options, ...).
	Params map[string]string
}

// StatementDescription is what Describe of a prepared statement returns.
type StatementDescription struct {
	// ParamTypes are the OIDs of the parameters ($1..$n), inferred from
	// context where the client sent 0.
	ParamTypes []uint32
	// Columns are the result columns, nil for statements without rows.
	Columns []Column
}

// TxnStatus is the transaction status reported in ReadyForQuery.
type TxnStatus byte

// The statuses.
const (
	TxnIdle   TxnStatus = 'I'
	TxnInProg TxnStatus = 'T'
	TxnFailed TxnStatus = 'E'
)
