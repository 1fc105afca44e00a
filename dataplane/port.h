// Bringing one configured port up: find its ethdev, check the device can give every worker
// its own RX/TX queue pair, make its mbuf pool on the port's socket, configure (RSS over
// the IP/TCP/UDP tuple where offered and more than one queue), set up the queues with the
// descriptor counts the device accepts, start it. Every failure names the port and why.
#pragma once

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"

namespace dotgate::dataplane {

struct OpenPort {
  uint16_t id = 0;
  rte_mempool* pool = nullptr;
  rte_ether_addr mac{};
  std::string driver;
  bool rss = false;          // the device spreads received flows over the queues itself
  bool rss_programmed = false;  // ... with our key and redirection table (else its own)
  uint32_t reta_size = 128;  // the device's redirection table, or the steering's default
  bool tx_checksum = false;  // the device completes IPv4, UDP and TCP checksums
  bool rx_checksum = false;  // ... and flags the ones it verified on receive
};

// Empty string on success (*out filled), else the reason, ready to print. With several
// queues and a device that offers RSS over the TCP/UDP tuple, the device gets `rss_key`
// (40 bytes or more) and a redirection table whose entry i is queue i % queues: what
// net::FlowSteering computes in software. IPv4/UDP/TCP checksum offload, both ways, where
// the device offers all of it.
std::string open_port(const config::Port& port, uint16_t queues, const std::vector<uint8_t>& rss_key,
                      OpenPort* out);
void close_port(const OpenPort& port);

}  // namespace dotgate::dataplane
