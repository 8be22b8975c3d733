// Twin of seed 003 §9.9 ("多进程应用举例", copying a folder with several
// processes), redone with a pool: the seed starts one process per file;
// here 4 workers copy the files of the whole tree while the main process
// draws a progress bar. The program makes its own source tree in the
// system's temporary directory, checks the copy and removes both.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <troupe/pool.hpp>
#include <troupe/troupe.hpp>

namespace {

namespace fs = std::filesystem;
using troupe::print;
using copy_job = std::pair<fs::path, fs::path>; // (source, destination)

// The seed's run(): copies one file, 1 KB at a time. Returns its size.
std::uintmax_t run(const copy_job& job) {
  std::ifstream src{job.first, std::ios::binary};
  std::ofstream dst{job.second, std::ios::binary};
  char buf[1024];
  std::uintmax_t bytes = 0;
  while (src.read(buf, sizeof buf) || src.gcount() > 0) {
    dst.write(buf, src.gcount());
    bytes += static_cast<std::uintmax_t>(src.gcount());
  }
  if (!dst)
    throw std::runtime_error("cannot write " + job.second.string());
  return bytes;
}

// The seed's copy(): makes the destination folders and lists the files to
// copy (the seed starts a process for each one instead).
void plan(const fs::path& src, const fs::path& dst,
          std::vector<copy_job>& jobs) {
  fs::create_directories(dst);
  for (const auto& entry : fs::directory_iterator{src}) {
    auto target = dst / entry.path().filename();
    if (entry.is_regular_file())
      jobs.emplace_back(entry.path(), target);
    else if (entry.is_directory())
      plan(entry.path(), target, jobs);
  }
}

// A progress bar on one line, redrawn in place.
void draw(std::size_t done, std::size_t total) {
  constexpr std::size_t width = 40;
  auto filled = total == 0 ? width : done * width / total;
  std::cout << '\r' << '[' << std::string(filled, '#')
            << std::string(width - filled, ' ') << "] " << done << '/' << total
            << (done == total ? "\n" : "") << std::flush;
}

void make_tree(const fs::path& root) {
  std::mt19937 gen{42};
  std::vector<char> data(64 * 1024);
  for (int d = 0; d < 4; ++d) {
    auto dir = root / ("dir" + std::to_string(d));
    fs::create_directories(dir);
    for (int f = 0; f < 10; ++f) {
      std::generate(data.begin(), data.end(),
                    [&] { return static_cast<char>(gen()); });
      std::ofstream out{dir / ("file" + std::to_string(f) + ".bin"),
                        std::ios::binary};
      out.write(data.data(), static_cast<std::streamsize>(data.size()));
    }
  }
}

bool same_content(const fs::path& a, const fs::path& b) {
  std::ifstream x{a, std::ios::binary};
  std::ifstream y{b, std::ios::binary};
  return std::equal(std::istreambuf_iterator<char>{x}, {},
                    std::istreambuf_iterator<char>{y}, {});
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  auto base
    = fs::temp_directory_path()
      / ("troupe_copy_folder_" + std::to_string(std::random_device{}()));
  auto src = base / "test";
  auto dst = base / "test_copy";
  make_tree(src);

  std::vector<copy_job> jobs;
  plan(src, dst, jobs);
  print("copying", jobs.size(), "files with 4 workers");
  std::uintmax_t bytes = 0;
  {
    troupe::pool pool{rt, {.processes = 4}};
    for (auto n : pool.imap_unordered(run, jobs, {.progress = draw}))
      bytes += n;
    pool.close();
    pool.join();
  }
  bool identical = std::all_of(jobs.begin(), jobs.end(), [](auto& job) {
    return same_content(job.first, job.second);
  });
  print("copy finished:", jobs.size(), "files,", bytes, "bytes,",
        identical ? "identical" : "DIFFERENT");
  fs::remove_all(base);
  return identical ? 0 : 1;
}
