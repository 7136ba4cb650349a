package builtins

import (
	"strconv"
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// jsonOut is a value converted to JSON: its json text (as to_json prints
// it) and its normalized document.
type jsonOut struct {
	text string
	val  types.JSONValue
}

// isJSONNumber reports whether s is a valid JSON number literal.
func isJSONNumber(s string) bool {
	if s == "" {
		return false
	}
	i := 0
	if s[0] == '-' {
		i++
	}
	digits := func() int {
		st := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - st
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

func jsonString(s string) jsonOut {
	return jsonOut{text: string(types.AppendJSONString(nil, s)), val: types.JSONValue{Kind: types.JSONString, Str: s}}
}

// appendISO appends a timestamp in ISO 8601 as to_json does:
// 2024-01-31T12:34:56.5, with +hh:mm for timestamptz.
func isoTimestamp(wall int64, withZone bool, offset int) string {
	if wall == types.TimeToMicros(types.TimestampPosInf) {
		return "infinity"
	}
	if wall == types.TimeToMicros(types.TimestampNegInf) {
		return "-infinity"
	}
	ts, err := types.MakeTimestampFromMicros(wall)
	if err != nil {
		return ""
	}
	s := types.FormatText(ts, nil)
	bc := strings.HasSuffix(s, " BC")
	s = strings.TrimSuffix(s, " BC")
	s = strings.Replace(s, " ", "T", 1)
	if withZone {
		sign := byte('+')
		if offset < 0 {
			sign, offset = '-', -offset
		}
		s += string(sign) + pad2(offset/3600) + ":" + pad2((offset/60)%60)
		if offset%60 != 0 {
			s += ":" + pad2(offset%60)
		}
	}
	if bc {
		s += " BC"
	}
	return s
}

func pad2(v int) string {
	if v < 10 {
		return "0" + strconv.Itoa(v)
	}
	return strconv.Itoa(v)
}

// toJSON converts a datum of type t as to_json/to_jsonb and the json
// builders do.
func toJSON(d types.Datum, t *types.T, ctx *types.EvalContext) (jsonOut, error) {
	switch v := d.(type) {
	case types.DNull:
		return jsonOut{text: "null", val: types.JSONValue{Kind: types.JSONNull}}, nil
	case types.DBool:
		if v {
			return jsonOut{text: "true", val: types.JSONValue{Kind: types.JSONBool, Bool: true}}, nil
		}
		return jsonOut{text: "false", val: types.JSONValue{Kind: types.JSONBool}}, nil
	case types.DInt, types.DFloat, *types.DDecimal, types.DOid:
		s := string(types.AppendText(nil, t, d, ctx.Loc()))
		if !isJSONNumber(s) {
			return jsonString(s), nil
		}
		num, err := types.ParseDDecimal(s)
		if err != nil {
			return jsonOut{}, err
		}
		return jsonOut{text: s, val: types.JSONValue{Kind: types.JSONNumber, Num: num}}, nil
	case *types.DJSON:
		return jsonOut{text: v.Text(), val: v.Value()}, nil
	case types.DDate:
		return jsonString(types.FormatText(v, nil)), nil
	case types.DTimestamp:
		return jsonString(isoTimestamp(types.TimeToMicros(v.Time), false, 0)), nil
	case types.DTimestampTZ:
		us := types.TimeToMicros(v.Time)
		if isInfMicros(us) {
			return jsonString(isoTimestamp(us, false, 0)), nil
		}
		wall, off := types.UTCToLocalMicros(us, ctx.Loc())
		return jsonString(isoTimestamp(wall, true, off)), nil
	}
	return jsonString(outTextTyped(d, t, ctx)), nil
}

func jsonResult(isJSONB bool, o jsonOut) types.Datum {
	if isJSONB {
		return types.NewDJSONB(o.val)
	}
	return types.NewDJSON(o.text, o.val)
}

// buildObject is json_build_object / jsonb_build_object.
func buildObject(ctx *types.EvalContext, argTypes []*types.T, args []types.Datum, isJSONB bool) (types.Datum, error) {
	if len(args)%2 != 0 {
		name := "json_build_object"
		if isJSONB {
			name = "jsonb_build_object"
		}
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "argument list must have even number of elements").
			WithHint("The arguments of %s() must consist of alternating keys and values.", name)
	}
	var b strings.Builder
	b.WriteByte('{')
	fields := make([]types.JSONField, 0, len(args)/2)
	for i := 0; i < len(args); i += 2 {
		if args[i] == types.Null {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "argument %d cannot be null", i+1).WithHint("Object keys should be text.")
		}
		if _, ok := args[i].(*types.DJSON); ok {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "key value must be scalar, not array, composite, or json")
		}
		key := outTextTyped(args[i], argTypes[i], ctx)
		v, err := toJSON(args[i+1], argTypes[i+1], ctx)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.Write(types.AppendJSONString(nil, key))
		b.WriteString(" : ")
		b.WriteString(v.text)
		fields = append(fields, types.JSONField{Key: key, Value: v.val})
	}
	b.WriteByte('}')
	val := types.NormalizeJSON(types.JSONValue{Kind: types.JSONObject, Fields: fields})
	return jsonResult(isJSONB, jsonOut{text: b.String(), val: val}), nil
}

// buildArray is json_build_array / jsonb_build_array.
func buildArray(ctx *types.EvalContext, argTypes []*types.T, args []types.Datum, isJSONB bool) (types.Datum, error) {
	var b strings.Builder
	b.WriteByte('[')
	elems := make([]types.JSONValue, 0, len(args))
	for i, a := range args {
		v, err := toJSON(a, argTypes[i], ctx)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(v.text)
		elems = append(elems, v.val)
	}
	b.WriteByte(']')
	return jsonResult(isJSONB, jsonOut{text: b.String(), val: types.JSONValue{Kind: types.JSONArray, Elems: elems}}), nil
}

func jsonOf(d types.Datum) *types.DJSON { return d.(*types.DJSON) }

// wrapLike returns v as a value of the same json-ness as like.
func wrapLike(like *types.DJSON, v types.JSONValue) types.Datum {
	if like.IsJSON() {
		return types.NewDJSON(string(types.AppendJSON(nil, v)), v)
	}
	return types.NewDJSONB(v)
}

func objectField(v types.JSONValue, key string) (types.JSONValue, bool) {
	if v.Kind != types.JSONObject {
		return types.JSONValue{}, false
	}
	for _, f := range v.Fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return types.JSONValue{}, false
}

func arrayElem(v types.JSONValue, idx int64, scalarAsArray bool) (types.JSONValue, bool) {
	elems := v.Elems
	if v.Kind != types.JSONArray {
		if !scalarAsArray || v.Kind == types.JSONObject {
			return types.JSONValue{}, false
		}
		elems = []types.JSONValue{v}
	}
	n := int64(len(elems))
	if idx < 0 {
		idx += n
	}
	if idx < 0 || idx >= n {
		return types.JSONValue{}, false
	}
	return elems[idx], true
}

// jsonText is ->>'s text of a JSON value: strings unquoted, null as SQL
// NULL.
func jsonText(v types.JSONValue) types.Datum {
	switch v.Kind {
	case types.JSONNull:
		return types.Null
	case types.JSONString:
		return types.DString(v.Str)
	}
	return types.DString(types.AppendJSON(nil, v))
}

func jsonEqual(a, b types.JSONValue) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case types.JSONNull:
		return true
	case types.JSONBool:
		return a.Bool == b.Bool
	case types.JSONString:
		return a.Str == b.Str
	case types.JSONNumber:
		return a.Num.Cmp(&b.Num.Decimal) == 0
	}
	return string(types.AppendJSON(nil, a)) == string(types.AppendJSON(nil, b))
}

// jsonContains is jsonb's @>: structure and contents of b appear in a. At
// the top level a scalar is treated as a one-element array, so an array
// contains its scalar elements.
func jsonContains(a, b types.JSONValue, top bool) bool {
	if top {
		if a.Kind == types.JSONArray && b.Kind != types.JSONArray && b.Kind != types.JSONObject {
			b = types.JSONValue{Kind: types.JSONArray, Elems: []types.JSONValue{b}}
		}
	}
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case types.JSONObject:
		for _, f := range b.Fields {
			av, ok := objectField(a, f.Key)
			if !ok || !jsonContains(av, f.Value, false) {
				return false
			}
		}
		return true
	case types.JSONArray:
		for _, eb := range b.Elems {
			found := false
			for _, ea := range a.Elems {
				if ea.Kind == eb.Kind && (eb.Kind == types.JSONArray || eb.Kind == types.JSONObject) {
					found = jsonContains(ea, eb, false)
				} else {
					found = jsonEqual(ea, eb)
				}
				if found {
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	return jsonEqual(a, b)
}

func jsonConcat(a, b types.JSONValue) types.JSONValue {
	if a.Kind == types.JSONObject && b.Kind == types.JSONObject {
		fields := append(append([]types.JSONField{}, a.Fields...), b.Fields...)
		return types.NormalizeJSON(types.JSONValue{Kind: types.JSONObject, Fields: fields})
	}
	asArr := func(v types.JSONValue) []types.JSONValue {
		if v.Kind == types.JSONArray {
			return v.Elems
		}
		return []types.JSONValue{v}
	}
	elems := append(append([]types.JSONValue{}, asArr(a)...), asArr(b)...)
	return types.JSONValue{Kind: types.JSONArray, Elems: elems}
}

func registerJSONOps() {
	J, JB, T, I := types.JSON, types.JSONB, types.Text, types.Int4
	for _, jt := range []*types.T{J, JB} {
		isJSONB := jt == JB
		addBin("->", jt, T, jt, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
			v, ok := objectField(jsonOf(a).Value(), str(b))
			if !ok {
				return types.Null, nil
			}
			if !isJSONB {
				text, _ := jsonOf(a).FieldText(str(b))
				return types.NewDJSON(text, v), nil
			}
			return types.NewDJSONB(v), nil
		})
		addBin("->", jt, I, jt, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
			v, ok := arrayElem(jsonOf(a).Value(), int64(b.(types.DInt)), isJSONB)
			if !ok {
				return types.Null, nil
			}
			if !isJSONB {
				text, _ := jsonOf(a).ElementText(int64(b.(types.DInt)))
				return types.NewDJSON(text, v), nil
			}
			return types.NewDJSONB(v), nil
		})
		addBin("->>", jt, T, T, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
			v, ok := objectField(jsonOf(a).Value(), str(b))
			if !ok {
				return types.Null, nil
			}
			if !isJSONB && v.Kind != types.JSONString && v.Kind != types.JSONNull {
				text, _ := jsonOf(a).FieldText(str(b))
				return types.DString(text), nil
			}
			return jsonText(v), nil
		})
		addBin("->>", jt, I, T, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
			v, ok := arrayElem(jsonOf(a).Value(), int64(b.(types.DInt)), isJSONB)
			if !ok {
				return types.Null, nil
			}
			if !isJSONB && v.Kind != types.JSONString && v.Kind != types.JSONNull {
				text, _ := jsonOf(a).ElementText(int64(b.(types.DInt)))
				return types.DString(text), nil
			}
			return jsonText(v), nil
		})
	}
	addBin("@>", JB, JB, types.Bool, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return types.DBool(jsonContains(jsonOf(a).Value(), jsonOf(b).Value(), true)), nil
	})
	addBin("<@", JB, JB, types.Bool, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return types.DBool(jsonContains(jsonOf(b).Value(), jsonOf(a).Value(), true)), nil
	})
	addBin("?", JB, T, types.Bool, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		v, key := jsonOf(a).Value(), str(b)
		switch v.Kind {
		case types.JSONObject:
			_, ok := objectField(v, key)
			return types.DBool(ok), nil
		case types.JSONArray:
			for _, e := range v.Elems {
				if e.Kind == types.JSONString && e.Str == key {
					return types.DBool(true), nil
				}
			}
			return types.DBool(false), nil
		case types.JSONString:
			return types.DBool(v.Str == key), nil
		}
		return types.DBool(false), nil
	})
	addBin("-", JB, T, JB, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		v, key := jsonOf(a).Value(), str(b)
		switch v.Kind {
		case types.JSONObject:
			out := types.JSONValue{Kind: types.JSONObject, Fields: []types.JSONField{}}
			for _, f := range v.Fields {
				if f.Key != key {
					out.Fields = append(out.Fields, f)
				}
			}
			return types.NewDJSONB(out), nil
		case types.JSONArray:
			out := types.JSONValue{Kind: types.JSONArray, Elems: []types.JSONValue{}}
			for _, e := range v.Elems {
				if !(e.Kind == types.JSONString && e.Str == key) {
					out.Elems = append(out.Elems, e)
				}
			}
			return types.NewDJSONB(out), nil
		}
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "cannot delete from scalar")
	})
	addBin("-", JB, I, JB, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		v := jsonOf(a).Value()
		switch v.Kind {
		case types.JSONArray:
			idx := int64(b.(types.DInt))
			n := int64(len(v.Elems))
			if idx < 0 {
				idx += n
			}
			out := types.JSONValue{Kind: types.JSONArray, Elems: []types.JSONValue{}}
			for i, e := range v.Elems {
				if int64(i) != idx {
					out.Elems = append(out.Elems, e)
				}
			}
			return types.NewDJSONB(out), nil
		case types.JSONObject:
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "cannot delete from object using integer index")
		}
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "cannot delete from scalar")
	})
	addBin("||", JB, JB, JB, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return types.NewDJSONB(jsonConcat(jsonOf(a).Value(), jsonOf(b).Value())), nil
	})
}

func jsonArrayLength(d types.Datum) (types.Datum, error) {
	v := jsonOf(d).Value()
	switch v.Kind {
	case types.JSONArray:
		return types.DInt(len(v.Elems)), nil
	case types.JSONObject:
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "cannot get array length of a non-array")
	}
	return nil, sqlerr.New(sqlerr.InvalidParameterValue, "cannot get array length of a scalar")
}

// jsonExtractPath follows a path of keys (array indexes as text).
func jsonExtractPath(v types.JSONValue, path []types.Datum) (types.JSONValue, bool) {
	for _, p := range path {
		if p == types.Null {
			return types.JSONValue{}, false
		}
		k := str(p)
		switch v.Kind {
		case types.JSONObject:
			var ok bool
			if v, ok = objectField(v, k); !ok {
				return v, false
			}
		case types.JSONArray:
			idx, err := strconv.ParseInt(strings.TrimSpace(k), 10, 64)
			if err != nil {
				return v, false
			}
			var ok bool
			if v, ok = arrayElem(v, idx, false); !ok {
				return v, false
			}
		default:
			return v, false
		}
	}
	return v, true
}
