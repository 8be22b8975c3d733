#include "troupe/shareable_list.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <troupe/error.hpp>

namespace troupe {

namespace {

// The block: a header, one slot header per item, then the items' data.
//
//   0  magic (8 bytes)          16 + 32 i  slot i: lock  (u32, holder's pid)
//   8  count (u64)                                  kind  (u32)
//                                                   length (u64)
//                                                   capacity (u64)
//                                                   data offset (u64)
//
// Integers are little-endian (host order: the block never leaves the
// machine). Capacities and offsets are fixed when the list is made; an
// attaching holder checks them once and keeps its own copy.
constexpr std::array<char, 8> magic{'T', 'R', 'P', 'S', 'L', 'S', 'T', '1'};
constexpr std::size_t header_size = 16;
constexpr std::size_t slot_header_size = 32;
constexpr std::size_t scalar_capacity = 8;

enum kind : std::uint32_t { k_none, k_int, k_float, k_bool, k_str, k_bytes };
constexpr std::uint32_t kind_count = 6;

std::size_t capacity_for(const shareable_list::item& x) {
  // As Python's: a string or byte string gets its length rounded up past
  // the next multiple of 8.
  if (const auto* s = std::get_if<std::string>(&x))
    return 8 * (s->size() / 8 + 1);
  if (const auto* b = std::get_if<troupe::bytes>(&x))
    return 8 * (b->size() / 8 + 1);
  return scalar_capacity;
}

// -- the slot lock: the holder's pid, taken over from a dead holder --------

std::atomic<pid_t> cached_pid{0};

pid_t self_pid() {
  auto pid = cached_pid.load(std::memory_order_relaxed);
  if (pid == 0) {
    static const int registered = [] {
      ::pthread_atfork(nullptr, nullptr,
                       [] { cached_pid.store(0, std::memory_order_relaxed); });
      return 0;
    }();
    (void)registered;
    pid = ::getpid();
    cached_pid.store(pid, std::memory_order_relaxed);
  }
  return pid;
}

/// Linux's largest pid (PID_MAX_LIMIT).
constexpr std::uint32_t pid_limit = 1U << 22U;

/// Whether the holder `word` names is gone: no such process, a zombie (it
/// runs no more), or no pid at all (a scribbled lock word).
bool holder_gone(std::uint32_t word) {
  if (word == 0 || word > pid_limit)
    return true;
  auto pid = static_cast<pid_t>(word);
  if (::kill(pid, 0) != 0)
    return errno == ESRCH;
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  if (!stat || !std::getline(stat, line))
    return true;
  auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size()
         && (line[paren + 2] == 'Z' || line[paren + 2] == 'X');
}

class slot_lock {
public:
  explicit slot_lock(std::byte* word)
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
    : word_(*reinterpret_cast<std::uint32_t*>(word)) {
    auto self = static_cast<std::uint32_t>(self_pid());
    for (int spins = 0;; ++spins) {
      std::uint32_t expected = 0;
      if (word_.compare_exchange_weak(expected, self, std::memory_order_acquire,
                                      std::memory_order_relaxed))
        return;
      if (spins < 64)
        continue;
      std::this_thread::yield();
      if (spins % 1024 == 0 && expected != 0 && expected != self
          && holder_gone(expected)
          && word_.compare_exchange_strong(expected, self,
                                           std::memory_order_acquire,
                                           std::memory_order_relaxed))
        return; // its holder died inside a copy: the slot is ours now
    }
  }
  ~slot_lock() {
    word_.store(0, std::memory_order_release);
  }
  slot_lock(const slot_lock&) = delete;
  slot_lock& operator=(const slot_lock&) = delete;

private:
  std::atomic_ref<std::uint32_t> word_;
};

template <class T>
T load_at(const std::byte* p) {
  T x{};
  std::memcpy(&x, p, sizeof(T));
  return x;
}

template <class T>
void store_at(std::byte* p, const T& x) {
  std::memcpy(p, &x, sizeof(T));
}

std::string_view kind_name(std::size_t k) {
  constexpr std::array<std::string_view, kind_count> names{
    "NoneType", "int", "float", "bool", "str", "bytes"};
  return k < names.size() ? names[k] : "?";
}

} // namespace

shareable_list::shareable_list(std::initializer_list<item> items)
  : shareable_list(std::vector<item>(items), 0) {}

shareable_list::shareable_list(std::vector<item> items, int /*tag*/) {
  std::size_t data = header_size + slot_header_size * items.size();
  std::vector<slot_layout> slots;
  slots.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto cap = capacity_for(items[i]);
    slots.push_back({header_size + slot_header_size * i, data, cap});
    data += cap;
  }
  block_ = shared_memory{std::max<std::size_t>(data, header_size)};
  auto* base = block_.bytes().data();
  std::memcpy(base, magic.data(), magic.size());
  store_at<std::uint64_t>(base + 8, items.size());
  for (std::size_t i = 0; i < slots.size(); ++i) {
    auto* h = base + slots[i].header;
    store_at<std::uint64_t>(h + 16, slots[i].capacity);
    store_at<std::uint64_t>(h + 24, slots[i].data);
  }
  slots_ = std::move(slots);
  for (std::size_t i = 0; i < items.size(); ++i)
    set(i, std::move(items[i]));
}

shareable_list::shareable_list(shared_memory block) {
  if (block.closed())
    throw value_error("shareable_list: the block is closed");
  auto bytes = block.bytes();
  auto fail = [&](const std::string& why) {
    throw value_error("shareable_list: block '" + block.name()
                      + "' does not hold a list: " + why);
  };
  if (bytes.size() < header_size
      || std::memcmp(bytes.data(), magic.data(), magic.size()) != 0)
    fail("no list header");
  auto count = load_at<std::uint64_t>(bytes.data() + 8);
  if (count > (bytes.size() - header_size) / slot_header_size)
    fail("it claims " + std::to_string(count) + " items, more than "
         + std::to_string(bytes.size()) + " bytes hold");
  std::size_t data_start = header_size + slot_header_size * count;
  std::vector<slot_layout> slots;
  slots.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto header = header_size + slot_header_size * i;
    auto cap = load_at<std::uint64_t>(bytes.data() + header + 16);
    auto off = load_at<std::uint64_t>(bytes.data() + header + 24);
    if (cap < scalar_capacity || off < data_start || off > bytes.size()
        || cap > bytes.size() - off)
      fail("item " + std::to_string(i) + "'s storage lies outside the block");
    slots.push_back(
      {header, static_cast<std::size_t>(off), static_cast<std::size_t>(cap)});
  }
  block_ = std::move(block);
  slots_ = std::move(slots);
}

shareable_list::item shareable_list::get(std::size_t i) const {
  if (i >= slots_.size())
    throw std::out_of_range("shareable_list: index " + std::to_string(i)
                            + " past the end (" + std::to_string(size())
                            + " items)");
  const auto& s = slots_[i];
  auto* base = block_.bytes().data();
  auto* h = base + s.header;
  const auto* d = base + s.data;
  slot_lock lock{h};
  auto k = load_at<std::uint32_t>(h + 4);
  switch (k) {
    case k_none:
      return none;
    case k_int:
      return load_at<std::int64_t>(d);
    case k_float:
      return load_at<double>(d);
    case k_bool:
      return load_at<std::uint8_t>(d) != 0;
    case k_str:
    case k_bytes: {
      auto len = load_at<std::uint64_t>(h + 8);
      if (len > s.capacity)
        break;
      // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
      const auto* chars = reinterpret_cast<const char*>(d);
      if (k == k_str)
        return std::string{chars, static_cast<std::size_t>(len)};
      return troupe::bytes{chars, static_cast<std::size_t>(len)};
    }
    default:
      break;
  }
  throw value_error("shareable_list: item " + std::to_string(i) + " of block '"
                    + block_.name()
                    + "' is malformed (a holder wrote past the list)");
}

void shareable_list::set(std::size_t i, item value) {
  if (i >= slots_.size())
    throw std::out_of_range("shareable_list: index " + std::to_string(i)
                            + " past the end (" + std::to_string(size())
                            + " items)");
  const auto& s = slots_[i];
  std::string_view payload;
  if (const auto* str = std::get_if<std::string>(&value))
    payload = *str;
  else if (const auto* b = std::get_if<troupe::bytes>(&value))
    payload = std::string_view{b->data(), b->size()};
  if (payload.size() > s.capacity)
    throw value_error("shareable_list: item " + std::to_string(i) + ": a "
                      + std::string{type_name(value)} + " of "
                      + std::to_string(payload.size())
                      + " bytes exceeds available storage ("
                      + std::to_string(s.capacity) + " bytes)");
  auto* base = block_.bytes().data();
  auto* h = base + s.header;
  auto* d = base + s.data;
  slot_lock lock{h};
  std::visit(
    [&](const auto& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, none_t>) {
        store_at<std::uint32_t>(h + 4, k_none);
      } else if constexpr (std::is_same_v<T, std::int64_t>) {
        store_at(d, x);
        store_at<std::uint32_t>(h + 4, k_int);
      } else if constexpr (std::is_same_v<T, double>) {
        store_at(d, x);
        store_at<std::uint32_t>(h + 4, k_float);
      } else if constexpr (std::is_same_v<T, bool>) {
        store_at<std::uint8_t>(d, x ? 1 : 0);
        store_at<std::uint32_t>(h + 4, k_bool);
      } else {
        std::memcpy(d, payload.data(), payload.size());
        store_at<std::uint64_t>(h + 8, payload.size());
        store_at<std::uint32_t>(
          h + 4, std::is_same_v<T, std::string> ? k_str : k_bytes);
      }
    },
    value);
}

std::size_t shareable_list::index(const item& value) const {
  for (std::size_t i = 0; i < size(); ++i)
    if (get(i) == value)
      return i;
  throw value_error("shareable_list.index: the " + std::string{type_name(value)}
                    + " is not in the list");
}

std::size_t shareable_list::count(const item& value) const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < size(); ++i)
    n += get(i) == value ? 1 : 0;
  return n;
}

std::vector<shareable_list::item> shareable_list::to_vector() const {
  std::vector<item> out;
  out.reserve(size());
  for (std::size_t i = 0; i < size(); ++i)
    out.push_back(get(i));
  return out;
}

std::string_view shareable_list::type_name(const item& x) noexcept {
  return kind_name(x.index());
}

void shareable_list::throw_type_mismatch(std::size_t i, std::size_t actual,
                                         std::size_t wanted) {
  throw value_error("shareable_list: item " + std::to_string(i) + " is a "
                    + std::string{kind_name(actual)} + ", not a "
                    + std::string{kind_name(wanted)});
}

} // namespace troupe
