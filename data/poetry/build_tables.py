#!/usr/bin/env python3
"""Builds data/poetry/chars.tsv, the prosody table `lyra poem` reads (docs/poetry.md, "Prosody data").

Sources (all installed by scripts/setup.sh; nothing is downloaded):
  - Debian unicode-data: /usr/share/unicode/Unihan_Readings.txt.bz2 (kMandarin, kHanyuPinyin,
    kTang Middle-Chinese readings, kCantonese) -- modern readings and the entering tone (入声):
    a kTang reading ending in -p/-t/-k or a Cantonese reading ending in p/t/k marks 入声.
  - Debian golang-github-mozillazg-go-pinyin-dev: pinyin_dict.go -- more modern readings (多音字).
  - npm chinese-poetry: dist/quantangshi/poet.*.json with dist/strains/json/*.json -- the 平/仄
    the corpus editors marked on every character of ~300k regulated-verse lines, and the
    rhyme characters of Tang regulated poems, from which the 平水韵 平声 groups are learned by
    label propagation from the 30 group-name characters (东 冬 江 支 ...).
  - OpenCC (opencc -c t2s): Traditional -> Simplified, so variants share one entry.

Output columns (tab separated, one simplified character a line):
  char  readings(pinyin+tone digit, comma)  pz(P=平 only, Z=仄 only, B=both)  pingshui(平声 groups, comma; '-' none)
  xinyun(group number 1..14 + P/Z per reading, comma)
Run: python3 data/poetry/build_tables.py [repo_root]
"""
import bz2, collections, glob, json, os, re, subprocess, sys, unicodedata

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
dist = os.path.join(root, 'node_modules', 'chinese-poetry', 'dist')

def is_han(c):
    o = ord(c)
    return 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF

TONEMARKS = {'ā':('a',1),'á':('a',2),'ǎ':('a',3),'à':('a',4),'ē':('e',1),'é':('e',2),'ě':('e',3),'è':('e',4),
 'ī':('i',1),'í':('i',2),'ǐ':('i',3),'ì':('i',4),'ō':('o',1),'ó':('o',2),'ǒ':('o',3),'ò':('o',4),
 'ū':('u',1),'ú':('u',2),'ǔ':('u',3),'ù':('u',4),'ǖ':('v',1),'ǘ':('v',2),'ǚ':('v',3),'ǜ':('v',4),'ü':('v',0),
 'ń':('n',2),'ň':('n',3),'ǹ':('n',4),'ḿ':('m',2),'ê':('e',0),'ế':('e',2),'ề':('e',4)}

def numeric(p):
    tone, out = 5, ''
    for ch in p:
        if ch in TONEMARKS:
            b, t = TONEMARKS[ch]
            out += b
            if t: tone = t
        else:
            out += ch
    out = re.sub(r'[^a-z]', '', out.lower())
    return (out + str(tone)) if out else None

# --- modern readings -------------------------------------------------------------------------
readings = collections.defaultdict(list)
entering = set()
def add(c, p):
    n = numeric(p)
    if n and n not in readings[c]: readings[c].append(n)
with bz2.open('/usr/share/unicode/Unihan_Readings.txt.bz2', 'rt', encoding='utf-8') as f:
    for line in f:
        if line.startswith('#') or not line.strip(): continue
        cp, field, val = line.rstrip('\n').split('\t')
        c = chr(int(cp[2:], 16))
        if field == 'kMandarin':
            for p in val.split(): add(c, p)
        elif field == 'kHanyuPinyin':
            for part in val.split():
                for p in part.split(':')[1].split(','): add(c, p)
        elif field == 'kTang':
            for p in val.split():
                if p.lstrip('*').rstrip()[-1:] in ('p', 't', 'k'): entering.add(c)
        elif field == 'kCantonese':
            for p in val.split():
                if re.sub(r'\d', '', p)[-1:] in ('p', 't', 'k'): entering.add(c)
gp = '/usr/share/gocode/src/github.com/mozillazg/go-pinyin/pinyin_dict.go'
for m in re.finditer(r'0x([0-9A-F]+): "([^"]*)"', open(gp, encoding='utf-8').read()):
    c = chr(int(m.group(1), 16))
    for p in m.group(2).split(','): add(c, p)

# --- corpus: 平/仄 marks and rhyme characters --------------------------------------------------
pz_count = collections.defaultdict(lambda: [0, 0])
rhyme_sets = []   # list of lists of rhyme chars (traditional) per regulated poem
for sf in sorted(glob.glob(os.path.join(dist, 'strains', 'json', '*.json'))):
    pf = os.path.join(dist, 'quantangshi', os.path.basename(sf))
    if not os.path.exists(pf): continue
    strains = {s['id']: s['strains'] for s in json.load(open(sf, encoding='utf-8'))}
    for poem in json.load(open(pf, encoding='utf-8')):
        st = strains.get(poem.get('id'))
        if not st: continue
        text = ''.join(poem['paragraphs']); marks = ''.join(st)
        tc = [c for c in text if is_han(c)]; mc = [c for c in marks if c in '平仄']
        if len(tc) != len(mc) or not tc: continue
        for c, m in zip(tc, mc): pz_count[c][0 if m == '平' else 1] += 1
        # rhyme characters of a Tang regulated poem: 4 or 8 lines of 5 or 7, even lines 平
        if 'tang' not in sf: continue
        lines = [l for l in re.split(r'[，。？！；]', text) if l]
        if len(lines) not in (4, 8) or len({len(l) for l in lines}) != 1 or len(lines[0]) not in (5, 7): continue
        if not all(is_han(c) for l in lines for c in l): continue
        ends = [l[-1] for i, l in enumerate(lines) if i % 2 == 1]
        lm = [l for l in re.split(r'[，。？！；]', marks) if l]
        if len(lm) != len(lines) or any(lm[i][-1] != '平' for i in range(1, len(lines), 2)): continue
        if lm[0][-1] == '平': ends.append(lines[0][-1])
        rhyme_sets.append(ends)

# --- traditional -> simplified -----------------------------------------------------------------
allchars = sorted(set(pz_count) | {c for s in rhyme_sets for c in s})
out = subprocess.run(['opencc', '-c', 't2s'], input='\n'.join(allchars), capture_output=True, text=True, check=True).stdout.split('\n')
t2s = {t: (s if len(s) == 1 else t) for t, s in zip(allchars, out)}

pz_s = collections.defaultdict(lambda: [0, 0])
for c, (p, z) in pz_count.items():
    s = t2s[c]; pz_s[s][0] += p; pz_s[s][1] += z
    if c in entering: entering.add(s)
    for r in readings.get(c, []):
        if r not in readings[s]: readings[s].append(r)

# --- 平水韵 平声 groups by label propagation -----------------------------------------------------
# Seeds: each group's name character and a few of its best-known members (the 平水韵 itself);
# every other rhyme character takes the groups it rhymes with across the corpus (harmonic label
# propagation: a character's group weights are the average of its co-rhymes', seeds clamped).
SEEDS = {
 '东': '东风中空红同功弓宫', '冬': '冬钟龙松峰重浓容踪', '江': '江窗双降邦缸', '支': '支时诗思丝枝池知期迟',
 '微': '微归飞衣扉稀依违晖', '鱼': '鱼书居余初如疏虚', '虞': '虞无湖图孤途珠夫须', '齐': '齐西啼题低溪迷泥',
 '佳': '佳怀街斋钗排柴', '灰': '灰来开回台杯哀埃', '真': '真人春尘新身亲邻', '文': '文云君闻群分纷',
 '元': '元门村言园魂痕昏', '寒': '寒看安难残干欢官', '删': '删山间闲还关颜湾', '先': '先年天前烟边田眠',
 '萧': '萧朝遥桥消霄腰条', '肴': '肴交茅巢梢抛', '豪': '豪高毛曹涛劳袍', '歌': '歌多何河过波罗',
 '麻': '麻家花涯沙霞斜车', '阳': '阳长香霜乡光堂黄', '庚': '庚明生声城情平', '青': '青星庭亭经听灵形',
 '蒸': '蒸灯僧能层冰登凭', '尤': '尤秋流楼愁舟头游', '侵': '侵心林深金音阴吟', '覃': '覃南潭含谈参',
 '盐': '盐帘檐纤添尖', '咸': '咸衫岩杉凡'}
GROUPS = ''.join(SEEDS)
sets = [[t2s[c] for c in s] for s in rhyme_sets]
co = collections.defaultdict(collections.Counter)
for s in sets:
    for a in s:
        for b in s:
            if a != b: co[a][b] += 1
seed_of = {}
for g, cs in SEEDS.items():
    for c in cs: seed_of[c] = g
label = {c: {g: 1.0} for c, g in seed_of.items()}
for it in range(30):
    new = dict((c, label[c]) for c in seed_of)
    for c, nb in co.items():
        if c in seed_of: continue
        acc = collections.Counter(); tot = 0
        for b, n in nb.items():
            if b in label:
                for g, w in label[b].items(): acc[g] += n * w
                tot += n
        if tot: new[c] = {g: w / tot for g, w in acc.items()}
    label = new
pingshui = {}
for c, dist_ in label.items():
    if c in seed_of:
        pingshui[c] = [seed_of[c]]; continue
    if sum(co[c].values()) < 2: continue   # a single co-rhyme is too little evidence
    best = sorted(dist_.items(), key=lambda kv: -kv[1])
    # A second (third) group needs 15% of the weight: 多音字 such as 行 (阳 háng / 庚 xíng).
    pingshui[c] = [g for g, w in best if w >= 0.15][:3] or [best[0][0]]

# --- 中华新韵 groups ----------------------------------------------------------------------------
def xinyun(r):
    tone = int(r[-1]); s = r[:-1]
    m = re.match(r'^(zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw]?)(.*)$', s)
    ini, fin = m.group(1), m.group(2)
    if ini == 'y':
        fin = {'u': 'v', 'ue': 've', 'uan': 'van', 'un': 'vn', 'i': 'i', 'in': 'in', 'ing': 'ing'}.get(fin, fin if fin.startswith('i') else 'i' + fin)
    elif ini == 'w':
        fin = 'u' if fin == 'u' else 'u' + fin
    elif ini in ('j', 'q', 'x') and fin.startswith('u'):
        fin = 'v' + fin[1:]
    if fin in ('ui',): fin = 'uei'
    if fin in ('iu',): fin = 'iou'
    if fin in ('un',) and ini not in ('j','q','x','y'): fin = 'uen'
    table = [(1, 'a ia ua'), (2, 'o e uo io'), (3, 'ie ve ue'), (4, 'ai uai'), (5, 'ei uei'), (6, 'ao iao'),
             (7, 'ou iou'), (8, 'an ian uan van'), (9, 'en in uen vn'), (10, 'ang iang uang'),
             (11, 'eng ing ong iong ueng'), (12, 'i er v'), (14, 'u')]
    if fin == 'i' and ini in ('zh', 'ch', 'sh', 'r', 'z', 'c', 's'): g = 13
    else:
        g = next((n for n, fs in table if fin in fs.split()), None)
    if g is None: return None
    return '%d%s' % (g, 'P' if tone in (1, 2) else 'Z') if tone != 5 else None

rows = []
simp = set(pz_s) | set(pingshui)
for c in sorted(simp):
    if not is_han(c): continue
    rs = readings.get(c, [])
    p, z = pz_s[c]
    # A 多音字 whose (first three) modern readings take both tones counts as both once the corpus
    # marks each tone at least once (为 wéi/wèi, 任, 传, 将, 看 ...).
    mixed = bool({int(r[-1]) for r in rs[:3]} & {1, 2}) and bool({int(r[-1]) for r in rs[:3]} & {3, 4})
    if mixed and p + z >= 3 and min(p, z) > 0: pz = 'B'
    elif p + z >= 3 and p >= 0.85 * (p + z): pz = 'P'
    elif p + z >= 3 and z >= 0.85 * (p + z): pz = 'Z'
    elif p + z >= 3: pz = 'B'
    else:
        tones = {int(r[-1]) for r in rs}
        if c in entering and not (tones & {1, 2}) : pz = 'Z'
        elif c in entering: pz = 'Z' if not rs else ('B' if tones & {1, 2} and len(rs) > 1 else 'Z')
        elif tones and tones <= {1, 2}: pz = 'P'
        elif tones and not (tones & {1, 2}): pz = 'Z'
        elif tones: pz = 'B'
        else: continue
    xs = []
    for r in rs:
        x = xinyun(r)
        if x and x not in xs: xs.append(x)
    if not xs: continue
    ps = pingshui.get(c, []) if pz in 'PB' else []
    rows.append('%s\t%s\t%s\t%s\t%s' % (c, ','.join(rs), pz, ','.join(ps) or '-', ','.join(xs)))
with open(os.path.join(root, 'data', 'poetry', 'chars.tsv'), 'w', encoding='utf-8') as f:
    f.write('# built by data/poetry/build_tables.py; see docs/poetry.md. char readings pz pingshui xinyun\n')
    f.write('\n'.join(rows) + '\n')
print('chars', len(rows), 'with pingshui group', sum(1 for r in rows if r.split('\t')[3] != '-'),
      'regulated poems', len(rhyme_sets), file=sys.stderr)

# --- embed the tables in the binary (src/art/poetry/tables.inc) ---------------------------------
# String literals stay under 60 KB each (-Woverlength-strings); the program joins them.
def chunks(text, size=60000):
    out, cur = [], ''
    for line in text.splitlines(True):
        if len(cur.encode('utf-8')) + len(line.encode('utf-8')) > size:
            out.append(cur); cur = ''
        cur += line
    if cur: out.append(cur)
    return out
def literal(s):
    return 'R"LYRA(' + s + ')LYRA"'
chars_text = open(os.path.join(root, 'data', 'poetry', 'chars.tsv'), encoding='utf-8').read()
ci_dir = os.path.join(root, 'data', 'poetry', 'ci')
ci_files = sorted(f for f in os.listdir(ci_dir) if f.endswith('.txt'))
with open(os.path.join(root, 'src', 'art', 'poetry', 'tables.inc'), 'w', encoding='utf-8') as f:
    f.write('// Generated by data/poetry/build_tables.py from data/poetry/chars.tsv and data/poetry/ci/*.txt;\n// do not edit by hand.\n')
    f.write('static const char* const kCharsTsv[] = {\n')
    for c in chunks(chars_text): f.write(literal(c) + ',\n')
    f.write('};\n')
    f.write('static const char* const kCiFiles[][2] = {\n')
    for name in ci_files:
        f.write('{' + literal(name[:-4]) + ', ' + literal(open(os.path.join(ci_dir, name), encoding='utf-8').read()) + '},\n')
    f.write('};\n')
