// Package sqlerr carries PostgreSQL error codes (SQLSTATE) through the SQL
// layer. Errors get their code where they arise, in sql; pgwire renders
// them (ErrorResponse) and nothing else.
//
// It imports only kv/kvpb of ours, to classify transaction retry errors.
package sqlerr

import (
	"context"
	"errors"
	"fmt"

	"github.com/outpostdb/outpost/kv/kvpb"
)

// SQLSTATE codes used by Outpost (PostgreSQL's Appendix A).
const (
	SuccessfulCompletion         = "00000"
	Warning                      = "01000"
	FeatureNotSupported          = "0A000"
	InvalidCatalogName           = "3D000" // unknown database
	InvalidSchemaName            = "3F000"
	CardinalityViolation         = "21000"
	DataException                = "22000"
	StringDataRightTruncation    = "22001"
	NumericValueOutOfRange       = "22003"
	InvalidDatetimeFormat        = "22007"
	DatetimeFieldOverflow        = "22008"
	DivisionByZero               = "22012"
	InvalidParameterValue        = "22023"
	InvalidTextRepresentation    = "22P02"
	InvalidBinaryRepresentation  = "22P03"
	CharacterNotInRepertoire     = "22021"
	UntranslatableCharacter      = "22P05"
	InvalidEscapeSequence        = "22025"
	InvalidRegularExpression     = "2201B"
	NullValueNotAllowed          = "22004"
	IntegrityConstraintViolation = "23000"
	NotNullViolation             = "23502"
	ForeignKeyViolation          = "23503"
	UniqueViolation              = "23505"
	CheckViolation               = "23514"
	InvalidTransactionState      = "25000"
	ActiveSQLTransaction         = "25001"
	NoActiveSQLTransaction       = "25P01"
	InFailedSQLTransaction       = "25P02"
	IdleInTransactionTimeout     = "25P03"
	ReadOnlySQLTransaction       = "25006"
	InvalidSQLStatementName      = "26000"
	InvalidCursorName            = "34000"
	InvalidAuthorizationSpec     = "28000"
	InvalidPassword              = "28P01"
	SerializationFailure         = "40001"
	DeadlockDetected             = "40P01"
	SyntaxError                  = "42601"
	InsufficientPrivilege        = "42501"
	UndefinedColumn              = "42703"
	UndefinedFunction            = "42883"
	UndefinedTable               = "42P01"
	UndefinedParameter           = "42P02"
	UndefinedObject              = "42704"
	DuplicateColumn              = "42701"
	DuplicateDatabase            = "42P04"
	DuplicateTable               = "42P07"
	DuplicateObject              = "42710"
	DuplicatePreparedStatement   = "42P05"
	DuplicateCursor              = "42P03"
	AmbiguousColumn              = "42702"
	AmbiguousFunction            = "42725"
	GroupingError                = "42803"
	DatatypeMismatch             = "42804"
	InvalidForeignKey            = "42830"
	WrongObjectType              = "42809"
	InvalidColumnReference       = "42P10"
	InvalidTableDefinition       = "42P16"
	IndeterminateDatatype        = "42P18"
	InvalidObjectDefinition      = "42P17"
	InvalidFunctionDefinition    = "42P13"
	UndefinedPreparedStatement   = "26000"
	ProtocolViolation            = "08P01"
	ConnectionFailure            = "08006"
	TooManyConnections           = "53300"
	OutOfMemory                  = "53200"
	ProgramLimitExceeded         = "54000"
	StatementTooComplex          = "54001"
	QueryCanceled                = "57014"
	AdminShutdown                = "57P01"
	ObjectInUse                  = "55006"
	ObjectNotInPrerequisiteState = "55000"
	LockNotAvailable             = "55P03"
	InternalError                = "XX000"
	DataCorrupted                = "XX001"
)

// Error is an error with a SQLSTATE.
type Error struct {
	Code    string
	Message string
	Detail  string
	Hint    string
	// Position is the 1-based character offset in the query text, 0 if none.
	Position int
	// Severity is ERROR unless set (FATAL for connection-ending errors).
	Severity string
	// Where is the CONTEXT line ("COPY t, line 3, column b: \"x\"").
	Where string
	cause error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.cause }

// New returns an error with code and a formatted message.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches code to err, keeping err's message (prefixed by msg when
// msg is not empty). An err that already has a code keeps it.
func Wrap(err error, code, msg string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	m := err.Error()
	if msg != "" {
		m = msg + ": " + m
	}
	return &Error{Code: code, Message: m, cause: err}
}

// WithDetail returns a copy of e with a detail line.
func (e *Error) WithDetail(format string, args ...any) *Error {
	c := *e
	c.Detail = fmt.Sprintf(format, args...)
	return &c
}

// WithHint returns a copy of e with a hint line.
func (e *Error) WithHint(format string, args ...any) *Error {
	c := *e
	c.Hint = fmt.Sprintf(format, args...)
	return &c
}

// WithWhere returns a copy of e with a CONTEXT line.
func (e *Error) WithWhere(format string, args ...any) *Error {
	c := *e
	c.Where = fmt.Sprintf(format, args...)
	return &c
}

// WithPosition returns a copy of e pointing at a 1-based character offset.
func (e *Error) WithPosition(pos int) *Error {
	c := *e
	c.Position = pos
	return &c
}

// Convert returns err as an *Error, assigning a code to errors that have
// none: retryable transaction conflicts become 40001, cancellations 57014,
// everything else XX000.
func Convert(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case kvpb.IsRetryable(err):
		return &Error{Code: SerializationFailure, Message: err.Error(), cause: err,
			Hint: "the transaction conflicted with another one; retry it"}
	case errors.As(err, new(*kvpb.AmbiguousResultError)):
		return &Error{Code: StatementCompletionUnknown, Message: err.Error(), cause: err,
			Hint: "the outcome of the transaction is unknown: it may or may not have committed"}
	case errors.As(err, new(*kvpb.LockTimeoutError)):
		return &Error{Code: LockNotAvailable, Message: "canceling statement due to lock timeout", cause: err}
	case errors.Is(err, kvpb.ErrWriteInReadOnlyTxn):
		return &Error{Code: ReadOnlySQLTransaction, Message: "cannot execute a write in a read-only transaction", cause: err}
	case errors.As(err, new(*kvpb.BatchTimestampBeforeGCError)):
		var ge *kvpb.BatchTimestampBeforeGCError
		errors.As(err, &ge)
		return &Error{Code: SnapshotTooOld, cause: err,
			Message: fmt.Sprintf("AS OF SYSTEM TIME: timestamp %s is older than the garbage collection threshold %s", ge.Timestamp, ge.Threshold),
			Hint:    "old row versions are kept for the store's --gc-ttl; read at a more recent time"}
	case errors.As(err, new(*kvpb.RangeUnavailableError)):
		return &Error{Code: SystemError, Message: err.Error(), cause: err}
	case errors.Is(err, context.Canceled):
		return &Error{Code: QueryCanceled, Message: "canceling statement due to user request", cause: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: QueryCanceled, Message: "canceling statement due to statement timeout", cause: err}
	}
	return &Error{Code: InternalError, Message: err.Error(), cause: err}
}

// Code returns err's SQLSTATE (see Convert).
func Code(err error) string {
	if err == nil {
		return SuccessfulCompletion
	}
	return Convert(err).Code
}

// More SQLSTATE codes.
const (
	StatementCompletionUnknown     = "40003"
	SystemError                    = "58000"
	CantChangeRuntimeParam         = "55P02"
	SequenceGeneratorLimitExceeded = "2200H"
	InvalidRowCountInLimit         = "2201W"
	InvalidRowCountInOffset        = "2201X"
	DependentObjectsStillExist     = "2BP01"
	SavepointException             = "3B001"
	CannotCoerce                   = "42846"
	BadCopyFileFormat              = "22P04"
	// SnapshotTooOld: a historical read below the GC threshold.
	SnapshotTooOld = "72000"
)
