// 古体诗 (wugu, qigu; src/art/poetry/gu.h): the forms' shapes and options, well-known old-style
// poems pass the checker (平 and 仄 rhymes, 三平尾, a 七言 poem the regulated checker faults),
// broken ones are caught with the fault explained, and the checker's agreement with the corpus'
// 古体 poems. (Generation on random weights: generate_test.cpp.)
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "art/poetry/checker.h"
#include "art/poetry/forms.h"
#include "art/poetry/gu.h"
#include "art/poetry/poem.h"
#include "art/poetry/prosody.h"
#include "core/error.h"
#include "unit/poetry/corpus.h"

namespace lyra::art::poetry {
namespace {

using nlohmann::json;

std::string faults_of(const CheckResult& r) {
    std::string s;
    for (const Fault& f : r.faults) s += f.message + "\n";
    return s;
}

std::string error_of(const json& request) {
    try {
        find_zh_form_for(request);
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "no error for " << request.dump();
    return {};
}

TEST(GuForms, ShapesAndOptions) {
    const FormDef* wugu = find_zh_form("wugu");
    ASSERT_NE(wugu, nullptr);
    EXPECT_TRUE(wugu->gu);
    EXPECT_EQ(wugu->rhyme_reading(), RhymeReading::GroupOrBu);
    EXPECT_EQ(wugu->line_count(), kGuDefaultLines);
    EXPECT_EQ(wugu->title, "五言古诗");
    ASSERT_EQ(wugu->variants.size(), 4u);  // 平/仄 x 首句入韵 or not
    const FormVariant& ping_first = wugu->variants[0];
    EXPECT_EQ(ping_first.name, "平韵·首句入韵");
    // Tones are free but for the rhyme: 2^5 strings on an unrhymed line, 2^4 on a rhyme line.
    EXPECT_EQ(ping_first.lines[0].rhyme, 'A');
    EXPECT_EQ(ping_first.lines[1].patterns.size(), 16u);
    EXPECT_EQ(ping_first.lines[2].patterns.size(), 32u);
    EXPECT_EQ(ping_first.lines[2].rhyme, 0);
    EXPECT_EQ(wugu->variants[3].name, "仄韵·首句不入韵");
    EXPECT_EQ(wugu->variants[3].lines[0].rhyme, 0);
    EXPECT_EQ(wugu->variants[3].lines[7].rhyme_tone(), 'Z');

    const FormDef* qigu = find_zh_form_for(json{{"form", "qigu"}, {"lines", 24}, {"tone_rhyme", "ze"}});
    ASSERT_NE(qigu, nullptr);
    EXPECT_EQ(qigu->line_count(), 24);
    ASSERT_EQ(qigu->variants.size(), 2u);
    for (const FormVariant& v : qigu->variants) {
        EXPECT_EQ(v.lines[23].length, 7);
        EXPECT_EQ(v.lines[23].rhyme_tone(), 'Z');
    }
    // Cached: the same request gives the same form object (a constraint may keep it).
    EXPECT_EQ(qigu, find_zh_form_for(json{{"form", "qigu"}, {"lines", 24}, {"tone_rhyme", "ze"}}));
    EXPECT_EQ(find_zh_form_for(json{{"form", "wujue"}}), find_zh_form("wujue"));
    EXPECT_EQ(find_zh_form_for(json{{"form", "wugu"}, {"lines", 4}})->variants.size(), 4u);

    EXPECT_EQ(error_of({{"form", "wugu"}, {"lines", 7}}),
              "lines: 五言古诗 rhymes on the even lines, so it takes an even number of lines; expected 4 to 24, "
              "got 7");
    EXPECT_NE(error_of({{"form", "qigu"}, {"lines", 26}}).find("expected 4 to 24, got 26"), std::string::npos);
    EXPECT_NE(error_of({{"form", "qigu"}, {"lines", 2}}).find("expected 4 to 24, got 2"), std::string::npos);
    EXPECT_NE(error_of({{"form", "qigu"}, {"lines", 0}}).find("got 0"), std::string::npos);
    EXPECT_NE(error_of({{"form", "qigu"}, {"lines", "八"}}).find("lines: expected an integer"), std::string::npos);
    EXPECT_EQ(error_of({{"form", "wujue"}, {"lines", 8}}),
              "lines: only the 古体 forms (wugu, qigu, zayan) take a line count; expected no lines "
              "for wujue");
    EXPECT_NE(error_of({{"form", "ci:如梦令"}, {"tone_rhyme", "ze"}}).find("tone_rhyme: only the 古体 forms"),
              std::string::npos);
    EXPECT_EQ(error_of({{"form", "wugu"}, {"tone_rhyme", "shang"}}),
              "tone_rhyme: unknown rhyme tone; expected ping (平), ze (仄), any or alternate "
              "(换韵: 平 and 仄 in turn), got 'shang'");
    EXPECT_EQ(find_zh_form_for(json{{"form", "wuyan"}}), nullptr);
}

struct Known {
    const char* form;
    const char* text;
    const char* variant;  // the reading the checker reports
};

// Well-known 古体 poems kept in one rhyme (一韵到底).
const Known kGood[] = {
    {"wugu", "床前明月光，疑是地上霜。举头望明月，低头思故乡。", "平韵·首句入韵"},  // 李白 静夜思 (阳)
    {"wugu", "慈母手中线，游子身上衣。临行密密缝，意恐迟迟归。谁言寸草心，报得三春晖。", "平韵·首句不入韵"},  // 孟郊 游子吟 (微)
    {"wugu", "千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江雪。", "仄韵·首句入韵"},  // 柳宗元 江雪 (入声 屑)
    {"wugu", "锄禾日当午，汗滴禾下土。谁知盘中餐，粒粒皆辛苦。", "仄韵·首句入韵"},  // 李绅 悯农 (上声 麌)
    {"wugu", "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。", "仄韵·首句入韵"},  // 孟浩然 春晓 (上声 筱)
    // 杜甫 望岳 (上声 筱), 8 lines.
    {"wugu", "岱宗夫如何，齐鲁青未了。造化钟神秀，阴阳割昏晓。荡胸生曾云，决眦入归鸟。会当凌绝顶，一览众山小。",
     "仄韵·首句不入韵"},
    // 王维 渭川田家 (微), 10 lines; 牛羊归 is 平平平, the 三平尾 古体 allows.
    {"wugu", "斜光照墟落，穷巷牛羊归。野老念牧童，倚杖候荆扉。雉雊麦苗秀，蚕眠桑叶稀。田夫荷锄至，相见语依依。"
             "即此羡闲逸，怅然吟式微。",
     "平韵·首句不入韵"},
    // 崔颢 黄鹤楼 (尤): its first half breaks the regulated tones (黄鹤 twice, 空悠悠 三平尾).
    {"qigu", "昔人已乘黄鹤去，此地空余黄鹤楼。黄鹤一去不复返，白云千载空悠悠。晴川历历汉阳树，芳草萋萋鹦鹉洲。"
             "日暮乡关何处是，烟波江上使人愁。",
     "平韵·首句不入韵"},
};

TEST(GuChecker, KnownOldStylePoemsPass) {
    for (const Known& k : kGood) {
        CheckResult r = check_gu(k.form, k.text, RhymeBook::Pingshui, std::nullopt, "any");
        EXPECT_TRUE(r.ok()) << k.text << "\n" << faults_of(r);
        EXPECT_EQ(r.variant, k.variant) << k.text;
        EXPECT_TRUE(check_poem(k.form, k.text).empty()) << k.text;
    }
    // The regulated checker faults 黄鹤楼's tones and 渭川田家's 三平尾 reading; 古体 does not.
    EXPECT_FALSE(check_zh(*find_zh_form("qilv"), kGood[7].text, RhymeBook::Pingshui).tone_ok);
    // Traditional characters read the same.
    EXPECT_TRUE(check_gu("wugu", "千山鳥飛絕，萬徑人蹤滅。孤舟蓑笠翁，獨釣寒江雪。",
                         RhymeBook::Pingshui, std::nullopt, "any")
                    .ok());
    // The count and the tone can be held to what the user asked for.
    EXPECT_TRUE(check_gu("wugu", kGood[2].text, RhymeBook::Pingshui, 4, "ze").ok());
    CheckResult r = check_gu("wugu", kGood[2].text, RhymeBook::Pingshui, 4, "ping");
    EXPECT_FALSE(r.tone_ok);
    EXPECT_NE(faults_of(r).find("line 2, char 5: 平 expected, 灭 is 仄"), std::string::npos) << faults_of(r);
    r = check_gu("wugu", kGood[2].text, RhymeBook::Pingshui, 8, "any");
    EXPECT_EQ(r.faults.at(0).message, "poem: 8 lines expected, found 4");
}

TEST(GuChecker, CatchesBrokenPoems) {
    // An odd count: the one fault.
    CheckResult r = check_gu("wugu", "千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江雪。寒江雪满天。",
                             RhymeBook::Pingshui, std::nullopt, "any");
    ASSERT_EQ(r.faults.size(), 1u) << faults_of(r);
    EXPECT_EQ(r.faults[0].message,
              "poem: 古体 rhymes on the even lines; expected an even number of lines from 4 to 400, found 5");
    EXPECT_FALSE(r.length_ok);
    // A line of the wrong length.
    r = check_gu("wugu", "千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江一雪。", RhymeBook::Pingshui,
                 std::nullopt, "any");
    EXPECT_NE(faults_of(r).find("line 4: 5 characters expected, found 6"), std::string::npos) << faults_of(r);
    // A rhyme from another 部: 雪 (入声 屑) replaced by 冷 (上声 梗), same tone.
    r = check_gu("wugu", "千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江冷。", RhymeBook::Pingshui,
                 std::nullopt, "any");
    EXPECT_TRUE(r.tone_ok) << faults_of(r);
    EXPECT_FALSE(r.rhyme_ok);
    EXPECT_NE(faults_of(r).find("line 4, char 5: rhyme 平水韵屑 expected, 冷 is in 平水韵梗/词林正韵第11部(上去 梗迥敬径)"),
              std::string::npos)
        << faults_of(r);
    // A repeated rhyme character.
    r = check_gu("wugu", "千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江灭。", RhymeBook::Pingshui,
                 std::nullopt, "any");
    EXPECT_NE(faults_of(r).find("line 4, char 5: rhyme character 灭 repeats an earlier rhyme"), std::string::npos)
        << faults_of(r);
    // A 平 character at a 仄 rhyme.
    r = check_gu("wugu", "千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江天。", RhymeBook::Pingshui,
                 std::nullopt, "any");
    EXPECT_FALSE(r.ok());
    // 换韵 is not offered: 李白 月下独酌 moves from 真 to 翰 halfway, and the checker says where.
    r = check_gu("wugu",
                 "花间一壶酒，独酌无相亲。举杯邀明月，对影成三人。月既不解饮，影徒随我身。暂伴月将"
                 "影，行乐须及春。"
                 "我歌月徘徊，我舞影零乱。醒时同交欢，醉后各分散。永结无情游，相期邈云汉。",
                 RhymeBook::Pingshui, std::nullopt, "any");
    // Read as the 仄 rhyme of its second half (the fewest faults): the 真 lines are the faults.
    EXPECT_FALSE(r.rhyme_ok);
    EXPECT_EQ(r.variant, "仄韵·首句不入韵");
    EXPECT_NE(faults_of(r).find("line 4, char 5: 仄 expected, 人 is 平"), std::string::npos) << faults_of(r);
    // Bad options given to the checker are errors, not faults.
    EXPECT_THROW(check_gu("wugu", kGood[0].text, RhymeBook::Pingshui, 5, "any"), Error);
    EXPECT_THROW(check_gu("wugu", kGood[0].text, RhymeBook::Pingshui, std::nullopt, "rising"),
                 Error);
    EXPECT_THROW(check_poem("wujue", kGood[0].text, "pingshui", {}, 4), Error);
    EXPECT_THROW(check_poem("haiku", "an old silent pond", "pingshui", {}, std::nullopt, "ze"),
                 Error);
}

// A count or tone that was given is checked, never read as "not given": `--check --lines 0` once
// meant "the poem's own count" and `--form wujue --lines 0` passed unrefused.
TEST(GuChecker, GivenZeroLinesOrEmptyToneIsAnError) {
    const auto message = [](const auto& fn) {
        try {
            fn();
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(message([] { check_poem("wugu", kGood[2].text, "pingshui", {}, 0); }),
              "lines: 五言古诗 rhymes on the even lines, so it takes an even number of lines; "
              "expected 4 to 400, got 0");
    EXPECT_EQ(message([] { check_gu("wugu", kGood[2].text, RhymeBook::Pingshui, 0, "any"); }),
              "lines: 五言古诗 rhymes on the even lines, so it takes an even number of lines; "
              "expected 4 to 400, got 0");
    EXPECT_EQ(message([] { check_poem("wujue", kGood[2].text, "pingshui", {}, 0); }),
              "lines: only the 古体 forms (wugu, qigu, zayan) take a line count; expected no lines "
              "for wujue");
    EXPECT_EQ(message([] { check_poem("haiku", "an old silent pond", "pingshui", {}, 0); }),
              "lines: only the 古体 forms (wugu, qigu, zayan) take a line count; expected no lines "
              "for haiku");
    EXPECT_EQ(message([] { check_poem("qigu", kGood[7].text, "pingshui", {}, std::nullopt, ""); }),
              "tone_rhyme: unknown rhyme tone; expected ping (平), ze (仄), any or alternate "
              "(换韵: 平 and 仄 in turn), got ''");
    EXPECT_EQ(message([] { check_poem("wujue", kGood[2].text, "pingshui", {}, std::nullopt, ""); }),
              "tone_rhyme: only the 古体 forms (wugu, qigu, zayan) take a rhyme tone; expected no "
              "tone_rhyme for wujue");
    // The checker's own range reaches 400; generation's stops at 24.
    EXPECT_TRUE(check_poem("wugu", kGood[2].text, "pingshui", {}, 4, "any").empty());
    EXPECT_NE(message([] {
                  check_poem("wugu", kGood[2].text, "pingshui", {}, 402);
              }).find("expected 4 to 400, got 402"),
              std::string::npos);
    // A request's keys: the same messages, and a zero count is not the default 8.
    EXPECT_NE(message([] {
                  find_zh_form_for({{"form", "qigu"}, {"lines", 0}});
              }).find("expected 4 to 24, got 0"),
              std::string::npos);
    EXPECT_NE(message([] {
                  find_zh_form_for({{"form", "qigu"}, {"lines", 1000000}});
              }).find("expected 4 to 24, got 1000000"),
              std::string::npos);
    EXPECT_EQ(message([] {
                  find_zh_form_for({{"form", "qigu"}, {"tone_rhyme", ""}});
              }),
              "tone_rhyme: unknown rhyme tone; expected ping (平), ze (仄), any or alternate "
              "(换韵: 平 and 仄 in turn), got ''");
    EXPECT_EQ(find_zh_form_for({{"form", "qigu"}, {"lines", nullptr}})->line_count(),
              kGuDefaultLines);
}

// 换韵 (--stanzas) and 杂言 (zayan, --pattern): the shapes a request asks for, and one message for
// each bad option.
TEST(GuStanzas, ShapesAndOptions) {
    const FormDef* f = find_zh_form_for(json{{"form", "qigu"}, {"lines", 12}, {"stanzas", 4}});
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->line_count(), 12);
    ASSERT_EQ(f->stanzas.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(f->stanzas[i].first_line, static_cast<int>(4 * i));
        ASSERT_EQ(f->stanzas[i].variants.size(), 4u);  // 平/仄 x 首句入韵 or not
        EXPECT_EQ(f->stanzas[i].variants[0].lines.size(), 4u);
        EXPECT_EQ(f->stanzas[i].variants[0].lines[0].rhyme, 'A');
    }
    ASSERT_EQ(f->variants.size(), 1u);  // one joined reading, for the shape
    EXPECT_TRUE(f->variants[0].rhyme_changes);
    EXPECT_EQ(f->variants[0].lines[5].rhyme, 'B');
    EXPECT_EQ(f->variants[0].lines[11].rhyme, 'C');
    EXPECT_FALSE(f->alternate_tones);
    // A list gives the count; a list and a string are the same request.
    const FormDef* g = find_zh_form_for(json{{"form", "wugu"}, {"stanzas", json::array({4, 8})}});
    EXPECT_EQ(g->line_count(), 12);
    EXPECT_EQ(g->stanzas[1].first_line, 4);
    EXPECT_EQ(g, find_zh_form_for(json{{"form", "wugu"}, {"stanzas", "4, 8"}}));
    // One stanza is one rhyme: the plain 古体 form.
    EXPECT_EQ(find_zh_form_for(json{{"form", "wugu"}, {"stanzas", 8}}),
              find_zh_form_for(json{{"form", "wugu"}}));
    // Alternate tones: every stanza has both, the joined reading turns 平, 仄, 平.
    const FormDef* a = find_zh_form_for(
        json{{"form", "qigu"}, {"lines", 12}, {"stanzas", "4"}, {"tone_rhyme", "alternate"}});
    EXPECT_TRUE(a->alternate_tones);
    EXPECT_EQ(a->variants[0].lines[1].rhyme_tone(), 'P');
    EXPECT_EQ(a->variants[0].lines[5].rhyme_tone(), 'Z');
    EXPECT_EQ(a->variants[0].lines[9].rhyme_tone(), 'P');
    const FormDef* z =
        find_zh_form_for(json{{"form", "wugu"}, {"stanzas", "2,2"}, {"tone_rhyme", "ze"}});
    EXPECT_EQ(z->stanzas[0].variants.size(), 2u);
    // 杂言: the default pattern, or the one asked for.
    const FormDef* za = find_zh_form("zayan");
    ASSERT_NE(za, nullptr);
    EXPECT_TRUE(za->gu);
    EXPECT_EQ(za->title, "杂言古诗");
    EXPECT_EQ(pattern_of(*za), "3,3,7,7,5,5,7,7");
    const FormDef* zp = find_zh_form_for(
        json{{"form", "zayan"}, {"pattern", json::array({5, 5, 6, 6})}, {"lines", 4}});
    EXPECT_EQ(pattern_of(*zp), "5,5,6,6");
    EXPECT_EQ(zp->variants[0].lines[3].patterns.size(), 32u);  // 2^5: free but for the rhyme
    EXPECT_EQ(
        find_zh_form_for(json{{"form", "zayan"}, {"pattern", "3,3,7,7,3,3,7,7"}, {"stanzas", 4}})
            ->stanzas.size(),
        2u);

    EXPECT_EQ(error_of({{"form", "qigu"}, {"stanzas", 3}}),
              "stanzas: a stanza rhymes on its even lines, so it has an even number of lines, 2 or "
              "more; expected "
              "e.g. 4 or 4,4,8, got '3'");
    EXPECT_EQ(error_of({{"form", "qigu"}, {"lines", 12}, {"stanzas", "4,4"}}),
              "stanzas: 4,4 adds up to 8 lines; expected stanzas that add up to the poem's 12");
    EXPECT_EQ(error_of({{"form", "qigu"}, {"lines", 12}, {"stanzas", 8}}),
              "stanzas: a new rhyme every 8 lines does not divide 12 lines; expected a stanza "
              "length that divides "
              "the line count, or a list that adds up to it");
    EXPECT_EQ(error_of({{"form", "qigu"}, {"stanzas", "4;4"}}),
              "stanzas: expected whole numbers separated by commas, e.g. 4 or 4,4,8, got '4;4'");
    EXPECT_EQ(error_of({{"form", "qigu"}, {"stanzas", json::array({4, "x"})}}),
              "stanzas: expected a list of whole numbers such as 4 or [4,4,8], got [4,\"x\"]");
    EXPECT_EQ(error_of({{"form", "qigu"}, {"stanzas", "8,8,8,8"}}),
              "stanzas: 8,8,8,8 adds up to 32 lines; 七言古诗 takes 4 to 24 lines");
    EXPECT_EQ(error_of({{"form", "wujue"}, {"stanzas", 2}}),
              "stanzas: only the 古体 forms (wugu, qigu, zayan) take a stanza list (换韵); "
              "expected no stanzas for wujue");
    EXPECT_EQ(
        error_of({{"form", "wugu"}, {"pattern", "5,5,5,5"}}),
        "pattern: only 杂言古诗 (zayan) takes a line-length pattern; expected no pattern for wugu");
    EXPECT_EQ(error_of({{"form", "zayan"}, {"pattern", "3,3,10,10"}}),
              "pattern: a 杂言 line has 3 to 9 characters; expected 3 to 9, got 10 for line 3");
    EXPECT_EQ(error_of({{"form", "zayan"}, {"pattern", "3,3,7"}}),
              "pattern: 杂言古诗 rhymes on the even lines, so its pattern gives an even number of "
              "lines; expected 4 "
              "to 24, got 3");
    EXPECT_EQ(error_of({{"form", "zayan"}, {"pattern", ""}}),
              "pattern: expected whole numbers separated by commas, e.g. 3,3,7,7,5,5,7,7, got ''");
    EXPECT_EQ(error_of({{"form", "zayan"}, {"lines", 8}}),
              "lines: 杂言古诗 takes its lines from a pattern; expected a pattern such as "
              "3,3,7,7,5,5,7,7 with "
              "lines, got lines 8 alone");
    EXPECT_EQ(error_of({{"form", "zayan"}, {"lines", 6}}).substr(0, 6), "lines:");
    EXPECT_EQ(error_of({{"form", "zayan"}, {"pattern", "5,5,6,6"}, {"lines", 6}}),
              "lines: the pattern gives 杂言古诗 4 lines; expected 4 or no lines, got 6");
    EXPECT_EQ(error_of({{"form", "wugu"}, {"tone_rhyme", "alternate"}}),
              "tone_rhyme: alternate turns the rhyme tone at each stanza; expected stanzas (e.g. "
              "4) with it, or "
              "ping, ze or any for one rhyme");
}

// 李白 月下独酌 其一: eight lines on 真 (亲 人 身 春), then six on 翰 (乱 散 汉).
const char* kYuexia =
    "花间一壶酒，独酌无相亲。举杯邀明月，对影成三人。月既不解饮，影徒随我身。暂伴月将影，行乐须及春"
    "。"
    "我歌月徘徊，我舞影零乱。醒时同交欢，醉后各分散。永结无情游，相期邈云汉。";
// 岑参 白雪歌送武判官归京: seven stanzas, 入 平 入 平 入 平 去 in turn (折雪 来开 幕薄着 冰凝 客笛
// 门翻 去路处), the couplets rhyming on both lines.
const char* kBaixue =
    "北风卷地白草折，胡天八月即飞雪。忽如一夜春风来，千树万树梨花开。散入珠帘湿罗幕，狐裘不暖锦衾薄"
    "。"
    "将军角弓不得控，都护铁衣冷难着。瀚海阑干百丈冰，愁云惨淡万里凝。中军置酒饮归客，胡琴琵琶与羌笛"
    "。"
    "纷纷暮雪下辕门，风掣红旗冻不翻。轮台东门送君去，去时雪满天山路。山回路转不见君，雪上空留马行处"
    "。";

TEST(GuStanzas, RhymeChangingTangPoemsPass) {
    CheckResult r = check_gu("wugu", kYuexia, RhymeBook::Pingshui, GuOptions{.stanzas = "8,6"});
    EXPECT_TRUE(r.ok()) << faults_of(r);
    EXPECT_EQ(r.variant, "换韵 平韵·首句不入韵 / 仄韵·首句不入韵");
    EXPECT_TRUE(check_gu("wugu", kYuexia, RhymeBook::Pingshui,
                         GuOptions{.tone_rhyme = "alternate", .stanzas = "8,6"})
                    .ok());
    EXPECT_TRUE(
        check_poem("wugu", kYuexia, "pingshui", {}, GuOptions{.lines = 14, .stanzas = "8,6"})
            .empty());
    // Held to one 平 rhyme, the 翰 stanza is the fault.
    r = check_gu("wugu", kYuexia, RhymeBook::Pingshui,
                 GuOptions{.tone_rhyme = "ping", .stanzas = "8,6"});
    EXPECT_NE(faults_of(r).find("line 10, char 5: 平 expected, 乱 is 仄"), std::string::npos)
        << faults_of(r);

    r = check_gu("qigu", kBaixue, RhymeBook::Pingshui,
                 GuOptions{.tone_rhyme = "alternate", .stanzas = "2,2,4,2,2,2,4"});
    EXPECT_TRUE(r.ok()) << faults_of(r);
    EXPECT_EQ(r.variant.substr(0, r.variant.find(" / ")), "换韵 仄韵·首句入韵");
    // Starting 平 fits no stanza: alternate is read from either tone.
    EXPECT_TRUE(
        check_gu("qigu", kBaixue, RhymeBook::Pingshui, GuOptions{.stanzas = "2,2,4,2,2,2,4"}).ok());
    // Read as one rhyme it is full of faults, which is why 换韵 must be asked for.
    EXPECT_GT(check_gu("qigu", kBaixue, RhymeBook::Pingshui, std::nullopt, "any").rhyme_faults, 5);
}

TEST(GuStanzas, CatchesAKeptRhymeAndBrokenStanzas) {
    // 静夜思 in two couplets: 光 霜, then 乡 — still 阳, so the rhyme has not changed.
    CheckResult r = check_gu("wugu", kGood[0].text, RhymeBook::Pingshui, GuOptions{.stanzas = "2"});
    ASSERT_EQ(r.faults.size(), 1u) << faults_of(r);
    EXPECT_EQ(r.faults[0].message,
              "line 4, char 5: stanza 2 (lines 3-4) keeps the rhyme of stanza 1 (平水韵阳); 换韵 "
              "expects a new rhyme "
              "at each stanza");
    EXPECT_EQ(r.faults[0].line, 4);
    EXPECT_EQ(r.faults[0].found, "乡 (平水韵阳)");
    EXPECT_FALSE(r.rhyme_ok);
    EXPECT_TRUE(r.tone_ok);
    // Stanzas that do not fit the poem's count: the count is the one fault (at its own count) ...
    r = check_gu("wugu", kYuexia, RhymeBook::Pingshui, GuOptions{.stanzas = "4"});
    ASSERT_EQ(r.faults.size(), 1u) << faults_of(r);
    EXPECT_EQ(r.faults[0].message,
              "poem: stanzas of 4 lines; expected a multiple of 4 lines, found 14");
    // ... or a list that adds up to another count holds the poem to it.
    r = check_gu("wugu", kYuexia, RhymeBook::Pingshui, GuOptions{.stanzas = "8,8"});
    EXPECT_EQ(faults_of(r), "poem: 16 lines expected, found 14\n");
    // Stanzas cut in the wrong place: the 翰 rhymes fall in the 真 stanza, and are named.
    r = check_gu("wugu", kYuexia, RhymeBook::Pingshui, GuOptions{.stanzas = "10,4"});
    EXPECT_FALSE(r.rhyme_ok);
    EXPECT_NE(faults_of(r).find("line 10, char 5"), std::string::npos) << faults_of(r);
    // A rhyme character repeated within a stanza; across stanzas the rhymes differ anyway.
    r = check_gu(
        "wugu",
        "千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江灭。春来江水绿，花落鸟声喧。夜半钟声起，"
        "孤舟客未眠。",
        RhymeBook::Pingshui, GuOptions{.stanzas = "4"});
    EXPECT_NE(faults_of(r).find("line 4, char 5: rhyme character 灭 repeats an earlier rhyme"),
              std::string::npos)
        << faults_of(r);
    // A stanza given with a bad option is an error, whatever the poem.
    EXPECT_THROW(check_gu("wugu", kYuexia, RhymeBook::Pingshui, GuOptions{.stanzas = "7,7"}),
                 Error);
    EXPECT_THROW(check_poem("wujue", kGood[0].text, "pingshui", {}, GuOptions{.stanzas = "2"}),
                 Error);
}

// 杂言: 陈子昂 登幽州台歌 (5,5,6,6; 者 下 in 马) and 李白 秋风词 (3,3,5,5,7,7; 清 明 惊 情 in 庚).
const char* kYouzhou = "前不见古人，后不见来者。念天地之悠悠，独怆然而涕下。";
const char* kQiufeng = "秋风清，秋月明，落叶聚还散，寒鸦栖复惊。相思相见知何日？此时此夜难为情！";

TEST(Zayan, MixedLinesPassAndWrongLengthsAreNamed) {
    CheckResult r = check_gu("zayan", kYouzhou, RhymeBook::Pingshui, GuOptions{});
    EXPECT_TRUE(r.ok()) << faults_of(r);
    EXPECT_TRUE(
        check_poem("zayan", kYouzhou, "pingshui", {}, GuOptions{.pattern = "5,5,6,6"}).empty());
    EXPECT_TRUE(check_gu("zayan", kQiufeng, RhymeBook::Pingshui, GuOptions{}).ok()) << faults_of(r);
    EXPECT_TRUE(
        check_gu("zayan", kQiufeng, RhymeBook::Pingshui, GuOptions{.pattern = "3,3,5,5,7,7"}).ok());
    // As 五言古诗 the six-character lines are faults.
    r = check_gu("wugu", kYouzhou, RhymeBook::Pingshui, std::nullopt, "any");
    EXPECT_NE(faults_of(r).find("line 3: 5 characters expected, found 6 (念天地之悠悠)"),
              std::string::npos)
        << faults_of(r);
    // Held to another pattern, the lines that differ are named.
    r = check_gu("zayan", kQiufeng, RhymeBook::Pingshui, GuOptions{.pattern = "3,3,7,7,7,7"});
    EXPECT_EQ(r.length_faults, 2) << faults_of(r);
    EXPECT_NE(faults_of(r).find("line 3: 7 characters expected, found 5 (落叶聚还散)"),
              std::string::npos);
    // A line outside 3..9 characters is that line's fault at the poem's own shape.
    r = check_gu("zayan", "秋风，秋月明，落叶聚还散，寒鸦栖复惊。", RhymeBook::Pingshui,
                 GuOptions{});
    EXPECT_EQ(faults_of(r), "line 1: 3 characters expected, found 2 (秋风)\n");
    // An odd count is the one fault; a pattern given is checked as an option.
    r = check_gu("zayan", "秋风清，秋月明，落叶聚还散。", RhymeBook::Pingshui, GuOptions{});
    EXPECT_EQ(faults_of(r),
              "poem: 古体 rhymes on the even lines; expected an even number of lines from 4 to "
              "400, found 3\n");
    EXPECT_THROW(
        check_gu("zayan", kQiufeng, RhymeBook::Pingshui, GuOptions{.pattern = "3,3,12,5,7,7"}),
        Error);
    // 换韵 with mixed lines: 秋风词 in a 4 and a 2 keeps 庚 in both, so the change is the fault.
    r = check_gu("zayan", kQiufeng, RhymeBook::Pingshui, GuOptions{.stanzas = "4,2"});
    EXPECT_EQ(r.rhyme_faults, 1) << faults_of(r);
}

// Under pingshui-strict a 古体 rhyme keeps one 平水韵 group; under pingshui the 部 (邻韵 通押, 上
// with 去 of a row) is enough. 杜甫 望岳 rhymes 了 晓 鸟 小, all 筱: both pass; with 少 (筱/啸) too.
TEST(GuChecker, StrictBookHoldsOneGroup) {
    const char* mixed = "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多照。";  // 照 is 去声 啸: 筱's row
    EXPECT_TRUE(check_gu("wugu", mixed, RhymeBook::Pingshui, std::nullopt, "any").rhyme_ok);
    CheckResult r = check_gu("wugu", mixed, RhymeBook::PingshuiStrict, std::nullopt, "any");
    EXPECT_FALSE(r.rhyme_ok);
    EXPECT_NE(faults_of(r).find("line 4, char 5: rhyme 平水韵筱 expected, 照 is in 平水韵啸"), std::string::npos)
        << faults_of(r);
    EXPECT_TRUE(
        check_gu("wugu", kGood[5].text, RhymeBook::PingshuiStrict, std::nullopt, "any").ok());
}

// Agreement with the corpus: Tang poems whose titles name a 古体 series (古风, 感遇, 古意, 拟古,
// 杂诗, 咏怀, 效古, 古兴, 古别离, 古离别, 古歌), of 5 or 7 characters a line and an even count,
// leaving out the few of regulated shape by the editors' 平仄 marks (some 古意 are 律诗).
// Printed with the 三平尾 share of their 平 rhyme lines; the test bounds the agreement of the
// poems that keep one rhyme tone (the editors' marks: every even line ends in it) from below.
TEST(GuChecker, AgreementWithTangOldStyleVerse) {
    const std::string dir = chinese_poetry_dir();
    if (dir.empty()) GTEST_SKIP() << "npm chinese-poetry not installed";
    namespace fs = std::filesystem;
    static const char* const kSeries[] = {"古风", "感遇", "古意", "拟古", "杂诗", "咏怀",
                                          "效古", "古兴", "古别离", "古离别", "古歌"};
    int total = 0, agree = 0, strict_agree = 0, one_tone = 0, one_tone_agree = 0, rhyme_bad = 0, len_bad = 0;
    int ping_rhymes = 0, three_ping = 0;
    const Prosody& pr = Prosody::get();
    for (int file = 0; file < 58000; file += 1000) {
        fs::path p = fs::path(dir) / "dist" / "quantangshi" / ("poet.tang." + std::to_string(file) + ".json");
        fs::path sp = fs::path(dir) / "dist" / "strains" / "json" / ("poet.tang." + std::to_string(file) + ".json");
        std::ifstream in(p), sin(sp);
        if (!in || !sin) continue;
        json poems = json::parse(in), strains = json::parse(sin);
        std::map<std::string, std::string> marks;
        for (const auto& s : strains) {
            std::string m;
            for (const auto& l : s["strains"]) m += l.get<std::string>();
            marks[s["id"].get<std::string>()] = m;
        }
        for (const auto& poem : poems) {
            const std::string title = to_simplified(poem.value("title", std::string()));
            bool series = false;
            for (const char* s : kSeries) series |= title.rfind(s, 0) == 0;
            if (!series) continue;
            std::string text;
            for (const auto& l : poem["paragraphs"]) text += l.get<std::string>();
            const auto lines = split_verse(text);
            const size_t len = lines.empty() ? 0 : lines[0].size();
            bool shape = (len == 5 || len == 7) && lines.size() >= 4 && lines.size() % 2 == 0;
            for (const auto& l : lines) shape = shape && l.size() == len;
            if (!shape) continue;
            auto it = marks.find(poem.value("id", std::string()));
            const auto mlines = it == marks.end() ? decltype(lines){} : split_verse(it->second);
            const bool marked = mlines.size() == lines.size();
            if (marked && (lines.size() == 4 || lines.size() == 8)) {
                // Regulated by the marks: the five-character core's 2nd and 4th differ, rhymes end 平.
                bool reg = true;
                for (size_t i = 0; i < lines.size() && reg; ++i) {
                    reg = mlines[i].size() == len && mlines[i][len - 4] != mlines[i][len - 2] &&
                          (i % 2 == 0 || mlines[i][len - 1] == U'平');
                }
                if (reg) continue;
            }
            const char* name = len == 5 ? "wugu" : "qigu";
            const CheckResult r = check_gu(name, text, RhymeBook::Pingshui, std::nullopt, "any");
            ++total;
            strict_agree +=
                check_gu(name, text, RhymeBook::PingshuiStrict, std::nullopt, "any").ok() ? 1 : 0;
            agree += r.ok() ? 1 : 0;
            rhyme_bad += r.rhyme_ok ? 0 : 1;
            len_bad += r.length_ok ? 0 : 1;
            bool same = marked;
            for (size_t i = 3; same && i < lines.size(); i += 2) same = mlines[i].back() == mlines[1].back();
            if (same) {
                ++one_tone;
                one_tone_agree += r.ok() ? 1 : 0;
            }
            if (!r.ok() && std::getenv("LYRA_POETRY_DEBUG"))
                std::printf("%s %s | %s%s\n", title.c_str(), text.c_str(), r.tone_ok ? "" : "[tone] ",
                            r.faults[0].message.c_str());
            for (size_t i = 1; same && mlines[1].back() == U'平' && i < lines.size(); i += 2) {
                ++ping_rhymes;
                bool flat = true;
                for (size_t j = len - 3; j < len; ++j) flat = flat && pr.tone(lines[i][j], RhymeBook::Pingshui) == kPing;
                three_ping += flat ? 1 : 0;
            }
        }
    }
    ASSERT_GT(total, 250);
    std::printf("checker agreement on %d Tang 古体 poems: %.1f%% (%d; %d under pingshui-strict); on the %d that "
                "keep one rhyme tone: %.1f%% (%d); rhyme faults in %d, bad characters in %d; 三平尾 on %d of %d "
                "平 rhyme lines (%.1f%%)\n",
                total, 100.0 * agree / total, agree, strict_agree, one_tone, 100.0 * one_tone_agree / one_tone,
                one_tone_agree, rhyme_bad, len_bad, three_ping, ping_rhymes, 100.0 * three_ping / ping_rhymes);
    EXPECT_GT(static_cast<double>(one_tone_agree) / one_tone, 0.75);
}

}  // namespace
}  // namespace lyra::art::poetry
