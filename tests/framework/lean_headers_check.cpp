// The channel headers must not pull in CAF: with CAF's blocking actor,
// `#include <troupe/queue.hpp>` preprocesses to about 141k lines, without
// it to about 94k (g++ 12, -std=c++20). Compiled as part of the build (an
// object library without the tests' precompiled header), so the build fails
// when a CAF header comes back. CAF_VERSION is defined by caf/config.hpp, which
// every CAF header that declares something includes.

#include <troupe/event.hpp>
#include <troupe/joinable_queue.hpp>
#include <troupe/pipe.hpp>
#include <troupe/queue.hpp>
#include <troupe/queue_options.hpp>
#include <troupe/simple_queue.hpp>

#ifdef CAF_VERSION
#  error                                                                       \
    "a channel header includes CAF; keep CAF out of queue.hpp, pipe.hpp and event.hpp (see detail/process_hooks.hpp)"
#endif
