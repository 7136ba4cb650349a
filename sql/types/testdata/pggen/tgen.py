import os
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../..'))
TMP = os.environ.get('PGGEN_TMP', '/tmp/pggen')
os.makedirs(TMP, exist_ok=True)
import random, subprocess, json
random.seed(5)
zones = ['UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Kolkata', 'Australia/Lord_Howe', 'America/St_Johns', 'Pacific/Chatham']
def rts():
    y = random.choice([random.randint(1, 9999), random.randint(1900, 2100), random.randint(1900, 2100)])
    m = random.randint(1, 12); d = random.randint(1, 28 if m == 2 else 30)
    frac = random.choice(['', '.5', '.123456', '.000001'])
    bc = ' BC' if random.random() < 0.03 else ''
    return '%04d-%02d-%02d %02d:%02d:%02d%s%s' % (y, m, d, random.randint(0, 23), random.randint(0, 59), random.randint(0, 59), frac, bc)
def riv():
    parts = []
    if random.random() < 0.5: parts.append('%d mons' % random.randint(-30, 30))
    if random.random() < 0.5: parts.append('%d days' % random.randint(-400, 400))
    if random.random() < 0.7: parts.append('%d:%02d:%02d.%d' % (random.randint(-100, 100), random.randint(0, 59), random.randint(0, 59), random.randint(0, 999999)))
    return ' '.join(parts) or '0'
units = ['microseconds','milliseconds','second','minute','hour','day','week','month','quarter','year','decade','century','millennium']
fields = ['microseconds','milliseconds','second','minute','hour','day','month','quarter','year','decade','century','millennium','dow','isodow','doy','week','isoyear','epoch','julian']
rows = []
for i in range(700):
    rows.append((random.choice(zones), rts(), rts(), riv(), random.choice(units), random.choice(fields)))
exprs = ["a::text", "t::text", "(a + iv)::text", "(t + iv)::text", "(a - iv)::text", "(a - b)::text", "(t - b::timestamptz)::text", "age(a, b)::text", "age(t, b::timestamptz)::text",
         "date_trunc(u, a)::text", "date_trunc(u, t)::text", "extract(%s from a)::text", "extract(%s from t)::text", "date_part(f, a)::text", "(a::date + (length(iv) - 10))::text", "(a::date - b::date)::text",
         "t::date::text", "t::timestamp::text", "a::timestamptz::text", "extract(%s from iv)::text", "date_trunc(u, iv)::text", "(iv * 1.7)::text", "(iv / 3.3)::text", "justify_interval(iv)::text", "to_json(t)::text"]
out = []
for i, (tz, a, b, iv, u, f) in enumerate(rows):
    es = []
    for e in exprs:
        e = e.replace('%s', f)
        es.append("coalesce((%s), 'NULL')" % e)
    qs = ["select %d, %s from (values ('%s'::timestamp, '%s'::timestamp, '%s'::timestamptz, '%s'::interval, '%s'::text, '%s'::text)) v(a, b, t, iv, u, f)" % (i, ', '.join("(select %s)" % x for x in [es[0]]), a, b, a, iv, u, f)]
    out.append(("set timezone='%s'" % tz, i, es, a, b, iv, u, f))
results = {}
for tz in zones:
    sql = ["set timezone='%s';" % tz]
    for (settz, i, es, a, b, iv, u, f) in out:
        if settz != "set timezone='%s'" % tz: continue
        for j, e in enumerate(es):
            sql.append("select %d, %d, %s from (values ('%s'::timestamp, '%s'::timestamp, '%s'::timestamptz, '%s'::interval, '%s'::text, '%s'::text)) v(a, b, t, iv, u, f);" % (i, j, e, a, b, a, iv, u, f))
    p = subprocess.run(['psql','-X','-A','-t','-q','-F','|','-v','ON_ERROR_STOP=0'], input='\n'.join(sql), capture_output=True, text=True)
    for l in p.stdout.splitlines():
        i, j, v = l.split('|', 2)
        results['%s:%s' % (i, j)] = v
json.dump({'rows': rows, 'exprs': exprs, 'results': results}, open(TMP + '/tout.json', 'w'))
print(len(results))
