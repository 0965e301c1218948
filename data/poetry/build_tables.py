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
    label propagation from the 30 group-name characters (东 冬 江 支 ...); and the 仄 rhymes of
    all of dist/quantangshi and dist/songci, from which the 76 仄声 groups (上 去 入) are taken:
    from the kTang Middle-Chinese rhymes where they are mapped, else from a character's co-rhymes
    with those kTang-placed characters when they single one group out (classify), else none. 平
    characters regulated verse rhymes too rarely are placed the same way.
  - OpenCC (opencc -c t2s): Traditional -> Simplified, so variants share one entry.

Output columns (tab separated, one simplified character a line):
  char  readings(pinyin+tone digit, comma)  pz(P=平 only, Z=仄 only, B=both)  pingshui(平声 groups, comma; '-' none)
  xinyun(group number 1..14 + P/Z per reading, comma)  pingshui_ze(仄声 groups 董..洽, comma; '-' none)
Run: python3 data/poetry/build_tables.py [repo_root]
"""
import bz2, collections, glob, json, math, os, re, subprocess, sys, unicodedata

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
dist = os.path.join(root, 'node_modules', 'chinese-poetry', 'dist')
if not glob.glob(os.path.join(dist, 'strains', 'json', '*.json')):
    # Without the corpus every table below would come out empty, and chars.tsv would be
    # overwritten with it before anything failed.
    sys.exit('build_tables.py: no chinese-poetry corpus at %s; expected the npm package '
             '(npm install in %s)' % (dist, os.path.abspath(root)))

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
tang = collections.defaultdict(set)   # kTang Middle-Chinese tones: P 平, S 上, Q 去, R 入
tang_final = collections.defaultdict(set)   # kTang (rhyme, tone) per reading
def tang_rhyme(p):
    """The rhyme of a kTang (Stimson) reading: from its first vowel (medials included), no tone."""
    p = ''.join(ch for ch in p if not unicodedata.combining(ch))
    m = re.search('[aeiouyɑɛæəɔ]', p)
    return p[m.start():] if m else p
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
                p = unicodedata.normalize('NFD', p.lstrip('*'))
                if p.rstrip()[-1:] in ('p', 't', 'k'): t = 'R'; entering.add(c)
                elif '\u030c' in p: t = 'S'   # caron: 上声 (rising)
                elif '\u0300' in p: t = 'Q'   # grave: 去声 (departing)
                else: t = 'P'
                tang[c].add(t)
                tang_final[c].add((tang_rhyme(p), t))
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
    tang[s] |= tang.get(c, set())
    tang_final[s] |= tang_final.get(c, set())
    for r in readings.get(c, []):
        if r not in readings[s]: readings[s].append(r)

def propagate(co, seeds, share, most):
    """Harmonic label propagation over a co-rhyme graph: a character's group weights are the
    average of its co-rhymes', seeds clamped (30 iterations). A character keeps the groups with at
    least `share` of its weight (at most `most`) and needs two co-rhymes of evidence."""
    label = {c: {g: 1.0} for c, g in seeds.items()}
    for it in range(30):
        new = {c: label[c] for c in seeds}
        for c, nb in co.items():
            if c in seeds: continue
            acc = collections.Counter(); tot = 0
            for b, n in nb.items():
                if b in label:
                    for g, w in label[b].items(): acc[g] += n * w
                    tot += n
            if tot: new[c] = {g: w / tot for g, w in acc.items()}
        label = new
    out = {}
    for c, d in label.items():
        if c in seeds: out[c] = [seeds[c]]; continue
        if sum(co[c].values()) < 2: continue
        best = sorted(d.items(), key=lambda kv: -kv[1])
        out[c] = [g for g, w in best if w >= share][:most] or [best[0][0]]
    return out

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
# A second (third) group needs 15% of the weight: 多音字 such as 行 (阳 háng / 庚 xíng).
pingshui = propagate(co, seed_of, 0.15, 3)

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

table = {}   # simplified char -> (readings, pz, xinyun groups)
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
    table[c] = (rs, pz, xs)

# --- 平水韵 仄声 groups: 上声 29, 去声 30, 入声 17 ------------------------------------------------
# The same label propagation as the 平 groups, over the 仄 rhymes of the whole corpus (Tang and
# Song shi in dist/quantangshi, Song ci in dist/songci). A verse sentence ends at 。？！; in a
# poem the ends of consecutive sentences whose last characters are 仄, with no 平 end between
# them, rhyme together (仄韵 古体 and 绝句, and most 词, whose rhymes close a sentence; a change
# of rhyme across 平 (换韵) breaks the chain). Two label spaces, because 入声 never rhymes with
# 上/去: 上去 characters are labelled with the 30 rows of the 四声相承 table (东董送, 支纸寘, ...,
# 泰 alone, 蒸's 上去 already merged into 迥径), since 上 and 去 of one row rhyme together in
# 仄韵 verse and the corpus links them; 入 characters with the 17 入声 groups. A character's
# tone (上, 去 or 入) comes from Unihan kTang (caron 上, grave 去, -p/-t/-k 入), else its modern
# readings (3 上, 4 去; 入 when kTang/kCantonese say so): its groups are its rows' 上 and/or 去
# groups for the tones it has.
SHANG = '董肿讲纸尾语麌荠蟹贿轸吻阮旱潸铣筱巧皓哿马养梗迥有寝感琰豏'
QU = '送宋绛寘未御遇霁泰卦队震问愿翰谏霰啸效号个祃漾敬径宥沁勘艳陷'
RU = '屋沃觉质物月曷黠屑药陌锡职缉合叶洽'
QU_ROW_SHANG = dict(zip(QU.replace('泰', ''), SHANG))   # 去 group -> the 上 group of its row
ZE_SEEDS = {
 '董': '董动孔总桶拢', '肿': '肿宠陇拥勇涌恐拱捧奉冗踵', '讲': '讲港棒项', '纸': '纸是此紫死水起里耳已使始喜子止齿指理美',
 '尾': '尾鬼苇伟岂', '语': '语女吕旅举许与所楚渚暑煮黍绪序', '麌': '麌雨羽宇舞府鼓虎古土苦主取柱午武五', '荠': '荠礼体米启底洗弟',
 '蟹': '蟹解买摆骇', '贿': '贿悔改海采彩待罪宰乃', '轸': '轸尽引忍敏紧准陨允', '吻': '吻粉隐愤谨近',
 '阮': '阮远晚反返本损稳', '旱': '旱满短管暖懒伞缓馆坦', '潸': '潸眼限板版产简盏', '铣': '铣显浅典转卷犬遣善展软免勉',
 '筱': '筱小表鸟了晓渺杳沼扰', '巧': '巧饱卯爪', '皓': '皓好老早草岛道抱保宝扫', '哿': '哿可我左火果锁舸朵',
 '马': '马野雅瓦者写假把寡社', '养': '养想两掌往像象广响仰赏', '梗': '梗影景静井领境冷省永整请', '迥': '迥顶鼎醒挺艇等',
 '有': '有久酒柳手首口后友守走斗偶', '寝': '寝枕锦饮品审', '感': '感胆览惨敢', '琰': '琰险染点检掩冉', '豏': '豏减斩范犯槛',
 '送': '送梦冻洞弄贡痛众凤', '宋': '宋用颂诵统共俸', '绛': '绛巷撞', '寘': '寘事字意志地泪醉寺翠位睡智义四戏寄易',
 '未': '未味气贵费魏畏慰谓', '御': '御虑絮署据誉恕', '遇': '遇路露树雾暮步故顾赋句', '霁': '霁细计帝岁际世丽闭第砌',
 '泰': '泰带外盖赖蔡', '卦': '卦挂卖债怪坏拜', '队': '队内对碎背爱代态菜', '震': '震信进阵刃印鬓镇润顺',
 '问': '问运韵训郡粪', '愿': '愿万怨劝饭建献恨寸顿', '翰': '翰汉岸半乱叹案算漫', '谏': '谏雁晏宦患慢',
 '霰': '霰见面线遍箭县电变宴片', '啸': '啸笑照钓庙妙叫要', '效': '效貌闹豹孝校', '号': '号到帽报告灶倒暴奥',
 '个': '个破卧座货饿课', '祃': '祃夜化谢嫁驾价借', '漾': '漾望向浪状帐唱放让', '敬': '敬命病镜映盛性政圣',
 '径': '径定磬胜', '宥': '宥就秀袖瘦旧昼候寿透', '沁': '沁禁浸荫', '勘': '勘暗憾探', '艳': '艳剑念欠验', '陷': '陷鉴忏泛',
 '屋': '屋竹木目读独福谷鹿肉宿服菊哭', '沃': '沃玉绿曲烛足俗狱辱', '觉': '觉角学岳握朔剥', '质': '质日一实室失七笔逸密毕疾',
 '物': '物佛拂屈郁勿', '月': '月发骨没忽阙歇越伐', '曷': '曷末阔活达渴夺割', '黠': '黠八杀滑察',
 '屑': '屑雪节血结灭折绝别铁切热', '药': '药落薄阁鹤若雀略脚约', '陌': '陌白客石碧隔泽驿百迹尺', '锡': '锡壁历笛滴寂敌',
 '职': '职色力食息极忆北国德得', '缉': '缉急入湿立泣集', '合': '合答杂塔纳', '叶': '叶接蝶妾涉', '洽': '洽甲狭峡插'}
assert len(SHANG) == 29 and len(QU) == 30 and len(RU) == 17 and set(ZE_SEEDS) == set(SHANG + QU + RU)
SHANG_ROW = {v: k for k, v in QU_ROW_SHANG.items()}   # 上 group -> its row (the 去 group)

ze_texts = []
for f in sorted(glob.glob(os.path.join(dist, 'quantangshi', 'poet.*.json')) + glob.glob(os.path.join(dist, 'songci', 'ci.song.*.json'))):
    for poem in json.load(open(f, encoding='utf-8')):
        ze_texts.append(''.join(poem.get('paragraphs', [])))
ends_t = [[s[-1] for s in re.split(r'[。？！]', t) if s and is_han(s[-1])] for t in ze_texts]
new_chars = sorted({c for e in ends_t for c in e} - set(t2s))
out = subprocess.run(['opencc', '-c', 't2s'], input='\n'.join(new_chars), capture_output=True, text=True, check=True).stdout.split('\n')
t2s.update({t: (s if len(s) == 1 else t) for t, s in zip(new_chars, out)})
for c in new_chars:
    tang[t2s[c]] |= tang.get(c, set())
    tang_final[t2s[c]] |= tang_final.get(c, set())
    if c in entering: entering.add(t2s[c])

def ze_tones(c):
    """The 仄 tones (S 上, Q 去, R 入) a simplified character can take."""
    t = tang.get(c, set()) & {'S', 'Q', 'R'}
    if not t:
        tones = {int(r[-1]) for r in table[c][0]}
        t = ({'S'} if 3 in tones else set()) | ({'Q'} if 4 in tones else set())
        if c in entering: t.add('R')
        if not t: t = {'R'} if c in entering else {'S', 'Q'}   # marked 仄 in the corpus, nothing else known
    return t

is_ze = lambda c: c in table and table[c][1] in 'ZB'
co_sq = collections.defaultdict(collections.Counter)
co_r = collections.defaultdict(collections.Counter)
ze_rhyme_positions = collections.Counter()   # character -> times it ends a 仄 rhyme chain link
n_links = 0
for e in ends_t:
    e = [t2s.get(c, c) for c in e]
    for a, b in zip(e, e[1:]):
        if a == b or not is_ze(a) or not is_ze(b) or table[a][1] == 'B' and table[b][1] == 'B': continue
        n_links += 1
        ze_rhyme_positions[a] += 1; ze_rhyme_positions[b] += 1
        ta, tb = ze_tones(a), ze_tones(b)
        if ta & {'S', 'Q'} and tb & {'S', 'Q'}: co_sq[a][b] += 1; co_sq[b][a] += 1
        if 'R' in ta and 'R' in tb: co_r[a][b] += 1; co_r[b][a] += 1

seed_sq, seed_r = {}, {}
for g, cs in ZE_SEEDS.items():
    for c in cs:
        if g in RU: seed_r[c] = g
        else: seed_sq[c] = SHANG_ROW.get(g, g)
# A second group needs 30% of the weight (the 平 groups take 15%): 词 rhyme by the wider 词林正韵
# 部 (鱼虞, 月屑 ...), so the corpus mixes neighbouring 仄 groups more often.
rows_sq = propagate(co_sq, seed_sq, 0.3, 2)
groups_r = propagate(co_r, seed_r, 0.3, 2)
# The corpus alone blurs rows that 词 and 古体 mix freely (the larger group draws the smaller's
# characters: 未/霁 into 寘, 御 into 遇, 觉 into 药). The kTang readings separate them: a Middle-
# Chinese rhyme (Stimson's -iu 鱼, -io 虞, -iəi 微, -ei 齐, -ak 觉, -ɑk 药 ...) belongs to one
# group. So each kTang rhyme is mapped to the row (上去) or 入声 group that the corpus-labelled
# characters reading it mostly have (at least 3 characters, 60% of them), and a character whose
# 仄 kTang readings all have a mapped rhyme takes its groups from them, reading by reading (多音字
# keep each reading's group). The others are placed by their co-rhymes with those kTang-placed
# characters (classify below) or left without a group.
# The seeds (the rhyme book's own members) decide a rhyme they read; the corpus labels decide
# the others (the blur is in the corpus, so it must not outvote the book).
def rhyme_votes(labels, space):
    """kTang rhyme -> group votes of characters with one label; space 'P' (平 readings vote),
    'SQ' (上/去 readings) or 'R' (入)."""
    votes = collections.defaultdict(collections.Counter)
    for c, rows in labels:
        if len(rows) != 1: continue
        for f, t in tang_final.get(c, ()):
            want = (t == 'P') if space == 'P' else (t != 'P' and (t == 'R') == (space == 'R'))
            if want: votes[(f, space)][rows[0]] += 1
    return votes
def rhyme_map(seed_votes, corpus_votes):
    out = {}
    for key in set(seed_votes) | set(corpus_votes):
        cnt = seed_votes.get(key) or corpus_votes[key]
        g, n = cnt.most_common(1)[0]
        if key in seed_votes or (n >= 3 and n >= 0.6 * sum(cnt.values())): out[key] = g
    return out
def map_rhyme(rmap, f, space):
    """The group of kTang rhyme f, None if unmapped. A rhyme the map lacks is tried without its
    rounding medial (u before the main vowel: -uei as -ei, -iuɛi as -iɛi): the 平水韵 never
    separates 开口 from 合口 (寒/桓, 真/谆, 歌/戈 are one group each), so the medial cannot change
    the group (the mapped rhymes agree with their unrounded twins 31 times of 32)."""
    if (f, space) in rmap: return rmap[(f, space)]
    return rmap.get((re.sub('u(?=[aeoɑɛæəɔ])', '', f, count=1), space))
rhyme_group = {}
for space, seeds, labels in (('SQ', seed_sq, rows_sq), ('R', seed_r, groups_r)):
    rhyme_group.update(rhyme_map(rhyme_votes([(c, [g]) for c, g in seeds.items()], space),
                                 rhyme_votes(labels.items(), space)))
def mc_groups(rs, lookup):
    """The 仄 groups of Middle-Chinese readings rs [(rhyme, tone)], reading by reading (an 上
    reading takes its row's 上 group), or None when a 仄 reading's rhyme is not mapped."""
    rs = [(f, t) for f, t in rs if t != 'P']
    gs = [lookup(f, 'R' if t == 'R' else 'SQ') for f, t in rs]
    if not rs or None in gs: return None
    out = []
    for (f, t), g in zip(rs, gs):
        if t == 'S' and g in QU_ROW_SHANG: out.append(QU_ROW_SHANG[g])
        elif t != 'S' or g not in QU_ROW_SHANG: out.append(g)   # 去 (泰 has no 上) or 入
    return out
def from_tang(c):
    return mc_groups(tang_final.get(c, ()), lambda f, space: map_rhyme(rhyme_group, f, space))

def classify(co, anchor, margin=3.0):
    """Places characters by their co-rhymes with characters whose group is known (`anchor`:
    char -> label). Each label g has a profile P(h | g): how often its anchored characters rhyme
    with anchored characters of label h (add-half smoothed). A character's co-rhyme counts n_h
    then score each g by sum n_h log P(h | g), and it takes the best label only when that beats
    the second by `margin` (a likelihood ratio of e^3 = 20 by default) and at least two (and 10%)
    of its co-rhymes are in that label; otherwise it is left out. Unlike plain label propagation
    the profile tells a small group from its large neighbour: 未's characters rhyme with 寘's
    often, but 寘's rarely with 未's, so a character rhyming with 未 members is 未 even when most
    of its co-rhymes are 寘.
    Returns ({char: label}, (kept, right, tried)), the last a leave-one-out check on the anchors:
    each anchored character classified from the profiles without its own links."""
    labels = sorted(set(anchor.values()))
    prof = collections.defaultdict(collections.Counter)
    for a, g in anchor.items():
        for b, n in co.get(a, {}).items():
            if b in anchor: prof[g][anchor[b]] += n
    def best(c, own):
        nh = collections.Counter()
        for b, n in co.get(c, {}).items():
            if b in anchor and b != c: nh[anchor[b]] += n
        if sum(nh.values()) < 2: return None
        sc = []
        for g in labels:
            row = prof[g]
            if own is not None and g == own: row = row - nh   # leave c's own links out
            if own is not None:   # ... and its partners' links to c
                row = row.copy(); row[own] -= sum(n for b, n in co[c].items() if anchor.get(b) == g and b != c)
            tot = sum(v for v in row.values() if v > 0)
            sc.append((sum(n * math.log((max(row[h], 0) + 0.5) / (tot + 0.5 * len(labels))) for h, n in nh.items()), g))
        sc.sort(reverse=True)
        g = sc[0][1]
        # Direct evidence too: a small group's profile is flat, so a character whose co-rhymes
        # are scattered noise (a 平 character's rare 仄 links) could fit it best without ever
        # rhyming with it.
        direct = nh[g] >= 2 and nh[g] >= 0.1 * sum(nh.values())
        return g if direct and sc[0][0] - sc[1][0] >= margin else None
    placed = {c: g for c in co if c not in anchor for g in [best(c, None)] if g}
    kept = right = tried = 0
    for c, g in anchor.items():
        if c not in co: continue
        tried += 1; got = best(c, g)
        kept += got is not None; right += got == g
    return placed, (kept, right, tried)

# Anchors: the kTang-placed characters with one row (上去) or one 入声 group, and the seeds.
anchor_sq, anchor_r = dict(seed_sq), dict(seed_r)
for c in table:
    kt = from_tang(c) if table[c][1] != 'P' else None
    if not kt or c in seed_sq or c in seed_r: continue
    sq = {SHANG_ROW.get(g, g) for g in kt if g not in RU}
    r = {g for g in kt if g in RU}
    if len(sq) == 1: anchor_sq[c] = sq.pop()
    if len(r) == 1: anchor_r[c] = r.pop()
placed_sq, check_sq = classify(co_sq, anchor_sq)
placed_r, check_r = classify(co_r, anchor_r)

# A second Middle-Chinese source, for the characters kTang and the co-rhymes leave without a 仄
# group (洧 藟 秘 媿 吃 ...): Debian's rime-data-zyenpheng (中古全拼) spells the 广韵 reading of
# 28k characters. Its tone is in the ending (-x 上, -h 去, -d the 去-only rhymes 祭泰夬废, -p/-t/-k
# 入, else 平) and its rhyme runs from the 二等 medial r, the 三等 medial j or the first vowel
# (without them 者 -ja would read as 歌's -a). Each rhyme is mapped
# as kTang's are: by the seeds that read it, else by the kTang-placed anchors that read it (at
# least 3, and 60% of them), and a character takes its groups from it only when every one of its
# 仄 readings maps. Readings the dictionary itself weights below 10% (its rare ones) are left out.
# This only fills gaps (a reading it attests, mapped by the method above), so every group placed
# before stays as it was; and like the co-rhymes it needs a 仄 reading known beyond the corpus'
# marks (ze_attested): 回 huí would otherwise take 队 from 迴's rare 去 reading, which t2s merges.
ZYEN = '/usr/share/rime-data/zyenpheng.dict.yaml'
zyen_final = collections.defaultdict(set)
if os.path.exists(ZYEN):
    zyen_raw, body = [], False
    for line in open(ZYEN, encoding='utf-8'):
        if line.startswith('...'): body = True; continue
        parts = line.rstrip('\n').split('\t')
        if not body or len(parts) < 2 or len(parts[0]) != 1: continue
        if len(parts) > 2 and parts[2].endswith('%') and float(parts[2][:-1]) < 10: continue
        zyen_raw.append((parts[0], parts[1]))
    zchars = sorted({c for c, _ in zyen_raw})
    out = subprocess.run(['opencc', '-c', 't2s'], input='\n'.join(zchars), capture_output=True, text=True, check=True).stdout.split('\n')
    z2s = {t: (s if len(s) == 1 else t) for t, s in zip(zchars, out)}
    for c, p in zyen_raw:
        if p[-1] in 'ptk': t, base = 'R', p
        elif p[-1] == 'x': t, base = 'S', p[:-1]
        elif p[-1] == 'h': t, base = 'Q', p[:-1]
        elif p[-1] == 'd': t, base = 'Q', p
        else: t, base = 'P', p
        m = re.search('[rj]?[aeiouy]', base)
        if m: zyen_final[z2s[c]].add((base[m.start():], t))
else:
    print('ze: %s missing (apt install rime-data-zyenpheng); no second Middle-Chinese source' % ZYEN, file=sys.stderr)
def zyen_votes(labels, space):
    votes = collections.defaultdict(collections.Counter)
    for c, g in labels.items():
        for f, t in zyen_final.get(c, ()):
            if t != 'P' and (t == 'R') == (space == 'R'): votes[(f, space)][g] += 1
    return votes
zyen_group = {}
for space, seeds, anchors in (('SQ', seed_sq, anchor_sq), ('R', seed_r, anchor_r)):
    zyen_group.update(rhyme_map(zyen_votes(seeds, space), zyen_votes(anchors, space)))
def from_zyen(c):
    return mc_groups(zyen_final.get(c, ()), lambda f, space: zyen_group.get((f, space)))
# How often it agrees with kTang where both place a character (the same groups, as sets).
zy_both = [(set(from_tang(c)), set(kz)) for c in table if table[c][1] != 'P' and from_tang(c)
           for kz in [from_zyen(c)] if kz]
print('ze: zyenpheng rhymes mapped %d; where kTang places a character too (%d), it gives the same groups for '
      '%d (%.1f%%) and shares one for %d (%.1f%%; the rest of those are its extra 多音 readings)'
      % (len(zyen_group), len(zy_both), sum(a == b for a, b in zy_both), 100.0 * sum(a == b for a, b in zy_both) / max(len(zy_both), 1),
         sum(bool(a & b) for a, b in zy_both), 100.0 * sum(bool(a & b) for a, b in zy_both) / max(len(zy_both), 1)), file=sys.stderr)
def ze_attested(c):
    """Whether a 仄 reading of c is known beyond the corpus' marks: kTang 上/去/入, a modern
    reading in tone 3 or 4, or 入声 by kCantonese. A 平 character the editors marked 仄 a few
    times (回 huí) rhymes now and then in 仄 chains by chance; co-rhymes alone must not give it a
    仄 group."""
    return bool(tang.get(c, set()) & {'S', 'Q', 'R'}) or c in entering or any(r[-1] in '34' for r in table[c][0])
def from_corpus(c):
    if not ze_attested(c): return []
    t, out = ze_tones(c), []
    row = placed_sq.get(c)
    if row:
        if 'S' in t and row in QU_ROW_SHANG: out.append(QU_ROW_SHANG[row])
        if 'Q' in t or row not in QU_ROW_SHANG: out.append(row)
    return out + ([placed_r[c]] if 'R' in t and c in placed_r else [])
zegroups = collections.defaultdict(list)
for g, cs in ZE_SEEDS.items():   # seeds keep the group they were given (and other readings' groups)
    for c in cs:
        if g not in zegroups[c]: zegroups[c].append(g)
n_tang = n_corpus = n_zyen = n_left = 0
for c in table:
    if table[c][1] == 'P': continue
    kt = from_tang(c)
    if zegroups[c]: zegroups[c] += kt or []
    elif kt: zegroups[c] = kt; n_tang += 1
    elif (co_ := from_corpus(c)): zegroups[c] = co_; n_corpus += 1
    elif ze_attested(c) and (kz := from_zyen(c)): zegroups[c] = kz; n_zyen += 1
    elif c in co_sq or c in co_r: n_left += 1
print('ze: rhymes mapped', len(rhyme_group), 'chars by kTang rhyme', n_tang, 'by co-rhymes', n_corpus,
      'by zyenpheng rhyme', n_zyen, 'left out (rhymed, no clear group)', n_left, file=sys.stderr)
for name, (kept, right, tried) in (('上去 rows', check_sq), ('入声 groups', check_r)):
    print('ze: co-rhyme placement, leave-one-out on kTang-placed %s: %d of %d placed, %d right (%.1f%%)'
          % (name, kept, tried, right, 100.0 * right / max(kept, 1)), file=sys.stderr)
ORDER = {g: i for i, g in enumerate(SHANG + QU + RU)}
for c in zegroups: zegroups[c] = sorted(set(zegroups[c]), key=ORDER.get)

# --- 平水韵 平声 groups for the 平 characters regulated verse leaves out ------------------------
# Label propagation over Tang regulated verse places every rhyme character that occurs there at
# least twice; rarer ones (卮, 皋, 靴) get theirs the way the 仄 side does: from their kTang 平
# readings (each rhyme mapped to the group of the seeds, else of the propagation-placed
# characters, that read it), else from their co-rhymes anywhere in the corpus (consecutive
# sentence ends that are both 平, as for 仄 above: 词, 古体 and regulated couplets) with the
# propagation-placed characters of one group as anchors (classify); else no group.
co_p = collections.defaultdict(collections.Counter)
is_ping = lambda c: c in table and table[c][1] in 'PB'
for e in ends_t:
    e = [t2s.get(c, c) for c in e]
    for a, b in zip(e, e[1:]):
        if a == b or not is_ping(a) or not is_ping(b) or table[a][1] == 'B' and table[b][1] == 'B': continue
        co_p[a][b] += 1; co_p[b][a] += 1
ping_rhyme = rhyme_map(rhyme_votes([(c, [g]) for c, g in seed_of.items()], 'P'),
                       rhyme_votes(pingshui.items(), 'P'))
anchor_p = {c: gs[0] for c, gs in pingshui.items() if len(gs) == 1}
placed_p, check_p = classify(co_p, anchor_p)
n_before = sum(1 for c in table if table[c][1] in 'PB' and pingshui.get(c))
n_tang_p = n_corpus_p = 0
for c in table:
    if table[c][1] not in 'PB' or pingshui.get(c): continue
    fs = [f for f, t in tang_final.get(c, ()) if t == 'P']
    gs = [map_rhyme(ping_rhyme, f, 'P') for f in fs]
    if fs and None not in gs: pingshui[c] = sorted(set(gs), key=GROUPS.index); n_tang_p += 1
    elif c in placed_p: pingshui[c] = [placed_p[c]]; n_corpus_p += 1
kept, right, tried = check_p
print('ping: chars with a group %d from regulated verse, + %d by kTang rhyme (%d rhymes mapped), + %d by co-rhymes; '
      'co-rhyme placement, leave-one-out on the regulated-verse groups: %d of %d placed, %d right (%.1f%%)'
      % (n_before, n_tang_p, len(ping_rhyme), n_corpus_p, kept, tried, right, 100.0 * right / max(kept, 1)), file=sys.stderr)


rows = []
for c, (rs, pz, xs) in sorted(table.items()):
    ps = pingshui.get(c, []) if pz in 'PB' else []
    zs = zegroups.get(c, []) if pz in 'ZB' else []
    rows.append('%s\t%s\t%s\t%s\t%s\t%s' % (c, ','.join(rs), pz, ','.join(ps) or '-', ','.join(xs), ','.join(zs) or '-'))
with open(os.path.join(root, 'data', 'poetry', 'chars.tsv'), 'w', encoding='utf-8') as f:
    f.write('# built by data/poetry/build_tables.py; see docs/poetry.md. char readings pz pingshui xinyun pingshui_ze\n')
    f.write('\n'.join(rows) + '\n')
print('chars', len(rows), 'with pingshui group', sum(1 for r in rows if r.split('\t')[3] != '-'),
      'regulated poems', len(rhyme_sets), file=sys.stderr)
# Coverage of the 仄 groups: characters per group, and how much of the corpus' 仄 rhyme
# positions (each end in a 仄 chain link, counted with repeats) has a group.
have = {r.split('\t')[0] for r in rows if r.split('\t')[5] != '-'}
per = collections.Counter(g for r in rows for g in r.split('\t')[5].split(',') if g != '-')
tot = sum(ze_rhyme_positions.values()); cov = sum(n for c, n in ze_rhyme_positions.items() if c in have)
print('ze: chars with a group', len(have), 'links', n_links, 'rhyme positions covered %d/%d = %.1f%%' % (cov, tot, 100.0 * cov / tot),
      'distinct rhyme chars covered %d/%d' % (len(have & set(ze_rhyme_positions)), len(ze_rhyme_positions)), file=sys.stderr)
for part, names in (('上', SHANG), ('去', QU), ('入', RU)):
    print(part, ' '.join('%s%d' % (g, per[g]) for g in names), file=sys.stderr)

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
