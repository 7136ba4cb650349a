import os
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../..'))
TMP = os.environ.get('PGGEN_TMP', '/tmp/pggen')
os.makedirs(TMP, exist_ok=True)
import subprocess, json
cases = [
 ('bool','t'),('bool','f'),('int2','-2'),('int2','32767'),('int4','-2147483648'),('int4','42'),('int8','-1'),('int8','9223372036854775807'),
 ('float4','1.5'),('float4','-0.1'),('float4','NaN'),('float4','-Infinity'),('float8','0.1'),('float8','-0'),('float8','1e300'),('float8','Infinity'),
 ('numeric','0'),('numeric','0.00'),('numeric','1.50'),('numeric','-1.50'),('numeric','12345.6789'),('numeric','1e20'),('numeric','0.000012345'),('numeric','NaN'),('numeric','Infinity'),('numeric','-Infinity'),
 ('numeric','123456789012345678901234567890.123456789'),('numeric','10000'),('numeric','9999.9999'),('numeric','-0.0001'),('numeric','100000000'),('numeric','0.1'),('numeric','1e-20'),
 ('text','héllo'),('text',''),('varchar','abc'),('bpchar','ab  '),('name','pg_class'),('bytea','\\x00ff10'),('bytea','\\x'),
 ('date','2024-01-31'),('date','2000-01-01'),('date','1999-12-31'),('date','infinity'),('date','-infinity'),('date','4714-11-24 BC'),
 ('timestamp','2024-01-31 12:34:56.789'),('timestamp','2000-01-01'),('timestamp','1970-01-01'),('timestamp','infinity'),('timestamp','-infinity'),('timestamp','0001-01-01 BC'),
 ('timestamptz','2024-01-31 12:34:56.789+02'),('timestamptz','infinity'),
 ('interval','1 year 2 mons 3 days 04:05:06.5'),('interval','-1 day +02:00:00'),('interval','0'),
 ('uuid','a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),('json','{"b":1,  "a":2}'),('jsonb','{"b":1,  "a":[1,2.50]}'),('oid','4294967295'),('oid','0'),
]
out=[]
for t,v in cases:
    lit="'"+v.replace("'","''")+"'::"+t
    fnn = {'bool':'boolsend','varchar':'varcharsend','bpchar':'bpcharsend','name':'namesend','bytea':'byteasend','text':'textsend','timestamp':'timestamp_send','timestamptz':'timestamptz_send','interval':'interval_send','uuid':'uuid_send','json':'json_send','jsonb':'jsonb_send','date':'date_send','numeric':'numeric_send','oid':'oidsend'}.get(t, t+'send')
    q="select encode(%s(%s),'hex')" % (fnn, lit)
    _unused = ({'int2':'int2','int4':'int4','int8':'int8','float4':'float4','float8':'float8','bool':'bool','numeric':'numeric','text':'text','varchar':'varchar','bpchar':'bpchar','name':'name','bytea':'bytea','date':'date','timestamp':'timestamp','timestamptz':'timestamptz','interval':'interval','uuid':'uuid','json':'json','jsonb':'jsonb','oid':'oid'}[t].replace('bool','bool'), lit)
    p=subprocess.run(['psql','-X','-A','-t','-q','-c',q],capture_output=True,text=True)
    assert p.returncode==0 and not p.stderr, (q,p.stderr)
    out.append((t,v,p.stdout.strip().replace('\n','')))
q=lambda s: json.dumps(s, ensure_ascii=False)
lines=['// Code generated from PostgreSQL 15.20 output. DO NOT EDIT.\n\n// Each case is the hex of <type>_send(\'<text>\'::<type>) on a real\n// PostgreSQL 15 server: the binary wire format.\n\npackage types\n\nvar pgBinaryCases = []struct{ typ, text, hex string }{\n']
for t,v,h in out:
    lines.append('\t{%s, %s, %s},\n' % (q(t),q(v),q(h)))
lines.append('}\n')
open(ROOT + '/sql/types/pgbinary_test.go','w').write(''.join(lines))
print(len(out))
