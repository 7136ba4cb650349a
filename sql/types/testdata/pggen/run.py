import os
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../..'))
TMP = os.environ.get('PGGEN_TMP', '/tmp/pggen')
os.makedirs(TMP, exist_ok=True)
import subprocess, json, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cases import cases
out = []
for t, inp, tz in cases:
    lit = inp.replace("'", "''")
    q = "set timezone='%s'; select '%s'::%s" % (tz, lit, t)
    p = subprocess.run(['psql','-X','-A','-t','-q','-v','VERBOSITY=verbose','-c',q], capture_output=True, text=True)
    if p.returncode != 0 or 'ERROR' in p.stderr:
        line = [l for l in p.stderr.splitlines() if l.startswith('ERROR:')][0]
        code = line.split()[1].rstrip(':')
        msg = line.split(': ',2)[2] if line.count(': ')>=2 else ''
        out.append((t, inp, tz, None, code, msg))
    else:
        res = p.stdout
        if res.endswith('\n'): res = res[:-1]
        out.append((t, inp, tz, res, None, None))
json.dump(out, open(TMP + '/out.json','w'), ensure_ascii=False, indent=0)
print(len(out))
