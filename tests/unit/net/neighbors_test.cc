// Tests for net/neighbors.h: resolution, retries, failure, stale re-probing, bounds.
#include "net/neighbors.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace dotgate::net {
namespace {

constexpr uint32_t kGateway = 0xc0000201;
constexpr MacAddr kGatewayMac{{0x02, 0, 0, 0, 0, 0x01}};

NeighborConfig config() {
  NeighborConfig c;
  c.capacity = 64;
  c.reachable_ms = 30000;
  c.retransmit_ms = 1000;
  c.max_requests = 3;
  c.failed_hold_ms = 5000;
  c.max_pending = 4;
  return c;
}

TEST(Neighbors, FirstPacketQueuesAndRequestsThenReplyReleasesIt) {
  NeighborTable t(config());
  NeighborActions a;
  MacAddr mac;
  EXPECT_EQ(t.resolve(kGateway, 11, 0, &mac, a), NeighborTable::Result::kQueued);
  ASSERT_EQ(a.requests.size(), 1u);
  EXPECT_EQ(a.requests[0], kGateway);
  EXPECT_EQ(t.resolve(kGateway, 12, 10, &mac, a), NeighborTable::Result::kQueued);
  EXPECT_EQ(a.requests.size(), 1u);  // one request in flight, not one per packet
  a.clear();
  t.learn(kGateway, kGatewayMac, 20, false, a);
  ASSERT_EQ(a.transmit.size(), 2u);
  EXPECT_EQ(a.transmit[0].handle, 11u);  // in arrival order
  EXPECT_EQ(a.transmit[1].handle, 12u);
  EXPECT_EQ(a.transmit[0].mac, kGatewayMac);
  a.clear();
  EXPECT_EQ(t.resolve(kGateway, 13, 30, &mac, a), NeighborTable::Result::kResolved);
  EXPECT_EQ(mac, kGatewayMac);
  EXPECT_TRUE(a.requests.empty());
  EXPECT_EQ(t.stats().resolved, 1u);
  ASSERT_NE(t.find(kGateway, 30), nullptr);
}

TEST(Neighbors, PendingQueueIsBounded) {
  NeighborTable t(config());
  NeighborActions a;
  MacAddr mac;
  for (uint64_t h = 0; h < 4; ++h) EXPECT_EQ(t.resolve(kGateway, h, 0, &mac, a), NeighborTable::Result::kQueued);
  EXPECT_EQ(t.resolve(kGateway, 99, 0, &mac, a), NeighborTable::Result::kDropped);
  EXPECT_EQ(t.stats().pending_dropped, 1u);
}

TEST(Neighbors, RetriesThenFailsAndDropsHeldPackets) {
  NeighborTable t(config());
  NeighborActions a;
  MacAddr mac;
  t.resolve(kGateway, 7, 0, &mac, a);
  EXPECT_EQ(a.requests.size(), 1u);
  t.tick(999, a);
  EXPECT_EQ(a.requests.size(), 1u);  // not yet
  t.tick(1000, a);
  t.tick(2000, a);
  EXPECT_EQ(a.requests.size(), 3u);  // max_requests in all
  EXPECT_TRUE(a.drop.empty());
  t.tick(3000, a);
  ASSERT_EQ(a.drop.size(), 1u);
  EXPECT_EQ(a.drop[0], 7u);
  EXPECT_EQ(t.stats().failed, 1u);
  a.clear();
  // Held down for failed_hold_ms: packets are refused at once, no request storm.
  EXPECT_EQ(t.resolve(kGateway, 8, 4000, &mac, a), NeighborTable::Result::kDropped);
  EXPECT_TRUE(a.requests.empty());
  // Then resolution starts over.
  EXPECT_EQ(t.resolve(kGateway, 9, 8000, &mac, a), NeighborTable::Result::kQueued);
  EXPECT_EQ(a.requests.size(), 1u);
}

TEST(Neighbors, StaleEntryStaysUsableWhileReprobedAndFailsIfSilent) {
  NeighborTable t(config());
  NeighborActions a;
  MacAddr mac;
  t.learn(kGateway, kGatewayMac, 0, true, a);
  EXPECT_EQ(t.resolve(kGateway, 1, 29999, &mac, a), NeighborTable::Result::kResolved);
  EXPECT_TRUE(a.requests.empty());
  EXPECT_EQ(t.resolve(kGateway, 2, 30000, &mac, a), NeighborTable::Result::kResolved);  // stale
  EXPECT_EQ(a.requests.size(), 1u);
  EXPECT_EQ(t.find(kGateway, 30000), nullptr);  // not confirmed any more
  t.learn(kGateway, kGatewayMac, 30500, false, a);  // answered: fresh again
  a.clear();
  t.tick(40000, a);
  EXPECT_TRUE(a.requests.empty());
  // Stale again, and this time nobody answers.
  t.resolve(kGateway, 3, 61000, &mac, a);
  t.tick(62000, a);
  t.tick(63000, a);
  t.tick(64000, a);
  EXPECT_EQ(a.requests.size(), 3u);
  EXPECT_EQ(t.stats().failed, 1u);
  EXPECT_EQ(t.resolve(kGateway, 4, 64001, &mac, a), NeighborTable::Result::kDropped);
}

TEST(Neighbors, LearnCreatesOnlyWhenAskedAndIgnoresBogusMacs) {
  NeighborTable t(config());
  NeighborActions a;
  t.learn(kGateway, kGatewayMac, 0, false, a);
  EXPECT_EQ(t.find(kGateway, 0), nullptr);  // not for us, not known: nothing learned
  t.learn(kGateway, MacAddr::broadcast(), 0, true, a);
  t.learn(kGateway, MacAddr{}, 0, true, a);
  EXPECT_EQ(t.find(kGateway, 0), nullptr);
  t.learn(kGateway, kGatewayMac, 0, true, a);
  EXPECT_NE(t.find(kGateway, 0), nullptr);
  const MacAddr moved{{0x02, 0, 0, 0, 0, 0x09}};
  t.learn(kGateway, moved, 5, false, a);  // an existing entry follows the sender
  EXPECT_EQ(*t.find(kGateway, 5), moved);
}

TEST(Neighbors, FullTableRecyclesOldEntriesButNeverOnesWithWaitingPackets) {
  NeighborConfig c = config();
  c.capacity = 16;  // one probe window: every address competes for the same 16 slots
  NeighborTable t(c);
  NeighborActions a;
  MacAddr mac;
  for (uint32_t k = 0; k < 16; ++k) {
    ASSERT_EQ(t.resolve(0x0a000000 + k, k, 0, &mac, a), NeighborTable::Result::kQueued) << k;
  }
  EXPECT_EQ(t.resolve(0x0a0000ff, 100, 0, &mac, a), NeighborTable::Result::kDropped);
  EXPECT_EQ(t.stats().table_full, 1u);
  // Once some are confirmed, the oldest confirmed one gives way.
  for (uint32_t k = 0; k < 16; ++k) t.learn(0x0a000000 + k, kGatewayMac, 10 + k, false, a);
  a.clear();
  EXPECT_EQ(t.resolve(0x0a0000ff, 101, 100, &mac, a), NeighborTable::Result::kQueued);
  EXPECT_EQ(t.find(0x0a000000, 100), nullptr);  // the oldest (confirmed at 10) was recycled
  EXPECT_NE(t.find(0x0a000001, 100), nullptr);
  EXPECT_EQ(t.stats().entries, 16u);
}

}  // namespace
}  // namespace dotgate::net

namespace dotgate::net {
namespace {

// Found in review: tick() must not grow the owner's pre-sized action arrays.
TEST(Neighbors, TickNeverGrowsTheActionArrays) {
  NeighborConfig c = config();
  c.capacity = 1024;
  NeighborTable t(c);
  NeighborActions big(4096);
  MacAddr mac;
  for (uint32_t k = 0; k < 600; ++k) t.resolve(0x0a000000 + k, k, 0, &mac, big);
  NeighborActions small(64);
  const size_t cap = small.requests.capacity();
  size_t requests = 0;
  for (int round = 0; round < 20; ++round) {
    small.clear();
    t.tick(1000, small);
    EXPECT_EQ(small.requests.capacity(), cap);
    requests += small.requests.size();
  }
  EXPECT_EQ(requests, 600u);  // every due entry was served, over several ticks
}

}  // namespace
}  // namespace dotgate::net
