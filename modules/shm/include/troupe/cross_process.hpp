#pragma once
/// Locks handed to OS processes: include this header (and link
/// `troupe::shm`) to pass a `troupe::lock` or `troupe::rlock` as an
/// `os_process`'s start argument, as Python passes a `Lock` to a
/// `Process`.
///
/// The child gets a lock with the same API that excludes together with the
/// parent's: a hold in either OS process keeps out every process of both.
/// Under the lock's own word (which orders the processes of one OS
/// process) lies an OS-process level: a word in a sealed one-page `memfd`
/// that names the holding OS process's pid, passed to the child with its
/// start record. Uncontended, an acquire is two compare-and-swaps; waiters
/// spin, then sleep on the word (a futex shared between the processes).
///
/// An OS process that ends holding the lock, SIGKILLed inside its critical
/// section say, does not leave it held: a waiter checks the holder's
/// liveness through its pidfd at least every 10 ms, takes the lock over,
/// and its `previous_owner_died()` is true (a robust mutex's `EOWNERDEAD`).
/// The first hand-over waits until the lock is free or held by the caller.
/// See docs/sync.md, "Across OS processes".

#include <string>

#include <troupe/isolate/entry.hpp>
#include <troupe/lock.hpp>
#include <troupe/rlock.hpp>

namespace troupe::isolate {

template <>
struct argument_codec<owned_lock> {
  static constexpr bool custom = true;
  static std::string save(const owned_lock& l);
  static owned_lock load(const std::string& bytes);
};

template <>
struct argument_codec<rlock> {
  static constexpr bool custom = true;
  static std::string save(const rlock& l);
  static rlock load(const std::string& bytes);
};

} // namespace troupe::isolate
