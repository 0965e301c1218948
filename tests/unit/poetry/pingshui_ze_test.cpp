// 平水韵's 仄声 groups (上 29, 去 30, 入 17, learned by data/poetry/build_tables.py): known members
// land in their groups, 词 rhymes follow 词林正韵 (上/去 of a row together, 入声 apart), and the
// checker accepts real 仄-rhyming 词 from the corpus and explains broken ones. (Generation under
// these groups and the constraint's dead end: generate_test.cpp.)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "art/common/data_paths.h"
#include "art/poetry/checker.h"
#include "art/poetry/forms.h"
#include "art/poetry/prosody.h"
#include "core/error.h"

namespace lyra::art::poetry {
namespace {

std::string faults_of(const CheckResult& r) {
    std::string s;
    for (const Fault& f : r.faults) s += f.message + "\n";
    return s;
}

// The strict 平水韵 仄 groups of c ("屋", "马" ...), without the 平水韵 prefix.
std::set<std::string> ze_groups(char32_t c) {
    std::set<std::string> out;
    for (int k : Prosody::get().rhyme_keys(c, RhymeBook::Pingshui, kZe, false)) {
        std::string name = Prosody::key_name(k);
        EXPECT_EQ(name.rfind("平水韵", 0), 0u) << name;
        out.insert(name.substr(std::string("平水韵").size()));
    }
    return out;
}

TEST(PingshuiZe, GroupsAndKnownMembers) {
    const auto& names = pingshui_ze_groups();
    ASSERT_EQ(names.size(), 76u);  // 上声 29 + 去声 30 + 入声 17
    EXPECT_EQ(names[0], "董");
    EXPECT_EQ(names[28], "豏");
    EXPECT_EQ(names[29], "送");
    EXPECT_EQ(names[58], "陷");
    EXPECT_EQ(names[59], "屋");
    EXPECT_EQ(names[75], "洽");
    // Every group has members in the table.
    std::map<std::string, int> per_group;
    for (const auto& [c, info] : Prosody::get().all()) {
        for (int g : info.pingshui_ze) ++per_group[names[static_cast<size_t>(g - 30)]];
    }
    for (const std::string& g : names) EXPECT_GE(per_group[g], 5) << g;

    // Seeds (the rhyme book's own examples) and characters the corpus placed.
    EXPECT_EQ(ze_groups(U'竹'), std::set<std::string>{"屋"});
    EXPECT_EQ(ze_groups(U'月'), std::set<std::string>{"月"});
    EXPECT_EQ(ze_groups(U'雪'), std::set<std::string>{"屑"});
    EXPECT_EQ(ze_groups(U'马'), std::set<std::string>{"马"});
    EXPECT_EQ(ze_groups(U'下'), (std::set<std::string>{"马", "祃"}));  // 上 and 去 readings
    EXPECT_EQ(ze_groups(U'动'), std::set<std::string>{"董"});  // 上声 (dòng today: 浊上变去)
    EXPECT_EQ(ze_groups(U'白'), std::set<std::string>{"陌"});  // 入声 read bái today
    // Not seeds: learned from the corpus' 仄 rhymes.
    EXPECT_EQ(ze_groups(U'烈'), std::set<std::string>{"屑"});
    EXPECT_EQ(ze_groups(U'缺'), std::set<std::string>{"屑"});
    EXPECT_EQ(ze_groups(U'骤'), std::set<std::string>{"宥"});
    EXPECT_EQ(ze_groups(U'否'), std::set<std::string>{"有"});
    EXPECT_EQ(ze_groups(U'鹭'), std::set<std::string>{"遇"});
    // 平 characters have no 仄 group; 仄 characters no 平 one.
    EXPECT_TRUE(ze_groups(U'花').empty());
    EXPECT_TRUE(Prosody::get().rhyme_keys(U'竹', RhymeBook::Pingshui, kPing, false).empty());

    // In 词 (词林正韵): 上 and 去 of one row rhyme (酒 有 with 旧 宥), neighbouring 入 groups of one
    // 部 too (月 with 雪); 入声 never with 上/去.
    const Prosody& p = Prosody::get();
    auto ci_key = [&](char32_t c) {
        auto k = p.rhyme_keys(c, RhymeBook::Pingshui, kZe, true);
        EXPECT_EQ(k.size(), 1u) << to_utf8(c);
        return k.empty() ? -1 : k[0];
    };
    EXPECT_EQ(ci_key(U'酒'), ci_key(U'旧'));
    EXPECT_EQ(ci_key(U'月'), ci_key(U'雪'));
    EXPECT_NE(ci_key(U'竹'), ci_key(U'雪'));
    EXPECT_NE(ci_key(U'泪'), ci_key(U'雪'));
    // 词林正韵 splits 阮/愿 by final: 远 晚 (-an) rhyme with 旱 满, 本 稳 (-en) with 轸 尽.
    EXPECT_EQ(ci_key(U'远'), ci_key(U'满'));
    EXPECT_EQ(ci_key(U'晚'), ci_key(U'满'));
    EXPECT_EQ(ci_key(U'本'), ci_key(U'尽'));
    EXPECT_NE(ci_key(U'本'), ci_key(U'远'));
    // ... and on 平 too (园 with 寒, 门 with 真), while 灰 stays whole on 平 (杯 with 台).
    auto ping_key = [&](char32_t c) {
        auto k = p.rhyme_keys(c, RhymeBook::Pingshui, kPing, true);
        EXPECT_EQ(k.size(), 1u) << to_utf8(c);
        return k.empty() ? -1 : k[0];
    };
    EXPECT_EQ(ping_key(U'园'), ping_key(U'寒'));
    EXPECT_EQ(ping_key(U'门'), ping_key(U'真'));
    EXPECT_EQ(ping_key(U'杯'), ping_key(U'台'));
    EXPECT_EQ(Prosody::key_name(ci_key(U'雪')), "词林正韵第18部(入声 物月曷黠屑叶)");
    EXPECT_EQ(Prosody::key_name(ci_key(U'酒')), "词林正韵第12部(上去 有宥)");
}

TEST(PingshuiZe, CheckerOnRealCi) {
    const FormDef* mjh = find_zh_form("ci:满江红");
    const FormDef* rml = find_zh_form("ci:如梦令");
    ASSERT_NE(mjh, nullptr);
    ASSERT_NE(rml, nullptr);
    // 岳飞 满江红 (from the corpus, dist/songci): 歇 烈 月 切 | 雪 灭 缺 血 阙, 入声 月 and 屑 in
    // 词林正韵第18部. The corpus punctuates 驾长车踏破，贺兰山缺; the 词谱 reads 3 + 6.
    const std::string yue =
        "怒发冲冠，凭阑处、潇潇雨歇。抬望眼、仰天长啸，壮怀激烈。三十功名尘与土，八千里路云和月。"
        "莫等闲、白了少年头，空悲切。靖康耻，犹未雪。臣子恨，何时灭。驾长车，踏破贺兰山缺。"
        "壮志饥餐胡虏肉，笑谈渴饮匈奴血。待从头、收拾旧山河，朝天阙。";
    CheckResult r = check_zh(*mjh, yue, RhymeBook::Pingshui);
    EXPECT_TRUE(r.length_ok) << faults_of(r);
    EXPECT_TRUE(r.rhyme_ok) << faults_of(r);
    // 雪 -> 竹 (入声 屋): another 部.
    std::string broken = yue;
    broken.replace(broken.find("犹未雪"), std::string("犹未雪").size(), "犹未竹");
    r = check_zh(*mjh, broken, RhymeBook::Pingshui);
    EXPECT_FALSE(r.rhyme_ok);
    EXPECT_NE(faults_of(r).find("line 13, char 3: rhyme 词林正韵第18部(入声 物月曷黠屑叶) expected, 竹 is in "
                                "词林正韵第15部(入声 屋沃)"),
              std::string::npos)
        << faults_of(r);
    // 雪 -> 泪 (去声 寘): 入声 rhymes only with 入声.
    broken = yue;
    broken.replace(broken.find("犹未雪"), std::string("犹未雪").size(), "犹未泪");
    r = check_zh(*mjh, broken, RhymeBook::Pingshui);
    EXPECT_NE(faults_of(r).find("line 13, char 3: rhyme 词林正韵第18部(入声 物月曷黠屑叶) expected, 泪 is in 词林正韵第3部"),
              std::string::npos)
        << faults_of(r);

    // 李清照 如梦令 (昨夜雨疏风骤): 骤 酒 旧 否 否 瘦, 上声 有 and 去声 宥 together.
    const std::string li = "昨夜雨疏风骤，浓睡不消残酒。试问卷帘人，却道海棠依旧。知否，知否，应是绿肥红瘦。";
    r = check_zh(*rml, li, RhymeBook::Pingshui);
    EXPECT_TRUE(r.rhyme_ok) << faults_of(r);
    EXPECT_TRUE(r.ok()) << faults_of(r);
    broken = li;
    broken.replace(broken.find("残酒"), std::string("残酒").size(), "残月");
    r = check_zh(*rml, broken, RhymeBook::Pingshui);
    EXPECT_FALSE(r.rhyme_ok);
    EXPECT_NE(faults_of(r).find("line 2, char 6: rhyme 词林正韵第12部(上去 有宥) expected, 月 is in 词林正韵第18部"),
              std::string::npos)
        << faults_of(r);
}

// Agreement with the corpus: Song 词 of the 仄-rhyming 词牌 (the first 60 of each whose lines
// match the 词谱's lengths) checked for rhyme faults under 平水韵. Printed as a figure; the test
// bounds it from below. The disagreements are the poets' own cross-部 rhymes (-n/-ng 鬓 with 梗,
// -m/-n 甚), repeated rhyme characters and 入声 with 上去 (docs/poetry.md).
TEST(PingshuiZe, AgreementWithSongCi) {
    std::string dir;
    try {
        dir = npm_package_dir("chinese-poetry");
    } catch (const Error&) {
        GTEST_SKIP() << "npm chinese-poetry not installed";
    }
    namespace fs = std::filesystem;
    std::map<std::string, int> total, agree;
    for (int file = 0; file <= 21000; file += 1000) {
        std::ifstream in(fs::path(dir) / "dist" / "songci" / ("ci.song." + std::to_string(file) + ".json"));
        if (!in) continue;
        for (const auto& poem : nlohmann::json::parse(in)) {
            const std::string name = poem.value("rhythmic", std::string());
            if (name != "如梦令" && name != "卜算子" && name != "蝶恋花" && name != "满江红") continue;
            if (total[name] >= 60) continue;
            std::string text;
            for (const auto& l : poem["paragraphs"]) text += l.get<std::string>();
            const FormDef* f = find_zh_form("ci:" + name);
            ASSERT_NE(f, nullptr) << name;
            CheckResult r = check_zh(*f, text, RhymeBook::Pingshui);
            if (!r.length_ok) continue;
            ++total[name];
            agree[name] += r.rhyme_ok ? 1 : 0;
        }
    }
    int t = 0, a = 0;
    for (const auto& [name, n] : total) {
        std::printf("%s: %d of %d without a rhyme fault\n", name.c_str(), agree[name], n);
        t += n;
        a += agree[name];
    }
    ASSERT_GT(t, 150);
    const double rate = static_cast<double>(a) / t;
    std::printf("仄-rhyming Song ci under pingshui: %d of %d (%.1f%%) without a rhyme fault\n", a, t, 100 * rate);
    EXPECT_GT(rate, 0.75);
}

}  // namespace
}  // namespace lyra::art::poetry
