// Code generated from PostgreSQL 15.20 output. DO NOT EDIT.

// Each case is a column declared with the type name in a CREATE TABLE on a
// real PostgreSQL 15 server, and its pg_attribute atttypid, atttypmod,
// format_type and attlen.

package types

var pgTypeNameCases = []struct {
	name   string
	oid    uint32
	typmod int32
	format string
	size   int16
}{
	{"int", 23, -1, "integer", 4},
	{"integer", 23, -1, "integer", 4},
	{"int2", 21, -1, "smallint", 2},
	{"int4", 23, -1, "integer", 4},
	{"int8", 20, -1, "bigint", 8},
	{"smallint", 21, -1, "smallint", 2},
	{"bigint", 20, -1, "bigint", 8},
	{"serial", 23, -1, "integer", 4},
	{"smallserial", 21, -1, "smallint", 2},
	{"bigserial", 20, -1, "bigint", 8},
	{"real", 700, -1, "real", 4},
	{"float", 701, -1, "double precision", 8},
	{"float4", 700, -1, "real", 4},
	{"float8", 701, -1, "double precision", 8},
	{"double precision", 701, -1, "double precision", 8},
	{"float(24)", 700, -1, "real", 4},
	{"float(25)", 701, -1, "double precision", 8},
	{"numeric", 1700, -1, "numeric", -1},
	{"numeric(10)", 1700, 655364, "numeric(10,0)", -1},
	{"numeric(10,2)", 1700, 655366, "numeric(10,2)", -1},
	{"decimal(5,1)", 1700, 327685, "numeric(5,1)", -1},
	{"dec", 1700, -1, "numeric", -1},
	{"numeric(3,-1)", 1700, 198659, "numeric(3,-1)", -1},
	{"text", 25, -1, "text", -1},
	{"varchar", 1043, -1, "character varying", -1},
	{"varchar(10)", 1043, 14, "character varying(10)", -1},
	{"character varying(20)", 1043, 24, "character varying(20)", -1},
	{"char", 1042, 5, "character(1)", -1},
	{"char(5)", 1042, 9, "character(5)", -1},
	{"character(3)", 1042, 7, "character(3)", -1},
	{"bpchar", 1042, -1, "bpchar", -1},
	{"bytea", 17, -1, "bytea", -1},
	{"date", 1082, -1, "date", 4},
	{"timestamp", 1114, -1, "timestamp without time zone", 8},
	{"timestamp(6)", 1114, 6, "timestamp(6) without time zone", 8},
	{"timestamp(0)", 1114, 0, "timestamp(0) without time zone", 8},
	{"timestamp without time zone", 1114, -1, "timestamp without time zone", 8},
	{"timestamp(3) without time zone", 1114, 3, "timestamp(3) without time zone", 8},
	{"timestamptz", 1184, -1, "timestamp with time zone", 8},
	{"timestamp with time zone", 1184, -1, "timestamp with time zone", 8},
	{"timestamptz(2)", 1184, 2, "timestamp(2) with time zone", 8},
	{"timestamp(2) with time zone", 1184, 2, "timestamp(2) with time zone", 8},
	{"interval", 1186, -1, "interval", 16},
	{"interval(3)", 1186, 2147418115, "interval(3)", 16},
	{"uuid", 2950, -1, "uuid", 16},
	{"json", 114, -1, "json", -1},
	{"jsonb", 3802, -1, "jsonb", -1},
	{"bool", 16, -1, "boolean", 1},
	{"boolean", 16, -1, "boolean", 1},
	{"oid", 26, -1, "oid", 4},
	{"name", 19, -1, "name", 64},
	{"  INTEGER  ", 23, -1, "integer", 4},
	{"Character   Varying ( 7 )", 1043, 11, "character varying(7)", -1},
	{"DOUBLE  PRECISION", 701, -1, "double precision", 8},
	{"pg_catalog.int4", 23, -1, "integer", 4},
}
