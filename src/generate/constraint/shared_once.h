// SharedOnce: a process-wide cache of read-only values that are costly to make (FormConstraint's
// per-vocabulary tables), made once per key and shared by whoever holds them, from any thread.
// Each key has its own slot whose mutex the thread making the value holds, so that threads asking
// for the same key at the same moment wait for it rather than make it again, while other keys go
// on. A value is kept only as long as someone holds it (weak_ptr), so the cache never keeps
// a vocabulary's tables alive after the last constraint using them is gone.
#pragma once

#include <map>
#include <memory>
#include <mutex>

namespace lyra::gen::constraint {

template <class Key, class T>
class SharedOnce {
public:
    // The value for `key`: the one some holder still has, or make() (a shared_ptr<T>) now.
    template <class Make>
    std::shared_ptr<const T> get(const Key& key, Make&& make) {
        std::shared_ptr<Slot> slot;
        {
            const std::lock_guard<std::mutex> lock(mu_);
            // Drop the slots whose values are gone (and that no thread is filling: use_count 1).
            for (auto it = slots_.begin(); it != slots_.end();)
                it = it->second.use_count() == 1 && it->second->value.expired() ? slots_.erase(it) : std::next(it);
            std::shared_ptr<Slot>& s = slots_[key];
            if (!s) s = std::make_shared<Slot>();
            slot = s;
        }
        const std::lock_guard<std::mutex> lock(slot->mu);
        if (auto kept = slot->value.lock()) return kept;
        std::shared_ptr<const T> made = make();
        slot->value = made;
        return made;
    }

private:
    struct Slot {
        std::mutex mu;
        std::weak_ptr<const T> value;
    };
    std::mutex mu_;
    std::map<Key, std::shared_ptr<Slot>> slots_;
};

}  // namespace lyra::gen::constraint
