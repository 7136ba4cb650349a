import os
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../..'))
TMP = os.environ.get('PGGEN_TMP', '/tmp/pggen')
os.makedirs(TMP, exist_ok=True)
import random, subprocess, json
random.seed(7)
def rnd():
    k = random.random()
    digits = ''.join(random.choice('0123456789') for _ in range(random.randint(1, 25)))
    digits = digits.lstrip('0') or '0'
    if random.random() < 0.5:
        pos = random.randint(0, len(digits))
        s = digits[:pos] + '.' + digits[pos:]
        if s.startswith('.'): s = '0' + s
        if s.endswith('.'): s = s + '0'
    else:
        s = digits
    if random.random() < 0.3:
        s = '0.' + '0'*random.randint(0,10) + digits
    if random.random() < 0.4: s = '-' + s
    return s
rows = []
for i in range(1500):
    a, b = rnd(), rnd()
    rows.append((a, b))
exprs = ['a/b', 'a*b', 'a+b', 'a-b', 'mod(a,b)', 'sqrt(abs(a))', 'ln(abs(a)+1)', 'exp(a/(abs(a)+1)*20)', 'power(abs(a)+0.5, b/(abs(b)+1)*3)', 'power(a, (length(b::text)%7)-3)', 'log(abs(a)+2)', 'log(abs(a)+2, abs(b)+3)', 'round(a, (length(b::text)%9)-4)', 'trunc(a, (length(b::text)%9)-4)', 'div(a,b)', 'a::float8::text', 'a::float8::numeric']
out = []
for i, (a, b) in enumerate(rows):
    q = "select %d, %s from (values ('%s'::numeric, '%s'::numeric)) v(a,b)" % (i, ', '.join("coalesce((%s)::text, 'NULL')" % e for e in exprs), a, b)
    out.append(q)
# run in one psql session, each query on its own line with error tolerance
sql = '\n'.join(q + ';' for q in out)
p = subprocess.run(['psql','-X','-A','-t','-q','-F','|','-v','ON_ERROR_STOP=0'], input=sql, capture_output=True, text=True)
lines = p.stdout.splitlines()
errs = p.stderr.splitlines()
print(len(lines), len(errs))
json.dump({'rows': rows, 'exprs': exprs, 'lines': lines}, open(TMP + '/numout.json','w'))
