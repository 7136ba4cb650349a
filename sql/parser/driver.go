package parser

import (
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
)

// The TiDB parser builds literals through a "driver" it does not provide.
// Ours keeps what Outpost needs: the kind of each literal and its text (a
// numeric constant keeps its scale), and numbers parameter markers with
// PostgreSQL's $n. It does not interpret values: typing is the planner's.
func init() {
	ast.NewValueExpr = newValueExpr
	ast.NewParamMarkerExpr = newParamMarker
	ast.NewDecimal = func(s string) (any, error) { return Decimal(normalizeDecimal(s)), nil }
	ast.NewHexLiteral = func(s string) (any, error) { return newBinary(s, 16) }
	ast.NewBitLiteral = func(s string) (any, error) { return newBinary(s, 2) }
}

// Kind classifies a literal.
type Kind uint8

// Literal kinds.
const (
	KindNull Kind = iota
	KindBool
	// KindInt is an integer constant that fits int64.
	KindInt
	// KindUint is an integer constant above math.MaxInt64 that fits
	// uint64; PostgreSQL types it numeric.
	KindUint
	// KindDecimal is a numeric constant with a point (or an integer too
	// large for uint64); Val holds it, e.g. "1.50", "1500".
	KindDecimal
	// KindFloat is a float constant; the rewrite never produces one (in
	// PostgreSQL, 1e3 is numeric), TiDB's grammar might.
	KindFloat
	KindString
	// KindHex is X'..' (a bit string in PostgreSQL); Val holds the hex
	// digits.
	KindHex
	// KindBit is B'..'; Val holds the binary digits.
	KindBit
	// KindOther is any other value the TiDB grammar builds itself
	// (keywords turned into values); Val holds its string form.
	KindOther
)

var kindNames = [...]string{"null", "bool", "int", "uint", "decimal", "float", "string", "hex", "bit", "other"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Decimal is the text of a numeric constant.
type Decimal string

// Binary is a hex or bit string literal: its digits in Text, base 16 or 2.
type Binary struct {
	Text string
	Base int
}

// ValueExpr is a literal.
type ValueExpr struct {
	ast.TexprNode
	Kind Kind
	// Val is the literal as written (numbers, hex and bit digits), its
	// value (strings), or its string form (KindOther).
	Val string
	// Bool, Int, Uint and Float hold the value of those kinds.
	Bool  bool
	Int   int64
	Uint  uint64
	Float float64
	other any

	projectionOffset int
}

var (
	_ ast.ValueExpr       = (*ValueExpr)(nil)
	_ ast.ParamMarkerExpr = (*ParamMarker)(nil)
)

func newValueExpr(value any, _ string, _ string) ast.ValueExpr {
	if v, ok := value.(*ValueExpr); ok {
		return v
	}
	v := &ValueExpr{projectionOffset: -1}
	v.SetValue(value)
	return v
}

func normalizeDecimal(s string) string {
	s = strings.TrimSuffix(s, ".")
	if strings.HasPrefix(s, ".") {
		s = "0" + s
	}
	return s
}

func newBinary(s string, base int) (Binary, error) {
	switch {
	case len(s) >= 3 && (s[0] == 'x' || s[0] == 'X' || s[0] == 'b' || s[0] == 'B') && s[1] == '\'' && s[len(s)-1] == '\'':
		s = s[2 : len(s)-1]
	case len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'b'):
		s = s[2:]
	}
	return Binary{Text: s, Base: base}, nil
}

// SetValue implements ast.ValueExpr.
func (n *ValueExpr) SetValue(value any) {
	*n = ValueExpr{TexprNode: n.TexprNode, projectionOffset: n.projectionOffset}
	switch v := value.(type) {
	case nil:
		n.Kind = KindNull
	case bool:
		n.Kind, n.Bool = KindBool, v
	case int:
		n.Kind, n.Int, n.Val = KindInt, int64(v), strconv.Itoa(v)
	case int64:
		n.Kind, n.Int, n.Val = KindInt, v, strconv.FormatInt(v, 10)
	case uint64:
		n.Kind, n.Uint, n.Val = KindUint, v, strconv.FormatUint(v, 10)
	case float64:
		n.Kind, n.Float, n.Val = KindFloat, v, strconv.FormatFloat(v, 'g', -1, 64)
	case float32:
		n.Kind, n.Float, n.Val = KindFloat, float64(v), strconv.FormatFloat(float64(v), 'g', -1, 32)
	case string:
		n.Kind, n.Val = KindString, v
	case []byte:
		n.Kind, n.Val = KindString, string(v)
	case Decimal:
		n.Kind, n.Val = KindDecimal, string(v)
	case Binary:
		n.Kind, n.Val = KindHex, v.Text
		if v.Base == 2 {
			n.Kind = KindBit
		}
	default:
		n.Kind, n.other, n.Val = KindOther, v, fmt.Sprint(v)
	}
}

// GetValue implements ast.ValueExpr: the Go value of the literal (TiDB's
// grammar looks for int64 to recognise ORDER BY positions).
func (n *ValueExpr) GetValue() any {
	switch n.Kind {
	case KindNull:
		return nil
	case KindBool:
		return n.Bool
	case KindInt:
		return n.Int
	case KindUint:
		return n.Uint
	case KindFloat:
		return n.Float
	case KindDecimal:
		return Decimal(n.Val)
	case KindHex:
		return Binary{Text: n.Val, Base: 16}
	case KindBit:
		return Binary{Text: n.Val, Base: 2}
	case KindOther:
		return n.other
	}
	return n.Val
}

// GetString implements ast.ValueExpr.
func (n *ValueExpr) GetString() string {
	if n.Kind == KindBool {
		return strconv.FormatBool(n.Bool)
	}
	return n.Val
}

// GetDatumString implements ast.ValueExpr.
func (n *ValueExpr) GetDatumString() string { return n.GetString() }

// GetProjectionOffset implements ast.ValueExpr.
func (n *ValueExpr) GetProjectionOffset() int { return n.projectionOffset }

// SetProjectionOffset implements ast.ValueExpr.
func (n *ValueExpr) SetProjectionOffset(offset int) { n.projectionOffset = offset }

// Bytes decodes a KindHex or KindBit literal (left-padded to whole bytes).
func (n *ValueExpr) Bytes() ([]byte, error) {
	switch n.Kind {
	case KindHex:
		s := n.Val
		if len(s)%2 == 1 {
			s = "0" + s
		}
		return hex.DecodeString(s)
	case KindBit:
		s := n.Val
		out := make([]byte, (len(s)+7)/8)
		for i := 0; i < len(s); i++ {
			if s[len(s)-1-i] == '1' {
				out[len(out)-1-i/8] |= 1 << (i % 8)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s literal is not binary", n.Kind)
}

// Restore implements ast.Node, in PostgreSQL syntax.
func (n *ValueExpr) Restore(ctx *format.RestoreCtx) error {
	switch n.Kind {
	case KindNull:
		ctx.WriteKeyWord("NULL")
	case KindBool:
		if n.Bool {
			ctx.WriteKeyWord("TRUE")
		} else {
			ctx.WriteKeyWord("FALSE")
		}
	case KindInt, KindUint, KindDecimal, KindFloat:
		ctx.WritePlain(n.Val)
	case KindString:
		ctx.WritePlain("'" + strings.ReplaceAll(n.Val, "'", "''") + "'")
	case KindHex:
		ctx.WritePlain("X'" + n.Val + "'")
	case KindBit:
		ctx.WritePlain("B'" + n.Val + "'")
	default:
		return fmt.Errorf("cannot restore literal %v", n.other)
	}
	return nil
}

// Format implements ast.ExprNode.
func (n *ValueExpr) Format(w io.Writer) {
	var sb strings.Builder
	if err := n.Restore(format.NewRestoreCtx(format.RestoreKeyWordUppercase, &sb)); err != nil {
		sb.WriteString(n.Val)
	}
	_, _ = io.WriteString(w, sb.String())
}

// Accept implements ast.Node.
func (n *ValueExpr) Accept(v ast.Visitor) (ast.Node, bool) {
	newNode, _ := v.Enter(n) // a leaf: nothing to skip
	return v.Leave(newNode)
}

// ParamMarker is a parameter: $n in PostgreSQL, ? for TiDB.
type ParamMarker struct {
	ValueExpr
	// Offset is the byte offset of the ? in the rewritten text.
	Offset int
	// Order is the 0-based position of this marker among all markers of
	// the statement (Statement.ParamOrder[Order] == Num).
	Order int
	// Num is the PostgreSQL parameter number ($Num), 1-based.
	Num int
}

func newParamMarker(offset int) ast.ParamMarkerExpr {
	return &ParamMarker{ValueExpr: ValueExpr{projectionOffset: -1}, Offset: offset}
}

// SetOrder implements ast.ParamMarkerExpr.
func (n *ParamMarker) SetOrder(order int) { n.Order = order }

// Restore implements ast.Node: $n.
func (n *ParamMarker) Restore(ctx *format.RestoreCtx) error {
	if n.Num > 0 {
		ctx.WritePlain("$" + strconv.Itoa(n.Num))
		return nil
	}
	ctx.WritePlain("?")
	return nil
}

// Format implements ast.ExprNode.
func (n *ParamMarker) Format(w io.Writer) { _, _ = io.WriteString(w, "$"+strconv.Itoa(n.Num)) }

// Accept implements ast.Node.
func (n *ParamMarker) Accept(v ast.Visitor) (ast.Node, bool) {
	newNode, _ := v.Enter(n) // a leaf: nothing to skip
	return v.Leave(newNode)
}
