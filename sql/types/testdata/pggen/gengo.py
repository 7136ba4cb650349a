import os
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../..'))
TMP = os.environ.get('PGGEN_TMP', '/tmp/pggen')
os.makedirs(TMP, exist_ok=True)
import json
rows = json.load(open(TMP + '/out.json'))
out = []
out.append('// Code generated from PostgreSQL 15.20 output; DO NOT EDIT by hand.\n')
out.append('// Each case was run on a real PostgreSQL 15 server as\n')
out.append("//\n//\tSET timezone = '<tz>'; SELECT '<input>'::<type>;\n//\n")
out.append('// and records its text output or its SQLSTATE and message.\n\n')
out.append('package types\n\n')
out.append('type pgTextCase struct {\n\ttyp, in, tz string\n\tout        string // when code is empty\n\tcode, msg  string\n}\n\n')
out.append('var pgTextCases = []pgTextCase{\n')
for t, inp, tz, res, code, msg in rows:
    q = lambda s: json.dumps(s, ensure_ascii=False)
    if code:
        out.append('\t{typ: %s, in: %s, tz: %s, code: %s, msg: %s},\n' % (q(t), q(inp), q(tz), q(code), q(msg)))
    else:
        out.append('\t{typ: %s, in: %s, tz: %s, out: %s},\n' % (q(t), q(inp), q(tz), q(res)))
out.append('}\n')
open(ROOT + '/sql/types/pgcases_test.go','w').write(''.join(out))
