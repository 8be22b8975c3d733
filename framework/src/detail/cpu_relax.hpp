#pragma once

#include <thread>

namespace troupe::detail {

/// Tells the CPU that the caller is spinning (x86 `pause`, ARM `yield`), so
/// the sibling hyper-thread and the memory system are not starved.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#else
  std::this_thread::yield();
#endif
}

} // namespace troupe::detail
