// The Chinese checker: real regulated Tang poems pass, broken ones are caught with the fault
// explained, and the checker's agreement rate over the corpus' regulated poems.
#include <filesystem>
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "art/poetry/checker.h"
#include "art/poetry/forms.h"
#include "art/poetry/poem.h"
#include "art/poetry/prosody.h"
#include "core/error.h"
#include "unit/poetry/corpus.h"

namespace lyra::art::poetry {
namespace {

const FormDef& form(const char* name) {
    const FormDef* f = find_zh_form(name);
    EXPECT_NE(f, nullptr) << name;
    return *f;
}

std::string faults_of(const CheckResult& r) {
    std::string s;
    for (const Fault& f : r.faults) s += f.message + "\n";
    return s;
}

TEST(Prosody, TonesRhymesAndVariants) {
    const Prosody& p = Prosody::get();
    EXPECT_GT(p.size(), 5000u);
    EXPECT_EQ(p.tone(U'花', RhymeBook::Pingshui), kPing);
    EXPECT_EQ(p.tone(U'月', RhymeBook::Pingshui), kZe);
    EXPECT_EQ(p.tone(U'白', RhymeBook::Pingshui), kZe);  // 入声
    EXPECT_EQ(p.tone(U'白', RhymeBook::Xinyun), kPing);   // bai2 today
    EXPECT_EQ(p.tone(U'看', RhymeBook::Pingshui), kPing | kZe);  // 多音字
    auto keys = p.rhyme_keys(U'楼', RhymeBook::Pingshui, kPing, false);
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_EQ(Prosody::key_name(keys[0]), "平水韵尤");
    EXPECT_EQ(p.rhyme_keys(U'流', RhymeBook::Pingshui, kPing, false), keys);
    // Traditional folds to Simplified.
    EXPECT_EQ(to_simplified("東風"), "东风");
    EXPECT_THROW(parse_rhyme_book("cilin"), Error);
}

TEST(Forms, ListAndShapes) {
    EXPECT_EQ(form("wujue").line_count(), 4);
    EXPECT_EQ(form("qilv").line_count(), 8);
    EXPECT_EQ(form("wujue").variants.size(), 4u);
    int ci = 0;
    for (const FormDef& f : zh_forms()) ci += f.ci ? 1 : 0;
    EXPECT_GE(ci, 10);
    int chars = 0;
    for (const LineDef& l : form("ci:念奴娇").variants[0].lines) chars += l.length;
    EXPECT_EQ(chars, 100);
    chars = 0;
    for (const LineDef& l : form("ci:如梦令").variants[0].lines) chars += l.length;
    EXPECT_EQ(chars, 33);
    EXPECT_EQ(find_zh_form("ci:不存在"), nullptr);
}

struct Known {
    const char* form;
    const char* text;
};

// Well-known regulated poems (绝句 and 律诗), one per form and opening family.
const Known kGood[] = {
    {"wujue", "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"},  // 王之涣 登鹳雀楼
    {"qijue", "两个黄鹂鸣翠柳，一行白鹭上青天。窗含西岭千秋雪，门泊东吴万里船。"},  // 杜甫 绝句
    {"wulv", "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。"},  // 杜甫 春望
    {"wulv", "空山新雨后，天气晚来秋。明月松间照，清泉石上流。竹喧归浣女，莲动下渔舟。随意春芳歇，王孙自可留。"},  // 王维 山居秋暝
    {"qilv", "风急天高猿啸哀，渚清沙白鸟飞回。无边落木萧萧下，不尽长江滚滚来。万里悲秋常作客，百年多病独登台。艰难苦恨繁霜鬓，潦倒新停浊酒杯。"},  // 杜甫 登高
    {"qijue", "朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。"},  // 李白 早发白帝城
    {"qijue", "秦时明月汉时关，万里长征人未还。但使龙城飞将在，不教胡马度阴山。"},  // 王昌龄 出塞
    {"qijue", "葡萄美酒夜光杯，欲饮琵琶马上催。醉卧沙场君莫笑，古来征战几人回。"},  // 王翰 凉州词
};

TEST(Checker, KnownRegulatedPoemsPass) {
    for (const Known& k : kGood) {
        CheckResult r = check_zh(form(k.form), k.text, RhymeBook::Pingshui);
        EXPECT_TRUE(r.ok()) << k.text << "\n" << faults_of(r);
    }
    // Traditional characters read the same.
    CheckResult r = check_zh(form("wujue"), "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。", RhymeBook::Pingshui);
    EXPECT_TRUE(r.ok()) << faults_of(r);
}

TEST(Checker, CatchesBrokenPoems) {
    // Wrong length.
    CheckResult r = check_zh(form("wujue"), "白日依山尽，黄河入海流。欲穷千里目，更上一层高楼。", RhymeBook::Pingshui);
    EXPECT_FALSE(r.length_ok);
    ASSERT_FALSE(r.faults.empty());
    EXPECT_EQ(r.faults[0].line, 4);
    EXPECT_NE(r.faults[0].message.find("5 characters expected, found 6"), std::string::npos);
    // Wrong line count.
    r = check_zh(form("wulv"), "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。", RhymeBook::Pingshui);
    EXPECT_EQ(r.faults.at(0).message, "poem: 8 lines expected, found 4");
    // Wrong rhyme group: 回 (灰) replaced by 流 (尤), same tone.
    r = check_zh(form("qijue"), "葡萄美酒夜光杯，欲饮琵琶马上催。醉卧沙场君莫笑，古来征战几人流。", RhymeBook::Pingshui);
    EXPECT_TRUE(r.tone_ok) << faults_of(r);
    EXPECT_FALSE(r.rhyme_ok);
    EXPECT_NE(faults_of(r).find("line 4, char 7: rhyme 平水韵灰 expected, 流 is in 平水韵尤"), std::string::npos)
        << faults_of(r);
    // Repeated rhyme character.
    r = check_zh(form("wujue"), "白日依山尽，黄河入海流。欲穷千里目，更上一层流。", RhymeBook::Pingshui);
    EXPECT_NE(faults_of(r).find("rhyme character 流 repeats"), std::string::npos) << faults_of(r);
    // Tone violation at a strict position: 2nd character of line 3 must be 平 (欲穷 -> 欲断).
    r = check_zh(form("wujue"), "白日依山尽，黄河入海流。欲断千里目，更上一层楼。", RhymeBook::Pingshui);
    EXPECT_FALSE(r.tone_ok);
    EXPECT_NE(faults_of(r).find("line 3, char 2: 平 expected, 断 is 仄"), std::string::npos) << faults_of(r);
    // 孤平: 平平仄仄平 with the 1st and 3rd both 仄.
    r = check_zh(form("wujue"), "白日依山尽，客河入海流。欲穷千里目，更上一层楼。", RhymeBook::Pingshui);
    EXPECT_FALSE(r.tone_ok) << faults_of(r);
    // check_poem: the public entry.
    EXPECT_TRUE(check_poem("wujue", kGood[0].text).empty());
    EXPECT_THROW(check_poem("sixteen-lines", kGood[0].text), Error);
    EXPECT_THROW(check_poem("wujue", kGood[0].text, "cilin"), Error);
}

TEST(Checker, Ci) {
    // 李清照 如梦令: 常记溪亭日暮 (中华新韵 reads its 仄 rhymes by modern final).
    const char* rumeng = "常记溪亭日暮，沉醉不知归路。兴尽晚回舟，误入藕花深处。争渡，争渡，惊起一滩鸥鹭。";
    CheckResult r = check_zh(form("ci:如梦令"), rumeng, RhymeBook::Xinyun);
    EXPECT_TRUE(r.length_ok) << faults_of(r);
    EXPECT_TRUE(r.rhyme_ok) << faults_of(r);
    EXPECT_TRUE(r.ok()) << faults_of(r);
    // Its 叠句: the sixth line repeats the fifth; anything else is a fault naming both.
    r = check_zh(form("ci:如梦令"), "常记溪亭日暮，沉醉不知归路。兴尽晚回舟，误入藕花深处。争渡，竞渡，惊起一滩鸥鹭。",
                 RhymeBook::Xinyun);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(faults_of(r).find("line 6: 叠句 expected, the line repeats line 5 (争渡), found 竞渡"), std::string::npos)
        << faults_of(r);
    // 苏轼 卜算子 (缺月挂疏桐): rhyme 静 影 省 冷 (仄).
    const char* busuan = "缺月挂疏桐，漏断人初静。谁见幽人独往来，缥缈孤鸿影。惊起却回头，有恨无人省。拣尽寒枝不肯栖，寂寞沙洲冷。";
    r = check_zh(form("ci:卜算子"), busuan, RhymeBook::Pingshui);
    EXPECT_TRUE(r.ok()) << faults_of(r);
    r = check_zh(form("ci:卜算子"), "缺月挂疏桐，漏断人初静。", RhymeBook::Pingshui);
    EXPECT_FALSE(r.length_ok);
}

// Agreement with the corpus: Tang poems of a regulated shape (4 or 8 lines of 5 or 7, 平 rhymes
// on the even lines as the corpus editors marked them) checked against their form. Printed as a
// figure; the test bounds it from below.
TEST(Checker, AgreementWithTangRegulatedVerse) {
    const std::string dir = chinese_poetry_dir();
    if (dir.empty()) GTEST_SKIP() << "npm chinese-poetry not installed";
    namespace fs = std::filesystem;
    int total = 0, agree = 0, len_bad = 0, tone_bad = 0, rhyme_bad = 0;
    for (int file = 0; file < 58000 && total < 1000; file += 1000) {
        fs::path p = fs::path(dir) / "dist" / "quantangshi" / ("poet.tang." + std::to_string(file) + ".json");
        fs::path sp = fs::path(dir) / "dist" / "strains" / "json" / ("poet.tang." + std::to_string(file) + ".json");
        std::ifstream in(p), sin(sp);
        if (!in || !sin) continue;
        nlohmann::json poems = nlohmann::json::parse(in), strains = nlohmann::json::parse(sin);
        std::map<std::string, std::string> marks;
        for (const auto& s : strains) {
            std::string m;
            for (const auto& l : s["strains"]) m += l.get<std::string>();
            marks[s["id"].get<std::string>()] = m;
        }
        int taken = 0;  // at most 20 per file of 1000, so every period of the corpus is read
        for (const auto& poem : poems) {
            if (total >= 1000 || taken >= 20) break;
            auto it = marks.find(poem.value("id", std::string()));
            if (it == marks.end()) continue;
            std::string text;
            for (const auto& l : poem["paragraphs"]) text += l.get<std::string>();
            auto lines = split_verse(text);
            auto mlines = split_verse(it->second);
            if ((lines.size() != 4 && lines.size() != 8) || mlines.size() != lines.size()) continue;
            size_t len = lines[0].size();
            bool shape = len == 5 || len == 7;
            // Regulated by the editors' 平仄 marks: the 2nd/4th(/6th) characters alternate, 对
            // within a couplet, 粘 between couplets, even lines end 平, later odd lines end 仄.
            auto mark = [&](size_t line, size_t pos) { return mlines[line][pos]; };
            for (size_t i = 0; shape && i < lines.size(); ++i) {
                shape = lines[i].size() == len && mlines[i].size() == len;
                if (!shape) break;
                const size_t off = len - 5;
                shape = mark(i, off + 1) != mark(i, off + 3);
                if (len == 7) shape = shape && mark(i, 1) != mark(i, 3);
                if (i % 2 == 1) shape = shape && mark(i, len - 1) == U'平' && mark(i, off + 1) != mark(i - 1, off + 1);
                if (i % 2 == 0 && i > 0) shape = shape && mark(i, len - 1) == U'仄' && mark(i, off + 1) == mark(i - 1, off + 1);
            }
            if (!shape) continue;
            const char* name = lines.size() == 4 ? (len == 5 ? "wujue" : "qijue") : (len == 5 ? "wulv" : "qilv");
            CheckResult r = check_zh(form(name), text, RhymeBook::Pingshui);
            ++total;
            ++taken;
            agree += r.ok() ? 1 : 0;
            if (!r.ok() && std::getenv("LYRA_POETRY_DEBUG")) std::printf("%s | %s\n", text.c_str(), r.faults[0].message.c_str());
            len_bad += r.length_ok ? 0 : 1;
            tone_bad += r.tone_ok ? 0 : 1;
            rhyme_bad += r.rhyme_ok ? 0 : 1;
        }
    }
    ASSERT_GT(total, 500);
    const double rate = static_cast<double>(agree) / total;
    std::printf("checker agreement on %d Tang regulated-shape poems: %.1f%% (tone faults in %d, rhyme faults in %d, bad characters in %d)\n",
                total, 100 * rate, tone_bad, rhyme_bad, len_bad);
    EXPECT_GT(rate, 0.9);
}

}  // namespace
}  // namespace lyra::art::poetry
