import os
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../..'))
TMP = os.environ.get('PGGEN_TMP', '/tmp/pggen')
os.makedirs(TMP, exist_ok=True)
import subprocess, json
names = ['int','integer','int2','int4','int8','smallint','bigint','serial','smallserial','bigserial','real','float','float4','float8','double precision','float(24)','float(25)',
 'numeric','numeric(10)','numeric(10,2)','decimal(5,1)','dec','numeric(3,-1)','text','varchar','varchar(10)','character varying(20)','char','char(5)','character(3)','bpchar','bytea','date','timestamp','timestamp(6)','timestamp(0)','timestamp without time zone','timestamp(3) without time zone',
 'timestamptz','timestamp with time zone','timestamptz(2)','timestamp(2) with time zone','interval','interval(3)','uuid','json','jsonb','bool','boolean','oid','name','  INTEGER  ','Character   Varying ( 7 )','DOUBLE  PRECISION','pg_catalog.int4']
cols = ', '.join('c%d %s' % (i, n) for i, n in enumerate(names))
q = "create temp table tn(%s); select attname, atttypid, atttypmod, format_type(atttypid, atttypmod), attlen from pg_attribute where attrelid='tn'::regclass and attnum>0 order by attnum" % cols
p = subprocess.run(['psql','-X','-A','-t','-q','-c',q],capture_output=True,text=True)
assert not p.stderr, p.stderr
rows = [l.split('|') for l in p.stdout.strip().splitlines()]
q2 = lambda s: json.dumps(s)
lines = ['// Code generated from PostgreSQL 15.20 output. DO NOT EDIT.\n\n// Each case is a column declared with the type name in a CREATE TABLE on a\n// real PostgreSQL 15 server, and its pg_attribute atttypid, atttypmod,\n// format_type and attlen.\n\npackage types\n\nvar pgTypeNameCases = []struct {\n\tname   string\n\toid    uint32\n\ttypmod int32\n\tformat string\n\tsize   int16\n}{\n']
for n, r in zip(names, rows):
    lines.append('\t{%s, %s, %s, %s, %s},\n' % (q2(n), r[1], r[2], q2(r[3]), r[4]))
lines.append('}\n')
open(ROOT + '/sql/types/pgtypename_test.go','w').write(''.join(lines))

