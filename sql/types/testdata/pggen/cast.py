import os
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../..'))
TMP = os.environ.get('PGGEN_TMP', '/tmp/pggen')
os.makedirs(TMP, exist_ok=True)
import subprocess, json
C = []
def c(frm, v, to, tz='UTC'): C.append((frm, v, to, tz))
for v in ['2.5','3.5','-2.5','1e10','NaN','Infinity','-0.5','2147483647.4','2147483647.5']: c('float8', v, 'int4')
for v in ['2.5','-2.5','1e10','NaN','Infinity','0.49999']: c('numeric', v, 'int4')
c('numeric','32767.5','int2'); c('numeric','9223372036854775807.4','int8'); c('numeric','9223372036854775807.5','int8')
for v in ['0.30000000000000004','1e20','123456789.123456789','NaN','Infinity','-Infinity','1e-5','123456789012345680000','0.1']: c('float8', v, 'numeric')
for v in ['0.1','2.5','16777217','1e-5']: c('float4', v, 'numeric')
for v in ['0.1','1e400','1e-400','NaN','-Infinity','123456789012345678901234567890']: c('numeric', v, 'float8')
for v in ['1e10','1e-50','1e39','0.1','NaN']: c('float8', v, 'float4')
c('float4','0.1','float8'); c('float4','0.1','text'); c('float8','0.1','float4')
c('int8','4294967296','int4'); c('int8','-1','int2'); c('int4','16777217','float4'); c('int8','9007199254740993','float8'); c('int4','1','numeric(5,2)'); c('int4','1000','numeric(5,2)')
c('numeric','123.456','numeric(5,2)'); c('numeric','1234.5','numeric(5,2)'); c('numeric','1','numeric(2,2)'); c('numeric','0.5','numeric(1,0)'); c('numeric','Infinity','numeric(3,1)')
c('int4','1','bool'); c('int4','0','bool'); c('int4','-5','bool'); c('bool','true','int4'); c('bool','f','int4')
c('bool','t','text'); c('bool','f','varchar'); c('int4','123','varchar(2)'); c('text','abcd','varchar(2)'); c('text','ab','char(4)'); c('text','abcdef','char(3)'); c('bpchar','ab  ','text'); c('char(4)','ab','varchar'); c('char(4)','ab','name')
c('text','héllo','varchar(2)'); c('text','a','bpchar'); c('text','abc','char')
c('numeric','1.50','text'); c('float8','1e20','text'); c('date','2024-01-31','text'); c('interval','1 day','text'); c('bytea','\\x0102','text'); c('uuid','a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11','text'); c('jsonb','{"b":1, "a":2}','text'); c('json','{"b":1, "a":2}','text')
c('text',' 42 ','int4'); c('text','abc','int4'); c('text','t','bool'); c('text','2024-01-31','date'); c('text','1 day','interval'); c('text','{"a":1}','jsonb'); c('text','\\x01','bytea'); c('text','1.5','numeric(3,2)')
c('date','2024-01-31','timestamp'); c('date','2024-01-31','timestamptz', 'Europe/Berlin'); c('timestamp','2024-01-31 12:00','date'); c('timestamptz','2024-01-31 23:30+00','date','Europe/Berlin')
c('timestamp','2024-01-31 12:00','timestamptz','Europe/Berlin'); c('timestamptz','2024-01-31 12:00+00','timestamp','Europe/Berlin'); c('timestamp','2024-03-31 02:30','timestamptz','Europe/Berlin'); c('date','infinity','timestamp'); c('timestamp','-infinity','date')
c('timestamp','2024-01-31 12:34:56.789','timestamp(0)'); c('timestamp','2024-01-31 12:34:56.5','timestamp(0)'); c('timestamptz','2024-01-31 12:34:56.789+00','timestamptz(2)'); c('interval','1 day 00:00:01.555','interval(1)'); c('date','5874897-12-31','timestamp')
c('json','{"b":1, "a":2}','jsonb'); c('jsonb','{"b":1, "a":2}','json'); c('json','"\\u0000"','jsonb'); c('jsonb','1','int4'); c('jsonb','1.5','numeric'); c('jsonb','true','bool'); c('jsonb','1.5','int4'); c('jsonb','"a"','int4'); c('jsonb','null','int4'); c('jsonb','[1]','bool'); c('jsonb','{}','numeric'); c('jsonb','1e3','float8')
c('int4','1','oid'); c('int4','-1','oid'); c('int8','4294967296','oid'); c('oid','4294967295','int4'); c('oid','4294967295','int8')
c('int8','1','bool'); c('date','2024-01-01','int4'); c('uuid','a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11','bytea'); c('bool','t','numeric'); c('int4','1','date'); c('interval','1 day','timestamp')
out=[]
for frm, v, to, tz in C:
    lit = "'" + v.replace("'", "''") + "'::" + frm
    q = "select (%s)::%s" % (lit, to)
    p = subprocess.run(['psql','-X','-A','-t','-q','-v','VERBOSITY=verbose','-c',"set timezone='%s'" % tz,'-c',q],capture_output=True,text=True)
    if 'ERROR:' in p.stderr:
        line=[l for l in p.stderr.splitlines() if l.startswith('ERROR:')][0]
        parts=line.split(': ',2)
        out.append((frm,v,to,tz,None,parts[1].strip(),parts[2]))
    else:
        o=p.stdout
        if o.endswith('\n'): o=o[:-1]
        out.append((frm,v,to,tz,o,None,None))
q=lambda s: json.dumps(s, ensure_ascii=False)
lines=['// Code generated from PostgreSQL 15.20 output. DO NOT EDIT.\n\n// Each case is an explicit cast SELECT (\'<in>\'::<from>)::<to> run on a\n// real PostgreSQL 15 server in the given TimeZone.\n\npackage types\n\nvar pgCastCases = []struct{ from, in, to, tz, out, code, msg string }{\n']
for frm,v,to,tz,o,code,msg in out:
    lines.append('\t{%s, %s, %s, %s, %s, %s, %s},\n' % (q(frm),q(v),q(to),q(tz),q(o or ''),q(code or ''),q(msg or '')))
lines.append('}\n')
open(ROOT + '/sql/types/pgcast_test.go','w').write(''.join(lines))

