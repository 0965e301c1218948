// slide_full_session (generate/context_slide.h): a full session of a model that reads only its
// last slide_keep() positions keeps exactly those, moved to the front; any other model, or a
// session no longer than what it would keep, is left as it was and the sequence ends.
#include "generate/context_slide.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "fake_byte_model.h"

namespace lyra::gen {
namespace {

// A weightless model that slides like Transformer-XL with memory `keep` (0: cannot slide).
class SlidingModel final : public FakeByteModel {
public:
    SlidingModel(int64_t n_ctx, int64_t keep) : FakeByteModel(n_ctx), keep_(keep) {}
    void forward(model::Session& s, std::span<const model::TokenId> tokens, core::ThreadPool&,
                 std::vector<float>& logits, bool) const override {
        s.advance(static_cast<int64_t>(tokens.size()));
        logits.assign(static_cast<size_t>(hparams_.n_vocab), 0.0f);
    }
    int64_t slide_keep() const override { return keep_; }

private:
    int64_t keep_;
};

// A session filled to its end, position p's (one-element) key and value holding p.
model::Session full_session(const model::Model& m) {
    model::Session s(m, 0, core::DType::F32);
    std::vector<float> rows(static_cast<size_t>(s.n_ctx()));
    for (size_t p = 0; p < rows.size(); ++p) rows[p] = static_cast<float>(p);
    s.store_k(0, 0, rows.data(), s.n_ctx(), 1);
    s.store_v(0, 0, rows.data(), s.n_ctx(), 1);
    s.advance(s.n_ctx());
    return s;
}

std::vector<float> keys(const model::Session& s) {
    const auto* k = static_cast<const float*>(s.k_view(0).data);
    return {k, k + s.n_past()};
}

TEST(SlideFullSession, KeepsTheLastPositionsAtTheFront) {
    const SlidingModel m(8, 3);
    model::Session s = full_session(m);
    ASSERT_EQ(s.n_free(), 0);
    EXPECT_TRUE(slide_full_session(m, s));
    EXPECT_EQ(s.n_past(), 3);
    EXPECT_EQ(keys(s), (std::vector<float>{5, 6, 7}));
    EXPECT_EQ(static_cast<const float*>(s.v_view(0).data)[0], 5.0f);
}

TEST(SlideFullSession, AModelThatCannotSlideOrAShortSessionEnds) {
    for (int64_t keep : {0, 8, 9}) {
        const SlidingModel m(8, keep);
        model::Session s = full_session(m);
        EXPECT_FALSE(slide_full_session(m, s)) << keep;
        EXPECT_EQ(s.n_past(), 8) << keep;
        EXPECT_EQ(keys(s), (std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7})) << keep;
    }
}

}  // namespace
}  // namespace lyra::gen
