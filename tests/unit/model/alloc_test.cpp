// forward() allocates nothing in steady state (model.h contract): this program counts every
// operator new during decode steps after a warm-up.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "model/blocks.h"
#include "model_test_util.h"

// GCC flags free() on memory from the (replaced) operator new once both are inlined; here they
// are the matching pair by construction.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// Every non-aligned form is replaced, so each allocation and its release go through the same
// malloc/free pair (under ASan a partial replacement is an alloc-dealloc mismatch, e.g. for the
// nothrow form std::stable_sort uses).
namespace {
void* counted_malloc(std::size_t n) noexcept {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(n ? n : 1);
}
}  // namespace

void* operator new(std::size_t n) {
    if (void* p = counted_malloc(n)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace lyra::model {
namespace {

// The attention block, run as in a decode step, allocates nothing.
TEST(SteadyState, AttentionBlockDoesNotAllocate) {
    core::ThreadPool pool(2);
    const int64_t T = 1, P = 7, H = 4, Hkv = 2, D = 16;
    std::vector<float> q(T * H * D, 0.1f), k((P + T) * Hkv * D, 0.2f), v((P + T) * Hkv * D, 0.3f);
    std::vector<float> scores(static_cast<size_t>(pool.size() * (P + T))), out(T * H * D);
    detail::attention(pool, q.data(), T, P, k.data(), v.data(), H, Hkv, D, scores.data(), out.data());
    const long before = g_allocations.load();
    detail::attention(pool, q.data(), T, P, k.data(), v.data(), H, Hkv, D, scores.data(), out.data());
    EXPECT_EQ(g_allocations.load() - before, 0);
    EXPECT_FLOAT_EQ(out[0], 0.3f);  // uniform values: attention returns v
}

class SteadyState : public ::testing::TestWithParam<std::tuple<Arch, core::DType>> {};

// Decode steps after a warm-up allocate nothing (ThreadPool erases its task without a heap copy,
// and every buffer was sized by the warm-up).
TEST_P(SteadyState, DecodeStepsDoNotAllocate) {
    const auto [arch, type] = GetParam();
    testing::TempDir dir;
    auto o = testing::small_options(arch, type);
    const auto m = Model::load(testing::write_small_model(dir, o));
    core::ThreadPool pool(2);
    Session s(*m);
    std::vector<float> logits;
    const std::vector<TokenId> prompt = {1, 10, 20, 30, 40, 50, 60, 70};
    m->forward(s, prompt, pool, logits);  // warm-up: buffers grow here
    TokenId tok = 5;
    m->forward(s, std::span(&tok, 1), pool, logits);
    std::vector<long> per_step;
    for (int i = 0; i < 8; ++i) {
        tok = static_cast<TokenId>(10 + i);
        const long before = g_allocations.load();
        m->forward(s, std::span(&tok, 1), pool, logits);
        per_step.push_back(g_allocations.load() - before);
    }
    for (long n : per_step) EXPECT_EQ(n, 0) << "a decode step allocated";
}
INSTANTIATE_TEST_SUITE_P(
    Model, SteadyState,
    ::testing::Combine(::testing::Values(Arch::Llama, Arch::Qwen2, Arch::Gpt2),
                       ::testing::Values(core::DType::F32, core::DType::Q8_0)),
    [](const auto& p) {
        return std::string(arch_name(std::get<0>(p.param))) + "_" +
               std::string(core::dtype_name(std::get<1>(p.param)));
    });

}  // namespace
}  // namespace lyra::model
