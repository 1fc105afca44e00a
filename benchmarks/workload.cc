#include "workload.h"

#include <x86intrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>

#include "dns/builder.h"
#include "dns/name.h"

namespace dotgate::bench {

using namespace dotgate::dns;

namespace {

const char* const kTlds[] = {"com", "net", "org", "de", "io", "co.uk", "arpa", "cloud"};
const char* const kHosts[] = {"www", "api", "cdn", "mail", "img", "static", "login", "edge"};

std::string random_label(std::mt19937_64& rng, size_t min_len, size_t max_len) {
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
  std::uniform_int_distribution<size_t> len(min_len, max_len);
  std::uniform_int_distribution<size_t> pick(0, 35);  // no '-' at the ends: keep it simple
  std::string s(len(rng), 'a');
  for (char& c : s) c = alphabet[pick(rng)];
  return s;
}

void put_rr(std::vector<uint8_t>& m, uint16_t name_ptr, uint16_t type, uint32_t ttl, const uint8_t* rdata,
            uint16_t rdlen) {
  const size_t at = m.size();
  m.resize(at + 12 + rdlen);
  uint8_t* p = m.data() + at;
  store_u16(p, static_cast<uint16_t>(0xc000 | name_ptr));
  store_u16(p + 2, type);
  store_u16(p + 4, kClassIN);
  store_u32(p + 6, ttl);
  store_u16(p + 10, rdlen);
  std::copy(rdata, rdata + rdlen, p + 12);
}

}  // namespace

Workload make_workload(size_t count, size_t draws, double zipf_s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Workload w;
  w.names.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    std::string name = kHosts[rng() % 8];
    if (rng() % 3 == 0) name.append(".").append(random_label(rng, 2, 10));
    name.append(".").append(random_label(rng, 4, 14)).append(std::to_string(i));
    name.append(".").append(kTlds[rng() % 8]);
    w.names.push_back(std::move(name));
  }
  w.queries.resize(count);
  w.answers.resize(count);
  for (size_t i = 0; i < count; ++i) {
    uint8_t wire[kMaxNameWire];
    size_t wire_len = 0;
    name_from_text(w.names[i], wire, &wire_len);
    // Clients vary their spelling (0x20 and plain mixed case); the cache must not care.
    uint8_t spelled[kMaxNameWire];
    std::copy(wire, wire + wire_len, spelled);
    for (size_t k = 0; k < wire_len; ++k) {
      if (spelled[k] >= 'a' && spelled[k] <= 'z' && (rng() & 3) == 0) spelled[k] = static_cast<uint8_t>(spelled[k] - 32);
    }
    const uint16_t qtype = (i % 4 == 3) ? kTypeAAAA : kTypeA;
    EdnsParams edns;
    edns.udp_size = 1232;
    uint8_t q[512];
    const size_t qlen = build_query(q, sizeof q, static_cast<uint16_t>(rng()), kFlagRD, spelled, wire_len, qtype,
                                    kClassIN, (i % 2) ? &edns : nullptr);
    w.queries[i].bytes.assign(q, q + qlen);

    // Upstream answer: 1-4 address records, a CNAME in front for one in five names, then
    // the upstream's OPT. Compression pointers refer to the question name.
    std::vector<uint8_t> a(q, q + kHeaderSize + wire_len + 4);
    store_u16(a.data() + kOffFlags, kFlagQR | kFlagRD | kFlagRA);
    store_u16(a.data() + kOffArcount, 0);
    uint16_t an = 0;
    uint16_t owner = kHeaderSize;
    if (i % 5 == 0) {
      const uint8_t target[] = {3, 'c', 'd', 'n', 0xc0, static_cast<uint8_t>(kHeaderSize + 1 + wire[0])};
      const size_t cname_at = a.size() + 12;
      put_rr(a, owner, kTypeCNAME, 3600, target, sizeof target);
      owner = static_cast<uint16_t>(cname_at);
      ++an;
    }
    const int addrs = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < addrs; ++k) {
      uint8_t rdata[16];
      for (uint8_t& b : rdata) b = static_cast<uint8_t>(rng());
      put_rr(a, owner, qtype, 60 + static_cast<uint32_t>(rng() % 3600), rdata, qtype == kTypeA ? 4 : 16);
      ++an;
    }
    store_u16(a.data() + kOffAncount, an);
    a.resize(a.size() + 11);
    EdnsParams upstream_edns;
    upstream_edns.udp_size = 1232;
    append_opt(a.data(), a.size() - 11, a.size(), upstream_edns);
    w.answers[i].bytes = std::move(a);
  }

  // Zipf(s) over ranks 1..count, ranks shuffled onto names so popularity is not name order.
  std::vector<double> cdf(count);
  double sum = 0;
  for (size_t r = 0; r < count; ++r) {
    sum += 1.0 / std::pow(static_cast<double>(r + 1), zipf_s);
    cdf[r] = sum;
  }
  std::vector<uint32_t> rank_to_name(count);
  for (size_t i = 0; i < count; ++i) rank_to_name[i] = static_cast<uint32_t>(i);
  std::shuffle(rank_to_name.begin(), rank_to_name.end(), rng);
  std::uniform_real_distribution<double> u(0.0, sum);
  w.popularity.resize(draws);
  for (size_t d = 0; d < draws; ++d) {
    const size_t r = static_cast<size_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
    w.popularity[d] = rank_to_name[std::min(r, count - 1)];
  }
  return w;
}

size_t bench_names(size_t fallback) {
  if (const char* env = std::getenv("DOTGATE_BENCH_NAMES")) {
    const long v = std::atol(env);
    if (v > 0) return static_cast<size_t>(v);
  }
  return fallback;
}

uint64_t tsc_now() { return __rdtsc(); }

}  // namespace dotgate::bench
