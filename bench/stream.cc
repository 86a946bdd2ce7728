//===- stream.cc - the machine's memory read bandwidth --------------------===//
//
// Part of g4c's benchmarks. A STREAM-like read test: THREADS threads each
// sum their share of a buffer far larger than the caches (the way decode
// streams weights), best of REPEATS passes of each kind (below); prints
// GB/s (1e9 bytes/s).
// Every other pass also prefetches 8 KiB ahead into L2, as decode's int8 /
// int4 kernels do: on a Xeon with AMX those read faster than the plain
// loop. (The prefetching passes closed only 1-3 % of that gap there.)
// usage: stream [MIB=2048] [THREADS=hardware] [REPEATS=7]
//
//===----------------------------------------------------------------------===//

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

/// Sum of |count| floats with independent partial sums (vectorises), with
/// or without software prefetches 8 KiB ahead (one per 64-byte line).
float readAll(const float *data, size_t count, bool prefetch) {
  constexpr size_t kAhead = 8192 / sizeof(float);
  float partial[16] = {};
  for (size_t i = 0; i + 16 <= count; i += 16) {
    if (prefetch)
      __builtin_prefetch(data + i + kAhead, 0, 2); // L2 (prefetcht1 on x86)
    for (int lane = 0; lane < 16; ++lane)
      partial[lane] += data[i + lane];
  }
  float sum = 0;
  for (float value : partial)
    sum += value;
  return sum;
}

} // namespace

int main(int argc, char **argv) {
  const size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2048;
  unsigned threads = argc > 2 ? unsigned(std::strtoul(argv[2], nullptr, 10))
                              : std::thread::hardware_concurrency();
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 7;
  if (threads == 0)
    threads = 1;
  const size_t count = mib * (1 << 20) / sizeof(float);
  std::vector<float> buffer(count);
  // Touch every page from its reader's thread first.
  const size_t share = count / threads / 16 * 16;
  {
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t)
      workers.emplace_back([&, t] {
        std::memset(buffer.data() + t * share, 1, share * sizeof(float));
      });
    for (std::thread &worker : workers)
      worker.join();
  }
  double best = 0;
  volatile float sink = 0;
  for (int r = 0; r < 2 * repeats; ++r) {
    std::vector<float> sums(threads);
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t)
      workers.emplace_back([&, t, r] {
        sums[t] = readAll(buffer.data() + t * share, share, r % 2 == 1);
      });
    for (std::thread &worker : workers)
      worker.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    for (float s : sums)
      sink = sink + s;
    const double gbs = double(share * threads * sizeof(float)) / seconds / 1e9;
    best = gbs > best ? gbs : best;
  }
  std::printf("%.2f\n", best);
  return 0;
}
