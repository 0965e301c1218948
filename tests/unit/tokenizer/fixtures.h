// Hand-built vocabularies for the tokenizer tests. Every expected id in the tests is worked out
// by hand from these tables (comments show the working), not by running the code under test.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "model/format/gguf.h"
#include "model/tokenizer/tokenizer.h"
#include "model/tokenizer/vocab.h"

namespace lyra::model::test {

// "llama" vocabulary:
//   0 <unk>, 1 <s>, 2 </s>, 3..258 <0x00>..<0xFF> (byte b is id 3 + b),
//   259 "▁" (-1), 260 "h" (-2), 261 "e" (-3), 262 "l" (-4), 263 "o" (-5), 264 "he" (-10),
//   265 "ll" (-6), 266 "llo" (-20), 267 "hell" (-8), 268 "你" (-9), 269 "▁▁" (-7),
//   270 "<|im_end|>" (Control), 271 "<tag>" (UserDefined)
inline Vocab spm_vocab(bool add_space_prefix = true) {
    Vocab v;
    v.model = "llama";
    v.bos = 1;
    v.eos = 2;
    v.unk = 0;
    v.add_bos = true;
    v.add_space_prefix = add_space_prefix;
    auto add = [&](std::string t, TokenType ty, float s) {
        v.tokens.push_back(std::move(t));
        v.types.push_back(ty);
        v.scores.push_back(s);
    };
    add("<unk>", TokenType::Unknown, 0);
    add("<s>", TokenType::Control, 0);
    add("</s>", TokenType::Control, 0);
    for (int b = 0; b < 256; ++b) add(fmt::format("<0x{:02X}>", b), TokenType::Byte, 0);
    add("\xE2\x96\x81", TokenType::Normal, -1);
    add("h", TokenType::Normal, -2);
    add("e", TokenType::Normal, -3);
    add("l", TokenType::Normal, -4);
    add("o", TokenType::Normal, -5);
    add("he", TokenType::Normal, -10);
    add("ll", TokenType::Normal, -6);
    add("llo", TokenType::Normal, -20);
    add("hell", TokenType::Normal, -8);
    add("\xE4\xBD\xA0", TokenType::Normal, -9);
    add("\xE2\x96\x81\xE2\x96\x81", TokenType::Normal, -7);
    add("<|im_end|>", TokenType::Control, 0);
    add("<tag>", TokenType::UserDefined, 0);
    return v;
}

// GPT-2's byte -> stand-in character table, written out from its definition (encoder.py
// bytes_to_unicode): bytes '!'..'~', 0xA1..0xAC, 0xAE..0xFF are themselves; the remaining
// bytes, in increasing order, become U+0100, U+0101, ...
inline std::string byte_char(int b) {
    int cp;
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE) {
        cp = b;
    } else {
        int k = 0;  // how many non-printable bytes come before b
        for (int x = 0; x < b; ++x)
            if (!((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE)) ++k;
        cp = 256 + k;
    }
    std::string s;
    if (cp < 0x80) {
        s += static_cast<char>(cp);
    } else {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
}

// "gpt2" vocabulary: ids 0..255 are the byte characters (id = byte value; ' ' is "Ġ" = id 32,
// '\n' is "Ċ" = id 10), then merges in rank order:
//   rank 0 "l l" -> 256 "ll"      rank 1 "h e" -> 257 "he"      rank 2 "he ll" -> 258 "hell"
//   rank 3 "Ġ w" -> 259 "Ġw"      rank 4 "o r" -> 260 "or"      rank 5 "Ġw or" -> 261 "Ġwor"
//   rank 6 "Ġ Ġ" -> 262 "ĠĠ"      rank 7 "3 4" -> 263 "34"      rank 8 "1 2" -> 264 "12"
//   rank 9 "o Ġ" -> 265 "oĠ"  (never applies: "o" and " " are always in different chunks)
//   266 "<|endoftext|>" (Control)
inline Vocab bpe_vocab(const std::string& pre = "gpt2") {
    Vocab v;
    v.model = "gpt2";
    v.pre = pre;
    for (int b = 0; b < 256; ++b) v.tokens.push_back(byte_char(b));
    const std::string G = byte_char(' ');
    const std::vector<std::pair<std::string, std::string>> merges = {
        {"l", "l"},      {"h", "e"}, {"he", "ll"}, {G, "w"},   {"o", "r"},
        {G + "w", "or"}, {G, G},     {"3", "4"},   {"1", "2"}, {"o", G}};
    for (const auto& [a, b] : merges) {
        v.merges.push_back(a + " " + b);
        v.tokens.push_back(a + b);
    }
    v.tokens.push_back("<|endoftext|>");
    v.types.assign(v.tokens.size(), TokenType::Normal);
    v.types.back() = TokenType::Control;
    v.bos = v.eos = 266;
    return v;
}

// Writes `w` to a temporary GGUF file, opens it and builds its tokenizer.
inline std::unique_ptr<Tokenizer> reload_gguf(const GgufWriter& w, const std::string& name) {
    const std::string path =
        testing::TempDir() + "/lyra_tok_" + std::to_string(getpid()) + "_" + name + ".gguf";
    w.write(path);
    std::unique_ptr<Tokenizer> t;
    try {
        auto g = GgufFile::open(path);
        t = Tokenizer::from_gguf(*g);
    } catch (...) {
        std::remove(path.c_str());
        throw;
    }
    std::remove(path.c_str());
    return t;
}

}  // namespace lyra::model::test
