import os
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../..'))
TMP = os.environ.get('PGGEN_TMP', '/tmp/pggen')
os.makedirs(TMP, exist_ok=True)
import subprocess, json, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bcases import cases
def lit(tv):
    typ, v = tv
    if v is None:
        return 'NULL::%s' % typ if typ != 'unknown' else 'NULL'
    s = "'" + v.replace("'", "''") + "'"
    if typ == 'unknown':
        return s
    return '%s::%s' % (s, typ)
def run(q, tz):
    p = subprocess.run(['psql','-X','-A','-t','-q','-v','VERBOSITY=verbose','-c',"set timezone='%s'" % tz,'-c',q], capture_output=True, text=True)
    if 'ERROR:' in p.stderr:
        lines = p.stderr.splitlines()
        line = [l for l in lines if l.startswith('ERROR:')][0]
        parts = line.split(': ', 2)
        return None, parts[1].strip(), parts[2] if len(parts) > 2 else ''
    out = p.stdout
    if out.endswith('\n'): out = out[:-1]
    return out, None, None
out = []
for kind, name, args, tz in cases:
    if kind == 'op':
        e = '(%s) %s (%s)' % (lit(args[0]), name, lit(args[1]))
    elif kind == 'uop':
        e = '%s (%s)' % (name, lit(args[0]))
    elif kind == 'fn' and name == 'extract':
        e = 'extract(%s from %s)' % (args[0][1], lit(args[1]))
    elif kind == 'fn' and name == 'position':
        e = 'position(%s in %s)' % (lit(args[1]), lit(args[0]))
    elif kind == 'fn':
        e = '%s(%s)' % (name, ', '.join(lit(a) for a in args))
    if kind == 'agg':
        extra = None
        rows = args
        if name == 'string_agg':
            extra = rows[-1][1]; rows = rows[:-1]
        typ = rows[0][0]
        vals = ', '.join('(%s)' % lit(r) for r in rows)
        call = '%s(x%s)' % (name, ", '%s'" % extra if extra is not None else '')
        q = 'select %s, pg_typeof(%s) from (values %s) v(x)' % (call, call, vals)
    else:
        q = 'select %s, pg_typeof(%s)' % (e, e)
    res, code, msg = run(q, tz)
    typ = None
    if res is not None:
        res, typ = res.rsplit('|', 1)
        if res == '' :
            # distinguish NULL from empty string
            r2, _, _ = run(('select (%s) is null' % (e if kind != 'agg' else None)) if kind != 'agg' else 'select %s is null from (values %s) v(x)' % (call, vals), tz)
            if r2 == 't': res = None
    out.append({'kind': kind, 'name': name, 'args': args, 'tz': tz, 'out': res, 'type': typ, 'code': code, 'msg': msg})
json.dump(out, open(TMP + '/bout.json', 'w'), ensure_ascii=False, indent=0)
print(len(out))
