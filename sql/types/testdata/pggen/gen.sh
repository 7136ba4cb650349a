#!/bin/sh
# Regenerates the pg*_test.go tables of sql/types and sql/builtins: every
# expected value in them is what a real PostgreSQL 15 server printed (or
# the SQLSTATE it raised). Point libpq's environment variables (PGHOST,
# PGPORT, PGUSER, PGDATABASE) at a throwaway PostgreSQL 15 server with a
# UTF8 database and run this script; random cases use fixed seeds, so the
# tables only change if PostgreSQL's answers do. Needs python3 and psql.
set -e
cd "$(dirname "$0")"
export PGOPTIONS='-c datestyle=ISO,MDY -c intervalstyle=postgres -c extra_float_digits=1 -c bytea_output=hex'
python3 run.py && python3 gengo.py   # text input/output  -> sql/types/pgcases_test.go
python3 bin.py                        # binary send format -> sql/types/pgbinary_test.go
python3 cast.py                       # casts              -> sql/types/pgcast_test.go
python3 tn.py                         # type names         -> sql/types/pgtypename_test.go
python3 brun.py && python3 bgengo.py  # operators, functions, aggregates -> sql/builtins/pgcases_test.go
python3 numgen.py && python3 fgen.py && python3 numemb.py  # random numerics and floats
python3 tgen.py && python3 temb.py    # random date/time arithmetic -> sql/builtins/pgdatetime_test.go
gofmt -w ../../pg*_test.go ../../../builtins/pg*_test.go
