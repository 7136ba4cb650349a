import os
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../..'))
TMP = os.environ.get('PGGEN_TMP', '/tmp/pggen')
os.makedirs(TMP, exist_ok=True)
import random, struct, subprocess, json
random.seed(11)
vals8, vals4 = [], []
for i in range(4000):
    r = random.random()
    if r < 0.4:
        bits = random.getrandbits(64)
        x = struct.unpack('<d', struct.pack('<Q', bits))[0]
    elif r < 0.7:
        x = random.uniform(-1, 1) * 10 ** random.randint(-30, 30)
    else:
        x = float(random.randint(-10**18, 10**18)) * 10 ** random.randint(-5, 10)
    if x != x or x in (float('inf'), float('-inf')): continue
    vals8.append(repr(x))
    b4 = random.getrandbits(32)
    y = struct.unpack('<f', struct.pack('<I', b4))[0]
    if y != y or y in (float('inf'), float('-inf')): continue
    vals4.append(repr(y))
sql = "select v, v::float8::text from unnest(array[%s]::text[]) v;" % ','.join("'%s'" % v for v in vals8)
sql4 = "select v, v::float4::text from unnest(array[%s]::text[]) v;" % ','.join("'%s'" % v for v in vals4)
out = {}
for name, q in (('f8', sql), ('f4', sql4)):
    p = subprocess.run(['psql','-X','-A','-t','-q','-F','|','-c',q], capture_output=True, text=True)
    assert not p.stderr, p.stderr[:500]
    out[name] = [l.split('|') for l in p.stdout.splitlines()]
json.dump(out, open(TMP + '/fout.json','w'))
print(len(out['f8']), len(out['f4']))
