package plan

import (
	"math"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/outpostdb/outpost/sql/parser"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

func restore(n ast.Node) (string, error) { return parser.Restore(n) }

func restoreOrEmpty(n ast.Node) string {
	s, _ := parser.Restore(n)
	return s
}

// compileLiteral types a constant as PostgreSQL does: integers are int4
// when they fit, else int8, else numeric; numbers with a point are
// numeric; strings are "unknown" until context decides.
func (b *Builder) compileLiteral(n ast.ValueExpr, hint *types.T) (Expr, error) {
	v, ok := n.(*parser.ValueExpr)
	if !ok {
		return nil, sqlerr.New(sqlerr.InternalError, "unexpected literal %T", n)
	}
	switch v.Kind {
	case parser.KindNull:
		return &Const{D: types.Null, T: types.Unknown}, nil
	case parser.KindBool:
		return &Const{D: types.DBool(v.Bool), T: types.Bool}, nil
	case parser.KindInt:
		if v.Int >= math.MinInt32 && v.Int <= math.MaxInt32 {
			return &Const{D: types.DInt(v.Int), T: types.Int4}, nil
		}
		return &Const{D: types.DInt(v.Int), T: types.Int8}, nil
	case parser.KindUint, parser.KindDecimal:
		d, err := types.ParseDDecimal(v.Val)
		if err != nil {
			return nil, err
		}
		return &Const{D: d, T: types.Numeric}, nil
	case parser.KindFloat:
		return &Const{D: types.DFloat(v.Float), T: types.Float8}, nil
	case parser.KindString:
		return &Const{D: types.DString(v.Val), T: types.Unknown}, nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "%s literals are not supported", v.Kind)
}

// intLiteral returns the value of an integer constant.
func (b *Builder) intLiteral(n ast.ValueExpr) (int64, bool) {
	v, ok := n.(*parser.ValueExpr)
	if !ok || v.Kind != parser.KindInt {
		return 0, false
	}
	return v.Int, true
}

// stringLiteral returns the value of a string constant.
func (b *Builder) stringLiteral(n ast.ExprNode) (string, bool) {
	v, ok := n.(*parser.ValueExpr)
	if !ok || v.Kind != parser.KindString {
		return "", false
	}
	return v.Val, true
}

// paramIndex returns the 0-based index of a $n marker.
func (b *Builder) paramIndex(n ast.ParamMarkerExpr) (int, error) {
	m, ok := n.(*parser.ParamMarker)
	if !ok || m.Num < 1 {
		return 0, sqlerr.New(sqlerr.InternalError, "unexpected parameter marker %T", n)
	}
	return m.Num - 1, nil
}
