// gen::SessionShelf: hands out the kept session with the least room that is enough (and of the
// KV type asked), cleared; makes a new one of exactly the room asked when none fits; keeps at
// most max_kept, dropping the one with the least room; clear() drops them all.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "generate/session_shelf.h"
#include "model/model.h"

namespace lyra::gen {
namespace {

const model::Model& shipped() {
    static const std::unique_ptr<model::Model> m = [] {
        const char* dir = std::getenv("LYRA_SOURCE_DIR");
        return model::Model::load(std::string(dir != nullptr ? dir : ".") + "/models/tiny-shakespeare-char.gguf");
    }();
    return *m;
}

model::Session made(int64_t n_ctx, core::DType kv = core::DType::F16) { return model::Session(shipped(), n_ctx, kv); }

TEST(SessionShelf, TakesTheSmallestKeptSessionThatFitsCleared) {
    SessionShelf shelf(4);
    bool reused = true;
    model::Session fresh = shelf.take(shipped(), 40, core::DType::F16, &reused);
    EXPECT_FALSE(reused) << "an empty shelf makes a new session";
    EXPECT_EQ(fresh.n_ctx(), 40);

    // A used session comes back cleared.
    std::vector<float> logits;
    core::ThreadPool pool(1);
    shipped().forward(fresh, std::vector<model::TokenId>{1, 2, 3}, pool, logits);
    ASSERT_EQ(fresh.n_past(), 3);
    shelf.put(std::move(fresh));
    shelf.put(made(100));
    shelf.put(made(60));
    shelf.put(made(80, core::DType::F32));
    EXPECT_EQ(shelf.size(), 4u);

    model::Session s = shelf.take(shipped(), 50, core::DType::F16, &reused);
    EXPECT_TRUE(reused);
    EXPECT_EQ(s.n_ctx(), 60) << "the least room that is enough";
    EXPECT_EQ(s.n_past(), 0);
    s = shelf.take(shipped(), 30, core::DType::F16, &reused);
    EXPECT_TRUE(reused);
    EXPECT_EQ(s.n_ctx(), 40);
    EXPECT_EQ(s.n_past(), 0) << "the used session comes back cleared";
    s = shelf.take(shipped(), 70, core::DType::F16, &reused);
    EXPECT_TRUE(reused);
    EXPECT_EQ(s.n_ctx(), 100) << "the f32 session of 80 is another KV type";
    s = shelf.take(shipped(), 120, core::DType::F32, &reused);
    EXPECT_FALSE(reused) << "the kept f32 session is too small";
    EXPECT_EQ(s.n_ctx(), 120);
    EXPECT_EQ(s.kv_type(), core::DType::F32);
    EXPECT_EQ(shelf.size(), 1u);
}

TEST(SessionShelf, KeepsAtMostMaxKeptDroppingTheSmallestAndClears) {
    SessionShelf shelf(2);
    shelf.put(made(50));
    shelf.put(made(30));
    shelf.put(made(70));  // full: the 30 goes
    EXPECT_EQ(shelf.size(), 2u);
    shelf.put(made(20));  // smaller than every kept one: not kept
    EXPECT_EQ(shelf.size(), 2u);
    bool reused = false;
    EXPECT_EQ(shelf.take(shipped(), 10, core::DType::F16, &reused).n_ctx(), 50);
    EXPECT_TRUE(reused);
    EXPECT_EQ(shelf.take(shipped(), 10, core::DType::F16, &reused).n_ctx(), 70);
    EXPECT_TRUE(reused);
    EXPECT_EQ(shelf.size(), 0u);

    shelf.put(made(40));
    shelf.clear();
    EXPECT_EQ(shelf.size(), 0u);
    EXPECT_EQ(shelf.take(shipped(), 40, core::DType::F16, &reused).n_ctx(), 40);
    EXPECT_FALSE(reused);

    SessionShelf none(0);
    none.put(made(40));
    EXPECT_EQ(none.size(), 0u) << "max_kept 0 keeps nothing";
}

}  // namespace
}  // namespace lyra::gen
