// English pronunciation: the CMU dictionary, the letter-to-sound fallback, word splitting.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include "art/poetry/en/pronounce.h"
#include "core/error.h"
#include "core/rng.h"
#include "model/model.h"
#include "unit/constraint/constraint_test_util.h"
#include "unit/constraint/syllable_walk_check.h"

namespace lyra::art::poetry::en {
namespace {

int syllables(std::string_view w) {
    const auto p = Dictionary::get().lookup(w);
    return p.empty() ? -1 : p.front().syllables;
}
std::string rhyme(std::string_view w) {
    const auto p = Dictionary::get().lookup(w);
    return p.empty() ? "" : p.front().rhyme;
}

TEST(Pronounce, DictionaryLoadsOnceWithItsWords) {
    const Dictionary& d = Dictionary::get();
    EXPECT_GT(d.size(), 120000u);
    EXPECT_EQ(&d, &Dictionary::get());
    EXPECT_EQ(syllables("night"), 1);
    EXPECT_EQ(syllables("beautiful"), 3);
    EXPECT_EQ(syllables("Summer"), 2);
    EXPECT_EQ(rhyme("night"), "AY T");
    EXPECT_EQ(rhyme("day"), rhyme("away"));
    EXPECT_NE(rhyme("day"), rhyme("night"));
    EXPECT_EQ(Dictionary::get().lookup("happy").front().stress, "10");
    // Variants: "every" has a 2- and a 3-syllable reading.
    const auto* every = d.find("every");
    ASSERT_NE(every, nullptr);
    EXPECT_GE(every->size(), 2u);
}

TEST(Pronounce, TruncatedDictionaryIsRefused) {
    EXPECT_THROW(Dictionary("export const dictionary = {\n  \"a\": \"AH0\",\n"), Error);
    EXPECT_THROW(Dictionary(""), Error);
}

TEST(Pronounce, PhonesGiveSyllablesStressAndRhyme) {
    const Pron p = pron_from_phones("AH0 B IH1 L AH0 T IY0");
    EXPECT_EQ(p.syllables, 4);
    EXPECT_EQ(p.stress, "0100");
    EXPECT_EQ(p.rhyme, "IH L AH T IY");
    EXPECT_EQ(pron_from_phones("S EH1 V AH0 N T IY2 N").rhyme, "IY N");  // secondary stress counts
}

TEST(Pronounce, PunctuationHyphensApostrophesNumbers) {
    EXPECT_EQ(syllables(split_words("day?").front()), 1);
    EXPECT_EQ(syllables("well-known"), 2);
    EXPECT_EQ(syllables("Heaven\xE2\x80\x99s"), 2);  // curly apostrophe
    EXPECT_EQ(syllables("dimm'd"), 1);                // -'d elision read as -ed
    EXPECT_EQ(syllables("42"), 3);                    // forty two
    EXPECT_EQ(number_to_words("1999"), "one thousand nine hundred ninety nine");
    const auto words = split_words("  \"Shall I -- compare thee\xE2\x80\x94to a summer's day?\" ");
    ASSERT_EQ(words.size(), 8u);
    EXPECT_EQ(words[0], "Shall");
    EXPECT_EQ(words[3], "thee");
    EXPECT_EQ(words[6], "summer's");
    EXPECT_EQ(words[7], "day");
    EXPECT_EQ(split_words("\xE2\x80\x98Tis the season")[0], "'Tis");
}

TEST(Pronounce, LetterToSoundFallbackForUnknownWords) {
    EXPECT_EQ(Dictionary::get().find("glimmerous"), nullptr);
    const auto p = Dictionary::get().lookup("glimmerous");
    ASSERT_EQ(p.size(), 1u);
    EXPECT_TRUE(p[0].guessed);
    EXPECT_EQ(p[0].syllables, 3);
    EXPECT_EQ(p[0].rhyme.front(), '~');
    EXPECT_EQ(guess_pron("stone").syllables, 1);     // silent e
    EXPECT_EQ(guess_pron("table").syllables, 2);     // -le
    EXPECT_EQ(guess_pron("loved").syllables, 1);     // silent -ed
    EXPECT_EQ(guess_pron("wanted").syllables, 2);
    EXPECT_EQ(guess_pron("roses").syllables, 2);
    EXPECT_EQ(guess_pron("blight").rhyme, guess_pron("flight").rhyme);
}

// The CMU dictionary as the form layer's syllable unit (`"dictionary": "cmu"`): every reading's
// count, and the same rules as lookup for words it lacks.
TEST(Pronounce, CmuIsASyllableDictionaryForTheFormLayer) {
    using gen::constraint::SyllableMask;
    auto bit = [](int k) { return SyllableMask{1} << k; };
    const auto dict = cmu_syllables();
    EXPECT_EQ(dict.get(), cmu_syllables().get());  // built once
    EXPECT_TRUE(dict->has_guess());
    EXPECT_EQ(dict->counts("night"), bit(1));
    EXPECT_EQ(dict->counts("fire"), bit(1) | bit(2));   // F AY1 R, F AY1 ER0
    EXPECT_EQ(dict->counts("every"), bit(2) | bit(3));  // EH1 V R IY0, EH1 V ER0 IY0
    EXPECT_EQ(dict->counts("beautiful"), bit(3));
    EXPECT_EQ(dict->counts("blorptastic"), bit(3));  // not in it: the letter-to-sound guess
    EXPECT_EQ(dict->counts("42"), bit(3));           // "forty two"
    EXPECT_GT(dict->words().size(), 100000u);
}

// The letter-to-sound count as a fold (what the decoder uses for a word written across tokens):
// for random words rich in the letters the rules look at (vowels, a leading y, final e, -le, -ed,
// -es after sibilants), every split into two pieces and a random split into three gives
// guess_pron's count.
TEST(Pronounce, LetterFoldGivesTheGuessCountForEverySplit) {
    using gen::constraint::SyllableMask;
    const gen::constraint::GuessFold fold = letter_guess_fold();
    auto expected = [](const std::string& w) {
        const int n = guess_pron(w).syllables;
        return n >= 1 && n <= 63 ? SyllableMask{1} << n : SyllableMask{0};
    };
    core::Rng rng(21);
    const std::string alphabet = "aeiouyyeedsslltdcgzhxbr";
    std::vector<std::string> words = {"stone", "table", "loved", "wanted", "roses", "boxes", "places", "ages", "yes",
                                      "y", "ye", "yy", "yea", "byte", "able", "eye", "ed", "es", "bed", "yed", "oboe",
                                      "rhythm", "strengths", "queue", "cooed", "yodeled"};
    for (int i = 0; i < 5000; ++i) {
        std::string w;
        for (int k = 1 + static_cast<int>(rng.uniform() * 10); k > 0; --k)
            w += alphabet[static_cast<size_t>(rng.uniform() * static_cast<float>(alphabet.size())) % alphabet.size()];
        words.push_back(w);
    }
    for (const std::string& w : words) {
        for (size_t cut = 0; cut <= w.size(); ++cut)
            ASSERT_EQ(fold.counts(fold.join(fold.summary(w.substr(0, cut)), fold.summary(w.substr(cut)))), expected(w))
                << w << " cut at " << cut;
        const size_t a = static_cast<size_t>(rng.uniform() * static_cast<float>(w.size() + 1)) % (w.size() + 1);
        const size_t b = a + static_cast<size_t>(rng.uniform() * static_cast<float>(w.size() - a + 1)) % (w.size() - a + 1);
        const uint64_t three = fold.join(fold.join(fold.summary(w.substr(0, a)), fold.summary(w.substr(a, b - a))),
                                         fold.summary(w.substr(b)));
        ASSERT_EQ(fold.counts(three), expected(w)) << w << " cut at " << a << ", " << b;
    }
    // Digits and apostrophes go to the dictionary's full lookup.
    EXPECT_EQ(fold.counts(fold.summary("o'er")), gen::constraint::kAskGuess);
    EXPECT_EQ(fold.counts(fold.join(fold.summary("abc"), fold.summary("4"))), gen::constraint::kAskGuess);

    // The bulk form answers as counts(join(...)) does, piece by piece, after any word start
    // (the empty one and digits included).
    ASSERT_TRUE(fold.counts_joined);
    std::vector<uint64_t> pieces;
    for (const std::string& w : words) pieces.push_back(fold.summary(w.substr(w.size() / 3)));
    pieces.push_back(fold.summary(""));
    pieces.push_back(fold.summary("4"));
    for (const std::string start : {"", "a", "y", "ye", "yb", "by", "str", "rhy", "ea", "o'", "x9", "table", "bl"}) {
        const uint64_t word = fold.summary(start);
        std::vector<gen::constraint::SyllableMask> bulk(pieces.size(), 12345);
        fold.counts_joined(word, pieces.data(), pieces.size(), bulk.data());
        for (size_t i = 0; i < pieces.size(); ++i)
            ASSERT_EQ(bulk[i], fold.counts(fold.join(word, pieces[i]))) << "after '" << start << "', piece " << i;
    }
}

// The fold by classes answers as counts(join(...)) for every word and piece that both have a
// class, and gives a class to every plain word and every plain piece of 3 letters or more (the
// pieces that extend most words at a large vocabulary).
TEST(Pronounce, FoldClassesCountAsTheFold) {
    const gen::constraint::GuessFold fold = letter_guess_fold();
    ASSERT_TRUE(fold.has_classes());
    core::Rng rng(31);
    const std::string alphabet = "aeiouyybcdghlrstxz";
    auto random_word = [&](int max_len) {
        std::string w;
        for (int k = 1 + static_cast<int>(rng.uniform() * static_cast<float>(max_len)); k > 0; --k)
            w += alphabet[static_cast<size_t>(rng.uniform() * static_cast<float>(alphabet.size())) % alphabet.size()];
        return w;
    };
    int compared = 0;
    for (int i = 0; i < 20000; ++i) {
        const std::string a = i % 7 == 0 ? "y" : random_word(8);
        const std::string b = random_word(9);
        const uint64_t sa = fold.summary(a), sb = fold.summary(b);
        const int64_t wc = fold.word_class(sa), pc = fold.piece_class(sb);
        ASSERT_GE(wc, 0) << a;
        ASSERT_EQ(pc >= 0, b.size() >= 3) << b;
        if (pc < 0) continue;
        const gen::constraint::SyllableMask by_class = fold.class_counts(wc, pc);
        ASSERT_NE(by_class, gen::constraint::kAskGuess);
        ASSERT_EQ(by_class, fold.counts(fold.join(sa, sb))) << a << " + " << b;
        ++compared;
    }
    EXPECT_GT(compared, 10000);
    // Digits and apostrophes have no class (the whole word is looked up).
    EXPECT_LT(fold.word_class(fold.summary("x9")), 0);
    EXPECT_LT(fold.piece_class(fold.summary("o'er")), 0);
}

// A vocabulary of about n_vocab tokens like bench_constraint's: pieces of CMU words (words that
// stay on the trie), random letter runs (made-up words, which leave it), with and without a
// leading space, digits, apostrophes, punctuation and line breaks after them.
std::unique_ptr<model::Tokenizer> random_piece_vocab(const gen::constraint::SyllableDictionary& dict, int n_vocab,
                                                     core::Rng& rng) {
    std::vector<std::string> pieces = {" ", "\n", ",", ", ", ".\n", "'", "'s", "\xE2\x80\x99", " 7", "42"};
    const std::string letters = "aeiouyrstlnmcdbgfhwkpvzxjq";
    // Rare tails as in a real vocabulary: a digit or apostrophe in a head is guessed word by word.
    const std::string tails[] = {",", " ", ".\n", "\n", "'", "3", "'s"};
    while (pieces.size() < static_cast<size_t>(n_vocab) - 300) {
        std::string p = rng.uniform() < 0.4f ? " " : "";
        if (rng.uniform() < 0.5f) {  // a piece of a dictionary word
            const std::string& w =
                dict.words()[static_cast<size_t>(rng.uniform() * static_cast<float>(dict.words().size())) % dict.words().size()].text;
            const size_t from = static_cast<size_t>(rng.uniform() * static_cast<float>(w.size())) % w.size();
            p += w.substr(from, 1 + static_cast<size_t>(rng.uniform() * 7));
        } else {
            for (int k = 1 + static_cast<int>(rng.uniform() * 8); k > 0; --k)
                p += letters[static_cast<size_t>(rng.uniform() * static_cast<float>(letters.size())) % letters.size()];
        }
        const float r = rng.uniform();
        if (r < 0.1f) p += tails[static_cast<size_t>(r * 40) % 4];
        else if (r < 0.11f) p += tails[4 + static_cast<size_t>(r * 1000) % 3];
        pieces.push_back(std::move(p));
    }
    std::sort(pieces.begin(), pieces.end());
    pieces.erase(std::unique(pieces.begin(), pieces.end()), pieces.end());
    return gen::constraint::testing::piece_vocab(pieces, true);
}

// The haiku's mask (open and closed) against a reference set up by `use_reference`, bit for bit,
// at every state of 12 random walks of up to 40 tokens over vocabularies of 32k and 150k tokens,
// mostly letters so that words grow long and leave the dictionary. Returns the states compared
// between words and inside a word, per vocabulary.
// With `fast_by_rows`, the fast side's set is built as the sampler chain builds it (its bit rows
// applied while the candidates are written, Constraint::row_mask) and the reference is apply.
void expect_masks_equal_at_large_vocabularies(const std::function<void(gen::constraint::FormConstraint&)>& use_reference,
                                              int min_between, int min_inside, bool fast_by_rows = false) {
    const auto dict = cmu_syllables();
    for (const int n_vocab : {32000, 150000}) {
        core::Rng rng(static_cast<uint64_t>(n_vocab));
        const auto tok = random_piece_vocab(*dict, n_vocab, rng);
        int between = 0, mid_word = 0;
        for (bool closed : {false, true}) {
            const gen::constraint::FormSpec spec{
                .lines = {{.units = 5}, {.units = 7}, {.units = 5}}, .closed = closed, .syllables = dict};
            gen::constraint::FormConstraint fast(spec, *tok), reference(spec, *tok);
            use_reference(reference);
            const auto fast_sampler = gen::make_constraint(&fast);
            std::vector<float> logits(static_cast<size_t>(tok->n_vocab()), 0.0f);
            gen::CandidateSet a, b;
            for (int walk = 0; walk < 12; ++walk) {
                fast.reset();
                reference.reset();
                for (int step = 0; step < 40; ++step) {
                    if (fast_by_rows) {
                        gen::constraint::testing::build_like_the_chain(*fast_sampler, a, logits);
                    } else {
                        a.reset(logits);
                        fast.apply(a);
                    }
                    b.reset(logits);
                    reference.apply(b);
                    const std::string& text = fast.text();
                    ++(!text.empty() && std::isalpha(static_cast<unsigned char>(text.back())) ? mid_word : between);
                    std::vector<model::TokenId> letter_ids, other_ids;
                    int mismatches = 0;
                    for (size_t i = 0; i < a.items.size(); ++i) {
                        ASSERT_EQ(a.items[i].id, b.items[i].id);
                        const bool yes = a.items[i].logit == 0.0f;
                        if (yes != (b.items[i].logit == 0.0f) && ++mismatches <= 5)
                            ADD_FAILURE() << n_vocab << ": token '" << tok->token_to_bytes(a.items[i].id) << "' after '"
                                          << text << "': new " << yes << ", reference " << !yes;
                        if (!yes || tok->is_eog(a.items[i].id)) continue;
                        const std::string bytes = tok->token_to_bytes(a.items[i].id);
                        (!bytes.empty() && std::isalpha(static_cast<unsigned char>(bytes[0])) ? letter_ids : other_ids)
                            .push_back(a.items[i].id);
                    }
                    ASSERT_EQ(mismatches, 0);
                    if (letter_ids.empty() && other_ids.empty()) break;
                    const auto& pool =
                        !letter_ids.empty() && (other_ids.empty() || rng.uniform() < 0.85f) ? letter_ids : other_ids;
                    const model::TokenId next =
                        pool[static_cast<size_t>(rng.uniform() * static_cast<float>(pool.size())) % pool.size()];
                    fast.accept(next);
                    reference.accept(next);
                }
            }
        }
        EXPECT_GT(between, min_between) << n_vocab;
        EXPECT_GT(mid_word, min_inside) << n_vocab;
    }
}

// The mask inside a word by classes (build_syllable_head_mask) against the head-by-head mask it
// replaced (use_reference_head_masks).
TEST(Pronounce, ClassMaskEqualsTheHeadByHeadMaskAtLargeVocabularies) {
    expect_masks_equal_at_large_vocabularies([](gen::constraint::FormConstraint& f) { f.use_reference_head_masks(true); },
                                             150, 200);
}

// The masks between words and after a word ends by token groups (build_syllable_items_mask)
// against the token-by-token mask they replaced (use_reference_items_masks). Every mask inside a
// word reads one too, for the tokens that end the word.
TEST(Pronounce, GroupedItemsMaskEqualsTheTokenByTokenMaskAtLargeVocabularies) {
    expect_masks_equal_at_large_vocabularies([](gen::constraint::FormConstraint& f) { f.use_reference_items_masks(true); },
                                             150, 200);
}

// The masks as the sampler chain applies them (the bit rows applied while the candidates are
// written, FormConstraint::row_mask) against apply on a plainly reset set, which goes through
// the candidate records.
TEST(Pronounce, RowPathMaskEqualsTheCandidatePathAtLargeVocabularies) {
    expect_masks_equal_at_large_vocabularies([](gen::constraint::FormConstraint&) {}, 150, 200, true);
}

// The masks of a deterministic walk (always the allowed token at a fixed share of the allowed
// ones), one hash a step, so that constraints built in different threads can be compared.
std::vector<uint64_t> mask_hashes(gen::constraint::FormConstraint& f, const model::Tokenizer& tok, int steps) {
    std::vector<float> logits(static_cast<size_t>(tok.n_vocab()), 0.0f);
    gen::CandidateSet c;
    std::vector<uint64_t> out;
    for (int step = 0; step < steps; ++step) {
        c.reset(logits);
        f.apply(c);
        uint64_t h = 0;
        std::vector<model::TokenId> yes;
        for (const auto& cand : c.items) {
            if (cand.logit != 0.0f) continue;
            h = (h ^ static_cast<uint64_t>(cand.id)) * 0x100000001B3ull;
            if (!tok.is_eog(cand.id)) yes.push_back(cand.id);
        }
        out.push_back(h);
        if (yes.empty()) break;
        f.accept(yes[(static_cast<size_t>(step) * 7919) % yes.size()]);
    }
    return out;
}

// Constraints for `spec` built at once in four threads, each held until every thread has built
// its own (so that shared tables cannot go in between): per thread, the tables it reads (`id`)
// and its mask_hashes.
struct BuiltInThread {
    const void* tables = nullptr;
    std::vector<uint64_t> masks;
};
std::vector<BuiltInThread> build_in_threads(const gen::constraint::FormSpec& spec, const model::Tokenizer& tok,
                                            const void* (gen::constraint::FormConstraint::*id)() const) {
    constexpr int kThreads = 4;
    std::vector<BuiltInThread> out(kThreads);
    std::vector<std::thread> threads;
    std::atomic<int> built{0};
    for (size_t t = 0; t < out.size(); ++t) {
        threads.emplace_back([&, t] {
            gen::constraint::FormConstraint f(spec, tok);
            out[t].tables = (f.*id)();
            out[t].masks = mask_hashes(f, tok, 30);
            built.fetch_add(1);
            while (built.load() < kThreads) std::this_thread::yield();
        });
    }
    for (auto& th : threads) th.join();
    return out;
}

// The per-vocabulary tables are made once per dictionary and vocabulary: a second constraint (other
// lines, closed or not) reuses them; a form that rules out other tokens gets its own; once no
// constraint holds them they go, and constraints built at once from several threads make them
// once and give the same masks as one built alone.
TEST(Pronounce, SyllableTablesAreSharedAcrossConstraintsAndThreads) {
    const auto dict = cmu_syllables();
    core::Rng rng(7);
    const auto tok = random_piece_vocab(*dict, 150000, rng);
    const gen::constraint::FormSpec haiku{.lines = {{.units = 5}, {.units = 7}, {.units = 5}}, .syllables = dict};
    std::vector<uint64_t> alone;
    {
        const int64_t made = gen::constraint::FormConstraint::syllable_tables_made();
        gen::constraint::FormConstraint a(haiku, *tok);
        EXPECT_EQ(gen::constraint::FormConstraint::syllable_tables_made(), made + 1);
        gen::constraint::FormConstraint b({.lines = {{.units = 3}, {.units = 4}}, .closed = true, .syllables = dict}, *tok);
        EXPECT_EQ(gen::constraint::FormConstraint::syllable_tables_made(), made + 1);
        EXPECT_EQ(a.syllable_tables_id(), b.syllable_tables_id());
        // No digits: the tokens with one are never allowed, which the tables read.
        gen::constraint::FormConstraint letters(
            {.lines = {{.units = 5}}, .allowed = [](uint32_t cp) { return cp < '0' || cp > '9'; }, .syllables = dict}, *tok);
        EXPECT_EQ(gen::constraint::FormConstraint::syllable_tables_made(), made + 2);
        EXPECT_NE(letters.syllable_tables_id(), a.syllable_tables_id());
        alone = mask_hashes(a, *tok, 30);
        ASSERT_GT(alone.size(), 10u);
        // The sharing constraint's masks do not depend on the other's having run first.
        gen::constraint::FormConstraint c(haiku, *tok);
        EXPECT_EQ(mask_hashes(c, *tok, 30), alone);
    }
    const int64_t made = gen::constraint::FormConstraint::syllable_tables_made();
    const auto built = build_in_threads(haiku, *tok, &gen::constraint::FormConstraint::syllable_tables_id);
    // The tables went with the constraints above, so the threads made them again: once.
    EXPECT_EQ(gen::constraint::FormConstraint::syllable_tables_made(), made + 1);
    for (size_t t = 0; t < built.size(); ++t) {
        EXPECT_EQ(built[t].tables, built[0].tables);
        EXPECT_EQ(built[t].masks, alone) << "thread " << t;
    }
}

// The per-token tables every form reads (the constructor's pass over the vocabulary) are shared by
// the constraints whose specs carry the same rules_id, for the same vocabulary and unit: a second
// one gives the masks of one built alone; another rules_id, another vocabulary, a form without a
// rules_id or one with the same rules_id over characters instead of syllables makes its own; and
// constraints built at once from several threads make the tables once.
TEST(Pronounce, TokenTablesAreSharedByRulesIdAcrossConstraintsAndThreads) {
    using gen::constraint::FormConstraint;
    const auto dict = cmu_syllables();
    core::Rng rng(11);
    const auto tok = random_piece_vocab(*dict, 32000, rng);
    const auto other_tok = random_piece_vocab(*dict, 32000, rng);
    const std::string id = "pronounce_test token tables";
    const auto haiku = [&](const std::string& rules_id) {
        return gen::constraint::FormSpec{
            .lines = {{.units = 5}, {.units = 7}, {.units = 5}}, .syllables = dict, .rules_id = rules_id};
    };
    // The masks of constraints built with nothing else alive, named and not.
    std::vector<uint64_t> alone, other_alone;
    {
        FormConstraint a(haiku(""), *tok);
        alone = mask_hashes(a, *tok, 30);
        ASSERT_GT(alone.size(), 10u);
        FormConstraint b(haiku(""), *other_tok);
        other_alone = mask_hashes(b, *other_tok, 30);
    }
    {
        const int64_t made = FormConstraint::token_tables_made();
        FormConstraint named(haiku(id), *tok);
        EXPECT_EQ(mask_hashes(named, *tok, 30), alone);
        EXPECT_EQ(FormConstraint::token_tables_made(), made + 1);
    }
    {
        const int64_t made = FormConstraint::token_tables_made();
        FormConstraint first(haiku(id), *tok);
        FormConstraint second(haiku(id), *tok);
        EXPECT_EQ(FormConstraint::token_tables_made(), made + 1);
        EXPECT_EQ(second.token_tables_id(), first.token_tables_id());
        // The second's masks, before and after the first's, are those of one built alone.
        EXPECT_EQ(mask_hashes(second, *tok, 30), alone);
        EXPECT_EQ(mask_hashes(first, *tok, 30), alone);
        FormConstraint renamed(haiku(id + " other"), *tok);
        FormConstraint unnamed(haiku(""), *tok);
        FormConstraint elsewhere(haiku(id), *other_tok);
        gen::constraint::FormSpec chars = haiku(id);
        chars.syllables = nullptr;
        FormConstraint by_chars(chars, *tok);
        EXPECT_EQ(FormConstraint::token_tables_made(), made + 5);
        for (const FormConstraint* f : {&renamed, &unnamed, &elsewhere, &by_chars})
            EXPECT_NE(f->token_tables_id(), first.token_tables_id());
        EXPECT_NE(elsewhere.token_tables_id(), renamed.token_tables_id());
        EXPECT_EQ(mask_hashes(renamed, *tok, 30), alone);
        EXPECT_EQ(mask_hashes(elsewhere, *other_tok, 30), other_alone);
    }
    const int64_t made = FormConstraint::token_tables_made();
    const auto built = build_in_threads(haiku(id), *tok, &FormConstraint::token_tables_id);
    // The tables went with the constraints above, so the threads made them again: once.
    EXPECT_EQ(FormConstraint::token_tables_made(), made + 1);
    for (size_t t = 0; t < built.size(); ++t) {
        EXPECT_EQ(built[t].tables, built[0].tables);
        EXPECT_EQ(built[t].masks, alone) << "thread " << t;
    }
}

// The decoder's mask with the CMU dictionary and its fold equals the byte walk's over a vocabulary
// of English word pieces and random letter runs, through many states.
TEST(Pronounce, CmuFormMaskEqualsTheByteWalk) {
    const std::string text =
        "Shall I compare thee to a summer's day? Thou art more lovely and more temperate: rough winds do "
        "shake the darling buds of May, and summer's lease hath all too short a date; sometime too hot the "
        "eye of heaven shines, and often is his gold complexion dimm'd; and every fair from fair sometime "
        "declines, by chance or nature's changing course untrimm'd. The quietly glimmering river, 42 stones.";
    std::vector<std::string> pieces = {" ", "\n", ",", ", ", ".", "'", "'d", "\xE2\x80\x99", "?", ";", " 7"};
    std::string word;
    for (char c : text + " ") {
        if (std::isalpha(static_cast<unsigned char>(c))) {
            word += c;
            continue;
        }
        if (word.empty()) continue;
        pieces.push_back(word);
        pieces.push_back(" " + word);
        for (size_t cut = 1; cut < word.size(); cut += 2) pieces.push_back(word.substr(cut, 3));
        word.clear();
    }
    core::Rng rng(4);
    const std::string letters = "aeiouyrstlnmcdbgfhwkpvz";
    for (int i = 0; i < 400; ++i) {
        std::string p = rng.uniform() < 0.4f ? " " : "";
        for (int k = 1 + static_cast<int>(rng.uniform() * 6); k > 0; --k)
            p += letters[static_cast<size_t>(rng.uniform() * static_cast<float>(letters.size())) % letters.size()];
        pieces.push_back(p);
    }
    std::sort(pieces.begin(), pieces.end());
    pieces.erase(std::unique(pieces.begin(), pieces.end()), pieces.end());
    const auto tok = gen::constraint::testing::piece_vocab(pieces, true);
    int mid_word = 0;
    for (bool closed : {false, true}) {
        gen::constraint::FormConstraint form({.lines = {{.units = 5}, {.units = 7}, {.units = 5}},
                                              .closed = closed,
                                              .syllables = cmu_syllables()},
                                             *tok);
        const auto n = gen::constraint::testing::check_against_walk(form, *tok, 25, 40, closed ? 2 : 3);
        EXPECT_EQ(n.mismatches, 0);
        EXPECT_GT(n.states, 300);
        mid_word += n.mid_word;
    }
    EXPECT_GT(mid_word, 200);
}

// The same on a real vocabulary: the characters of the verse-en model (models/verse-en.gguf),
// whose tokens are single characters, so every word is written letter by letter and nearly every
// state is inside a word. With letters only (and spaces, commas, line breaks) as the poems allow.
TEST(Pronounce, SyllableMaskOnTheVerseModelsVocabularyEqualsTheByteWalk) {
    const char* source = std::getenv("LYRA_SOURCE_DIR");
    ASSERT_TRUE(source != nullptr) << "run through ctest (LYRA_SOURCE_DIR names the models)";
    const auto m = model::Model::load((std::filesystem::path(source) / "models" / "verse-en.gguf").string());
    const model::Tokenizer& tok = m->tokenizer();
    ASSERT_GT(tok.n_vocab(), 200);
    int mid_word = 0;
    for (bool closed : {false, true}) {
        gen::constraint::FormConstraint form(
            {.lines = {{.units = 5}, {.units = 7}, {.units = 5}},
             .allowed = [](uint32_t cp) { return cp == ' ' || cp == ',' || cp == '\'' || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z'); },
             .closed = closed,
             .syllables = cmu_syllables()},
            tok);
        const auto n = gen::constraint::testing::check_against_walk(form, tok, 12, 60, closed ? 5 : 6);
        EXPECT_EQ(n.mismatches, 0);
        EXPECT_GT(n.states, 500);
        mid_word += n.mid_word;
    }
    EXPECT_GT(mid_word, 500);
}

}  // namespace
}  // namespace lyra::art::poetry::en
