#pragma once

// The durable store's files as files: refusing what is not a regular file,
// reading one whole without blocking, writing and fsyncing a new one,
// renaming it over the old, and fsyncing the directory so that renames and
// creations survive a crash. Internal to troupe::serialization; what the
// bytes mean is in durable_format.hpp.

#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <troupe/serialization/error.hpp>

namespace troupe::serialization::detail {

/// Thrown for a path that holds something other than a regular file (a
/// FIFO, directory, device, socket or symbolic link). Not a bad file of
/// ours: the store refuses it whatever `on_corrupt` says, rather than
/// renaming someone else's object aside.
class not_a_regular_file : public state_file_error {
public:
  using state_file_error::state_file_error;
};

/// The text of errno value `err`.
std::string errno_text(int err);

/// Throws `state_file_error` "cannot <what> <file>: <errno text>".
[[noreturn]] void io_error(const std::filesystem::path& file, const char* what,
                           int err);

/// Throws `not_a_regular_file` if `file` exists and is not a regular file
/// (a symbolic link counts as not one, whatever it points to); `kind`
/// names the file in the message. Never opens `file`, so never blocks.
void check_regular(const std::filesystem::path& file, const char* kind);

/// Writes all of `data` at the file offset; returns 0 or an errno value.
int write_all(int fd, std::string_view data);

/// The directory holding `file` ("." for a bare name).
std::filesystem::path directory_of(const std::filesystem::path& file);

/// `file` with `suffix` appended to its name.
std::filesystem::path with_suffix(const std::filesystem::path& file,
                                  const char* suffix);

/// Makes renames and creations in `dir` durable.
void sync_directory(const std::filesystem::path& dir);

/// Renames `from` to `to` (atomically replacing `to`); throws
/// `state_file_error`.
void rename_file(const std::filesystem::path& from,
                 const std::filesystem::path& to);

/// Writes `pieces` into a new `file` (replacing one left over) and fsyncs
/// it. Returns the open descriptor if `keep_open`, else -1.
int write_new_file(const std::filesystem::path& file,
                   std::initializer_list<std::string_view> pieces,
                   bool keep_open);

/// Renames `file` to `<file>.corrupt-<UTC time>[.N]`; returns the new name.
std::filesystem::path move_aside(const std::filesystem::path& file);

/// Writes "troupe: <text>" to stderr.
void warn(const std::string& text);

} // namespace troupe::serialization::detail
