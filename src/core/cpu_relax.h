// cpu_relax: one pause of a spin-wait. On x86 it tells the core this is a wait loop, which saves
// power and lets a sibling hyperthread use the pipeline; elsewhere it does nothing.
#pragma once

namespace lyra::core {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

}  // namespace lyra::core
