// Microbenchmarks of flow steering (net/flow_steering.h): what deciding the owner of a
// received frame costs each worker when several share a port, per frame, in a burst of 32
// as the RX loop sees them. The frames: 4096 distinct TCP segments from upstreams (IPv4
// and, one in four, IPv6) mixed with UDP queries (whose receiver keeps them), read
// sequentially as from an RX ring. Also the bare Toeplitz hash of an IPv4 and an IPv6
// 4-tuple (table-driven) against the bit-by-bit reference.
// Run (figures in the README):
//   build/release/benchmarks/steering_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true  (one command line)
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "net/ethernet.h"
#include "net/flow_steering.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "net/tcp_segment.h"
#include "net/udp.h"
#include "util/byte_order.h"
#include "workload.h"

using namespace dotgate;

namespace {

constexpr size_t kFrames = 4096;
constexpr size_t kBurst = 32;

std::vector<std::vector<uint8_t>> make_frames() {
  std::vector<std::vector<uint8_t>> frames;
  const net::MacAddr a{{2, 0, 0, 0, 0, 1}}, b{{2, 0, 0, 0, 0, 2}};
  net::Ipv6Addr up6, ours6;
  up6.b[0] = 0x20, up6.b[1] = 0x01, up6.b[15] = 0x53;
  ours6.b[0] = 0x20, ours6.b[1] = 0x01, ours6.b[15] = 0x01;
  for (size_t i = 0; i < kFrames; ++i) {
    std::vector<uint8_t> f(128, 0);
    size_t n = 0;
    const uint16_t port = static_cast<uint16_t>(32768 + i);
    if (i % 3 == 2) {  // a UDP query from a client
      n = net::write_ethernet(f.data(), a, b, net::kNoVlan, net::kEtherIPv4);
      n += net::write_ipv4(f.data() + n, 0x0a000000u + static_cast<uint32_t>(i), 0xc0000202, net::kProtoUDP,
                           net::kUdpHeader + 30, 1);
      n += net::write_udp_v4(f.data() + n, 0x0a000000u + static_cast<uint32_t>(i), 0xc0000202, port, 53, 30) + 30;
    } else if (i % 4 == 3) {  // an IPv6 segment from an upstream
      n = net::write_ethernet(f.data(), a, b, net::kNoVlan, net::kEtherIPv6);
      n += net::write_ipv6(f.data() + n, up6, ours6, net::kProtoTCP, net::kTcpHeader);
      n += net::write_tcp(f.data() + n, 853, port, 1, 2, net::kTcpAck, 100, net::TcpSendOptions{}, 0, 0);
    } else {  // an IPv4 segment from an upstream
      n = net::write_ethernet(f.data(), a, b, net::kNoVlan, net::kEtherIPv4);
      n += net::write_ipv4(f.data() + n, 0xc6336401u + static_cast<uint32_t>(i % 8), 0xc0000202, net::kProtoTCP,
                           net::kTcpHeader, 1);
      n += net::write_tcp(f.data() + n, 853, port, 1, 2, net::kTcpAck, 100, net::TcpSendOptions{}, 0, 0);
    }
    f.resize(n);
    frames.push_back(std::move(f));
  }
  return frames;
}

void BM_SteerBurst32(benchmark::State& state) {
  const auto frames = make_frames();
  const net::FlowSteering steering(static_cast<uint32_t>(state.range(0)), 128);
  size_t at = 0;
  uint64_t cycles = 0, bursts = 0, others = 0;
  for (auto _ : state) {
    const uint64_t c0 = bench::tsc_now();
    for (size_t k = 0; k < kBurst; ++k) {
      const std::vector<uint8_t>& f = frames[(at + k) % kFrames];
      const net::Steering st = steering.steer(f.data(), f.size());
      others += st.owner == net::FrameOwner::kWorker && st.worker != 0;
      benchmark::DoNotOptimize(st);
    }
    cycles += bench::tsc_now() - c0;
    ++bursts;
    at = (at + kBurst) % kFrames;
  }
  state.SetItemsProcessed(static_cast<int64_t>(bursts * kBurst));
  state.counters["cycles/frame"] = static_cast<double>(cycles) / static_cast<double>(bursts * kBurst);
  state.counters["to_another_worker"] = static_cast<double>(others) / static_cast<double>(bursts * kBurst);
}
BENCHMARK(BM_SteerBurst32)->Arg(2)->Arg(8);

void BM_ToeplitzIpv4(benchmark::State& state) {
  const net::FlowSteering steering(4, 128);
  uint32_t src = 0xc6336401;
  uint64_t sink = 0;
  for (auto _ : state) {
    ++src;
    sink += steering.hash4(src, 0xc0000202, 853, static_cast<uint16_t>(src));
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ToeplitzIpv4);

void BM_ToeplitzIpv6(benchmark::State& state) {
  const net::FlowSteering steering(4, 128);
  net::Ipv6Addr src, dst;
  src.b[0] = 0x20, dst.b[0] = 0x20, dst.b[15] = 1;
  uint64_t sink = 0;
  for (auto _ : state) {
    ++src.b[15];
    sink += steering.hash6(src, dst, 853, src.b[15]);
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ToeplitzIpv6);

void BM_ToeplitzIpv4BitByBit(benchmark::State& state) {
  uint8_t in[12] = {0xc6, 0x33, 0x64, 0x01, 0xc0, 0, 2, 2, 0x03, 0x55, 0x80, 0};
  uint64_t sink = 0;
  for (auto _ : state) {
    ++in[11];
    sink += net::toeplitz_hash(net::kDefaultRssKey.data(), net::kDefaultRssKey.size(), in, sizeof in);
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ToeplitzIpv4BitByBit);

}  // namespace

BENCHMARK_MAIN();
