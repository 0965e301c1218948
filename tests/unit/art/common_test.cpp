// The art forms' shared layer: request parsing, ranking, artifacts, subprocesses, hashing.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "art/common/art.h"
#include "art/common/artifacts.h"
#include "art/common/process.h"
#include "art/common/text.h"
#include "core/error.h"
#include "core/sha256.h"

namespace lyra::art {
namespace {

namespace fs = std::filesystem;

TEST(Sha256, KnownVectors) {
    EXPECT_EQ(core::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(core::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // Two blocks (56 bytes forces the length into a second block).
    EXPECT_EQ(core::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    core::Sha256 h;  // fed in odd-sized pieces: same as one piece
    const std::string million(1000000, 'a');
    for (size_t i = 0; i < million.size(); i += 997) h.update(million.substr(i, 997));
    EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Request, CommonOptionsParseAndRefuseBadValues) {
    const CommonOptions o = parse_common(json{{"seed", 7}, {"n", 3}, {"temperature", 0.5}});
    EXPECT_EQ(o.seed, 7u);
    EXPECT_EQ(o.n, 3);
    EXPECT_FLOAT_EQ(o.temperature, 0.5f);
    EXPECT_THROW(parse_common(json{{"n", 0}}), Error);
    EXPECT_THROW(parse_common(json{{"n", 2.5}}), Error);
    EXPECT_THROW(parse_common(json{{"top_p", 1.5}}), Error);
    EXPECT_THROW(parse_common(json{{"model", 3}}), Error);
    try {
        parse_common(json{{"seed", "x"}});
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("seed"), std::string::npos) << e.what();
    }
}

// kv_type (issue 2): the KV cache type reaches the generator options and the recorded options;
// f16 by default, a type the cache cannot hold is refused by its value.
TEST(Request, KvTypeIsACommonOption) {
    EXPECT_EQ(parse_common(json::object()).kv_type, core::DType::F16);
    const CommonOptions o = parse_common(json{{"kv_type", "f32"}});
    EXPECT_EQ(o.kv_type, core::DType::F32);
    EXPECT_EQ(generate_options(o, 8).kv_type, core::DType::F32);
    EXPECT_EQ(common_to_json(o)["kv_type"], "f32");
    EXPECT_NO_THROW(check_keys(json{{"kv_type", "f16"}}, {}, "poem"));
    try {
        parse_common(json{{"kv_type", "bf16"}});
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("kv type 'bf16'"), std::string::npos) << e.what();
    }
}

TEST(Request, UnknownKeysAreRefusedByName) {
    EXPECT_NO_THROW(check_keys(json{{"theme", "x"}, {"seed", 1}}, {"theme"}, "poem"));
    try {
        check_keys(json{{"tehme", "x"}}, {"theme"}, "poem");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("tehme"), std::string::npos) << e.what();
    }
    EXPECT_THROW(check_keys(json::array(), {"theme"}, "poem"), Error);
}

TEST(Result, RankingPutsTheBestFirstAndJsonHasTheContractShape) {
    ArtResult r{.form = "poem", .seed = 4};
    r.candidates = {{.text = "a", .scores = {{"x", 1}}, .score = 0.2},
                    {.text = "b", .scores = {{"x", 2}}, .score = 0.9}};
    rank_candidates(r);
    EXPECT_EQ(r.text, "b");
    const json j = to_json(r);
    EXPECT_EQ(j["form"], "poem");
    EXPECT_EQ(j["candidates"][0]["text"], "b");
    EXPECT_FALSE(j.contains("files"));
    EXPECT_FALSE(j.contains("gallery_id"));
}

TEST(Artifacts, CommitRenamesAllAndAnAbandonedSetLeavesNothing) {
    const fs::path dir = fs::temp_directory_path() / ("lyra-art-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    {
        ArtifactSet set(dir.string());
        set.add("txt", "poem.txt", "hello");
        // dies without commit
    }
    EXPECT_TRUE(fs::is_empty(dir));
    {
        ArtifactSet set(dir.string());
        set.add("txt", "poem.txt", "hello");
        const std::string svg = set.reserve("svg", "x.svg");
        std::ofstream(svg) << "<svg/>";
        const auto files = set.commit();
        EXPECT_EQ(files.at("txt"), (dir / "poem.txt").string());
        EXPECT_TRUE(fs::exists(dir / "x.svg"));
    }
    {
        ArtifactSet set(dir.string());
        set.reserve("svg", "never.svg");  // the renderer "failed"
        EXPECT_THROW(set.commit(), Error);
    }
    EXPECT_FALSE(fs::exists(dir / "never.svg"));
    EXPECT_THROW(ArtifactSet((dir / "poem.txt").string()), Error);  // a file, not a directory
    fs::remove_all(dir);
}

TEST(Process, CapturesOutputStatusAndStdin) {
    const ProcessResult r = run_process({"sh", "-c", "cat; echo err >&2; exit 3"}, "piped");
    EXPECT_EQ(r.out, "piped");
    EXPECT_EQ(r.err, "err\n");
    EXPECT_EQ(r.exit_code, 3);
    // A large input that the child never reads must not hang or kill us.
    const ProcessResult big = run_process({"true"}, std::string(1 << 22, 'x'));
    EXPECT_EQ(big.exit_code, 0);
    const ProcessResult slow = run_process({"sleep", "5"}, {}, 0.2);
    EXPECT_TRUE(slow.timed_out);
    try {
        run_process({"lyra-no-such-program"}, {}, 1, "some-package");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::NotFound);
        EXPECT_NE(std::string(e.what()).find("some-package"), std::string::npos);
    }
}

TEST(Text, DropInvalidUtf8KeepsEveryValidCharacterAndOnlyThose) {
    EXPECT_EQ(drop_invalid_utf8("plain"), "plain");
    EXPECT_EQ(drop_invalid_utf8("秋夜 é 🎵"), "秋夜 é 🎵");
    // A lead byte cut off by the token budget, a stray continuation byte, an overlong "/" and a
    // surrogate are dropped; the characters around them stay.
    EXPECT_EQ(drop_invalid_utf8("ab\xE7\xA7"), "ab");
    EXPECT_EQ(drop_invalid_utf8("\x80秋\xBF夜"), "秋夜");
    EXPECT_EQ(drop_invalid_utf8("a\xC0\xAFz"), "az");
    EXPECT_EQ(drop_invalid_utf8("x\xED\xA0\x80y"), "xy");
    EXPECT_EQ(drop_invalid_utf8(""), "");
}

TEST(Text, DropFrontUtf8CutsOnlyAtCharacterBoundaries) {
    const std::string s = "秋夜abc";  // two 3-byte characters, then ASCII
    EXPECT_EQ(drop_front_utf8(s, 0), s);
    EXPECT_EQ(drop_front_utf8(s, 1), "夜abc");  // inside 秋: moved to the next boundary
    EXPECT_EQ(drop_front_utf8(s, 3), "夜abc");
    EXPECT_EQ(drop_front_utf8(s, 7), "bc");
    EXPECT_EQ(drop_front_utf8(s, 100), "");
}

}  // namespace
}  // namespace lyra::art
