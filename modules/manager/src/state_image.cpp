// The manager's state on disk: the snapshot image and the journal records'
// envelope, appending an operation's records, recovery, and compaction.

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "troupe/manager/detail/core.hpp"
#include <troupe/serialization/durable_store.hpp>
#include <troupe/serialization/error.hpp>
#include <troupe/serialization/serialize.hpp>
#include <troupe/serialization/std.hpp>

namespace troupe::managed::detail {

namespace {

constexpr const char* image_magic = "troupe.manager";
constexpr std::uint32_t image_version = 1;

struct object_image {
  std::string name;
  std::string tag;
  std::optional<std::string> state;
  std::vector<std::string> records;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& name& tag& state& records;
  }
};

struct manager_image {
  std::string magic;
  std::uint32_t version = 0;
  std::vector<object_image> objects;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& magic& version& objects;
  }
};

/// One journal record: a change to one object, or its whole state. Its
/// envelope is written by hand (one Boost archive per record, the
/// payload's, is enough): "TMJ1", a flag byte (1: whole state), the
/// object's name and type tag (each a 32-bit little-endian length, then the
/// bytes), then the payload up to the end.
///
/// An operation that journals several records (a batch) writes one group
/// entry instead: "TMJ1", the flag byte 2, a 32-bit count, then each
/// member entry as a 32-bit length and its bytes. It is one record of the
/// durable store, so recovery sees all of its members or none.
struct journal_entry {
  std::string name;
  std::string tag;
  bool whole_state = false;
  std::string payload;
};

constexpr char entry_magic[] = {'T', 'M', 'J', '1'};

void put_u32(std::string& out, std::size_t n) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
}

std::string encode_entry(const std::string& name, const std::string& tag,
                         bool whole_state, const std::string& payload) {
  std::string out;
  out.reserve(4 + 1 + 8 + name.size() + tag.size() + payload.size());
  out.append(entry_magic, sizeof entry_magic);
  out.push_back(whole_state ? '\1' : '\0');
  put_u32(out, name.size());
  out += name;
  put_u32(out, tag.size());
  out += tag;
  out += payload;
  return out;
}

constexpr char group_flag = '\2';

std::string encode_group(const std::string& first,
                         const std::vector<std::string>& more) {
  std::size_t size = 4 + 1 + 4 + 4 + first.size();
  for (auto& m : more)
    size += 4 + m.size();
  std::string out;
  out.reserve(size);
  out.append(entry_magic, sizeof entry_magic);
  out.push_back(group_flag);
  put_u32(out, 1 + more.size());
  put_u32(out, first.size());
  out += first;
  for (auto& m : more) {
    put_u32(out, m.size());
    out += m;
  }
  return out;
}

/// The entries of one journal record: one, or a group's members.
std::vector<journal_entry> decode_entry(std::string_view in) {
  namespace ser = troupe::serialization;
  auto need = [&](std::size_t n, const char* what) {
    if (in.size() < n)
      throw ser::format_error("truncated journal record (" + std::string{what}
                              + ")");
  };
  auto get_u32 = [&](const char* what) {
    need(4, what);
    std::size_t n = 0;
    for (int i = 0; i < 4; ++i)
      n |= std::size_t{static_cast<unsigned char>(
             in[static_cast<std::size_t>(i)])}
           << (8 * i);
    in.remove_prefix(4);
    return n;
  };
  need(5, "header");
  if (in.substr(0, 4) != std::string_view{entry_magic, 4})
    throw ser::format_error("not a troupe manager's journal record");
  if (in[4] == group_flag) {
    in.remove_prefix(5);
    auto count = get_u32("group size");
    // Each member takes at least its length and a header.
    if (count > in.size() / 9)
      throw ser::format_error("journal group claims " + std::to_string(count)
                              + " members in " + std::to_string(in.size())
                              + " bytes");
    std::vector<journal_entry> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      auto n = get_u32("group member length");
      need(n, "group member");
      auto member = in.substr(0, n);
      in.remove_prefix(n);
      if (member.size() > 4 && member[4] == group_flag)
        throw ser::format_error("a journal group inside a group");
      auto inner = decode_entry(member);
      out.push_back(std::move(inner.front()));
    }
    if (!in.empty())
      throw ser::format_error("journal group has " + std::to_string(in.size())
                              + " bytes after its last member");
    return out;
  }
  if (in[4] != '\0' && in[4] != '\1')
    throw ser::format_error("bad journal record flag");
  journal_entry e;
  e.whole_state = in[4] == '\1';
  in.remove_prefix(5);
  auto get_str = [&](std::string& out, const char* what) {
    auto n = get_u32(what);
    need(n, what);
    out.assign(in.substr(0, n));
    in.remove_prefix(n);
  };
  get_str(e.name, "object name");
  get_str(e.tag, "type tag");
  e.payload.assign(in);
  std::vector<journal_entry> out;
  out.push_back(std::move(e));
  return out;
}

std::string utc_stamp() {
  auto t
    = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y%m%dT%H%M%SZ");
  return out.str();
}

} // namespace

// -- journal entries ----------------------------------------------------------

std::string manager_core::encode(const slot& s, const std::string& payload,
                                 bool whole_state) {
  return encode_entry(s.name, s.type->tag, whole_state, payload);
}

void manager_core::append(op_base& op) {
  if (op.journal_first.empty())
    return;
  if (op.journal_more.empty()) {
    op.seq = store_->append(std::move(op.journal_first));
  } else {
    op.seq = store_->append(encode_group(op.journal_first, op.journal_more));
    op.journal_more.clear();
  }
  op.journal_first.clear();
}

// -- recovery and snapshots ---------------------------------------------------

void manager_core::recover(bool first) {
  namespace ser = troupe::serialization;
  auto path = opts_.state_path.string();
  auto open_store = [&] {
    store_ = std::make_unique<ser::durable_store>(
      ser::store_options{opts_.state_path, opts_.on_corrupt,
                         opts_.compact_after},
      [this](std::uint64_t seq) { on_durable(seq); });
  };
  if (!first && store_) {
    // Everything acknowledged so far is in the files: read them back as a
    // new runtime would. Closing the store completes what was pending.
    store_->flush();
    on_durable(store_->durable_seq());
    store_.reset();
  }
  open_store();
  auto parse = [&](const ser::durable_store::recovered& r) {
    std::map<std::string, image> out;
    if (r.snapshot) {
      auto img = ser::from_bytes<manager_image>(*r.snapshot);
      if (img.magic != image_magic)
        throw ser::format_error("the snapshot is not a troupe manager's (it is "
                                "marked '"
                                + img.magic.substr(0, 40) + "')");
      if (img.version != image_version)
        throw ser::format_error("the snapshot has manager format version "
                                + std::to_string(img.version)
                                + "; this build reads version "
                                + std::to_string(image_version));
      for (auto& o : img.objects)
        out[o.name] = image{o.tag, std::move(o.state), std::move(o.records)};
    }
    std::size_t n = 0;
    for (auto& rec : r.journal) {
      ++n;
      std::vector<journal_entry> entries;
      try {
        entries = decode_entry(rec);
      } catch (const ser::format_error& err) {
        throw ser::format_error("journal record " + std::to_string(n) + ": "
                                + err.what());
      }
      for (auto& e : entries) {
        auto& im = out[e.name];
        if (im.tag.empty())
          im.tag = e.tag;
        else if (im.tag != e.tag)
          throw ser::format_error("journal record " + std::to_string(n)
                                  + " is a " + e.tag + " record for '" + e.name
                                  + "', which is a " + im.tag);
        if (e.whole_state) {
          im.state = std::move(e.payload);
          im.records.clear();
        } else {
          im.records.push_back(std::move(e.payload));
        }
      }
    }
    return out;
  };
  auto r = store_->recover();
  try {
    images_ = parse(r);
  } catch (const ser::format_error& e) {
    auto what = "state file '" + path
                + "' is not a troupe manager's state: " + std::string{e.what()};
    if (opts_.on_corrupt == ser::on_corrupt::refuse || !first)
      throw ser::state_file_error(path, what);
    // start_empty: keep the files aside, as the store does for bad files.
    auto files = std::vector{store_->path(), store_->journal_path()};
    store_.reset();
    auto stamp = utc_stamp();
    std::string moved;
    for (auto& f : files) {
      std::error_code ec;
      if (!std::filesystem::exists(f, ec))
        continue;
      auto aside = f;
      aside += ".corrupt-" + stamp;
      std::filesystem::rename(f, aside, ec);
      if (ec)
        throw ser::state_file_error(
          f.string(), what + "; setting it aside as '" + aside.string()
                        + "' failed: " + ec.message());
      moved += (moved.empty() ? "" : ", ") + ("'" + aside.string() + "'");
    }
    open_store();
    r = store_->recover();
    images_.clear();
    r.warning = what + "; kept aside as " + moved + ", starting empty";
    std::cerr << "troupe: manager '" << opts_.name << "': " << r.warning
              << '\n';
  }
  {
    std::lock_guard guard{durable_mtx_};
    if (!r.warning.empty())
      warning_ = r.warning;
    durable_seq_ = std::max(durable_seq_, store_->durable_seq());
  }
  if (first)
    return;
  for (auto& [name, s] : slots_) {
    auto fresh = s->type->make();
    if (auto i = images_.find(name); i != images_.end()) {
      if (i->second.state)
        fresh->load(*i->second.state);
      for (auto& rec : i->second.records)
        fresh->replay(rec);
      images_.erase(i);
    }
    s->obj = std::move(fresh);
  }
}

std::string manager_core::snapshot() const {
  manager_image img;
  img.magic = image_magic;
  img.version = image_version;
  for (auto& [name, s] : slots_)
    img.objects.push_back(object_image{name, s->type->tag, s->obj->save(), {}});
  for (auto& [name, im] : images_)
    img.objects.push_back(object_image{name, im.tag, im.state, im.records});
  return serialization::to_bytes(img);
}

void manager_core::compact() {
  store_->compact(snapshot());
}

} // namespace troupe::managed::detail
