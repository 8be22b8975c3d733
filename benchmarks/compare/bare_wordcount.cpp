// The bare C++ baseline of the wordcount workload (benchmarks/compare/run.py):
// no troupe, no durability. The files under DIR (a sorted recursive walk)
// are shared out to `std::thread`s through an atomic index; each thread
// counts its files with the flagship's own counter
// (examples/flagship/corpus.cpp: same word rule, same code) into a hash map
// of its own; the maps are merged at the end.
//
//   bare_wordcount DIR [THREADS]   (default: the number of cores)
//
// Prints one line: "files F failed X words W".

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "corpus.hpp"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  if (argc < 2) {
    std::fprintf(stderr, "usage: bare_wordcount DIR [THREADS]\n");
    return 2;
  }
  auto threads = argc > 2
                   ? std::atoi(argv[2])
                   : static_cast<int>(std::thread::hardware_concurrency());
  std::vector<fs::path> files;
  for (auto& e : fs::recursive_directory_iterator(argv[1]))
    if (e.is_regular_file())
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::atomic<std::size_t> next{0};
  std::vector<std::unordered_map<std::string, std::int64_t>> maps(
    static_cast<std::size_t>(std::max(threads, 1)));
  std::vector<std::int64_t> failed(maps.size());
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < maps.size(); ++t)
    pool.emplace_back([&, t] {
      for (auto i = next++; i < files.size(); i = next++) {
        try {
          for (auto& [w, n] : flagship::count_words(files[i]).words)
            maps[t][w] += n;
        } catch (const flagship::bad_input&) {
          ++failed[t];
        }
      }
    });
  for (auto& th : pool)
    th.join();
  auto& total = maps[0];
  for (std::size_t t = 1; t < maps.size(); ++t)
    for (auto& [w, n] : maps[t])
      total[w] += n;
  std::int64_t words = 0;
  std::int64_t bad = 0;
  for (auto& [w, n] : total)
    words += n;
  for (auto f : failed)
    bad += f;
  std::printf("files %lld failed %lld words %lld\n",
              static_cast<long long>(files.size())
                - static_cast<long long>(bad),
              static_cast<long long>(bad), static_cast<long long>(words));
}
