#include "durable_files.hpp"

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace troupe::serialization::detail {

namespace fs = std::filesystem;

// -- errors -------------------------------------------------------------------

std::string errno_text(int err) {
  return std::system_category().message(err);
}

void io_error(const fs::path& file, const char* what, int err) {
  throw state_file_error{file.string(), "cannot " + std::string{what} + " "
                                          + file.string() + ": "
                                          + errno_text(err)};
}

void warn(const std::string& text) {
  auto line = "troupe: " + text + "\n";
  std::fputs(line.c_str(), stderr);
}

// -- reading files ------------------------------------------------------------

namespace {

std::string type_name(mode_t mode) {
  if (S_ISREG(mode))
    return "a regular file";
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO (named pipe)";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISSOCK(mode))
    return "a socket";
  if (S_ISLNK(mode))
    return "a symbolic link";
  return "of unknown type";
}

/// `st` is `file`'s lstat; says what `file` is, and for a symbolic link
/// where it leads (stat never opens the target, so never blocks).
[[noreturn]] void refuse_non_regular(const fs::path& file, const char* kind,
                                     const struct stat& st) {
  auto what
    = std::string{kind} + " " + file.string() + " is " + type_name(st.st_mode);
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    auto target = fs::read_symlink(file, ec);
    if (!ec)
      what += " to " + target.string();
    struct stat t {};
    if (::stat(file.c_str(), &t) != 0)
      what += " (which cannot be followed: " + errno_text(errno) + ")";
    else
      what += " (" + type_name(t.st_mode) + ")";
    what += ", not a regular file; the store replaces its files by renaming "
            "over their paths, which would replace the link rather than its "
            "target, so it does not follow links: give the target's path";
  } else {
    what += ", not a regular file";
  }
  throw not_a_regular_file{file.string(), what};
}

} // namespace

void check_regular(const fs::path& file, const char* kind) {
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return;
    io_error(file, "stat", errno);
  }
  if (!S_ISREG(st.st_mode))
    refuse_non_regular(file, kind, st);
}

std::optional<std::string> read_regular_file(const fs::path& file,
                                             const char* kind) {
  check_regular(file, kind);
  // The flags refuse what appeared at the path since the check: O_NOFOLLOW
  // fails on a link, O_NONBLOCK keeps a FIFO's open from waiting for a
  // writer; fstat then refuses anything but a regular file.
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
  if (fd < 0) {
    auto err = errno;
    if (err == ENOENT)
      return std::nullopt;
    if (err == ELOOP)
      check_regular(file, kind); // throws, naming the link
    io_error(file, "open", err);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    auto err = errno;
    ::close(fd);
    io_error(file, "stat", err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    refuse_non_regular(file, kind, st);
  }
  // No more than the size it had when opened: the lock keeps other stores
  // from writing, and nothing else should.
  std::string out(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    auto n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      auto err = errno;
      ::close(fd);
      io_error(file, "read", err);
    }
    if (n == 0)
      break; // shrank meanwhile: what is there is checked like any file
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

// -- writing files ------------------------------------------------------------

int write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return errno;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

fs::path directory_of(const fs::path& file) {
  auto dir = file.parent_path();
  return dir.empty() ? fs::path{"."} : dir;
}

void sync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    io_error(dir, "open directory", errno);
  if (::fsync(fd) != 0) {
    auto err = errno;
    ::close(fd);
    io_error(dir, "fsync directory", err);
  }
  ::close(fd);
}

void rename_file(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    auto err = errno;
    throw state_file_error{to.string(), "cannot rename " + from.string()
                                          + " to " + to.string() + ": "
                                          + errno_text(err)};
  }
}

int write_new_file(const fs::path& file,
                   std::initializer_list<std::string_view> pieces,
                   bool keep_open) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    io_error(file, "create", errno);
  for (auto data : pieces) {
    if (auto err = write_all(fd, data); err != 0) {
      ::close(fd);
      ::unlink(file.c_str());
      io_error(file, "write", err);
    }
  }
  if (::fsync(fd) != 0) {
    auto err = errno;
    ::close(fd);
    ::unlink(file.c_str());
    io_error(file, "fsync", err);
  }
  if (keep_open)
    return fd;
  ::close(fd);
  return -1;
}

fs::path with_suffix(const fs::path& file, const char* suffix) {
  auto result = file;
  result += suffix;
  return result;
}

fs::path move_aside(const fs::path& file) {
  auto now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, ".corrupt-%Y%m%dT%H%M%SZ", &tm);
  auto target = with_suffix(file, stamp);
  std::error_code ec;
  for (int i = 1; fs::exists(target, ec); ++i)
    target = with_suffix(
      file, (std::string{stamp} + "." + std::to_string(i)).c_str());
  rename_file(file, target);
  return target;
}

} // namespace troupe::serialization::detail
