// Bringing one configured port up: find its ethdev, check the device can give every worker
// its own RX/TX queue pair, make its mbuf pool on the port's socket, configure (RSS over
// the IP/TCP/UDP tuple where offered and more than one queue), set up the queues with the
// descriptor counts the device accepts, start it. Every failure names the port and why.
#pragma once

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <cstdint>
#include <string>

#include "config/config.h"

namespace dotgate::dataplane {

struct OpenPort {
  uint16_t id = 0;
  rte_mempool* pool = nullptr;
  rte_ether_addr mac{};
  std::string driver;
  bool rss = false;
};

// Empty string on success (*out filled), else the reason, ready to print.
std::string open_port(const config::Port& port, uint16_t queues, OpenPort* out);
void close_port(const OpenPort& port);

}  // namespace dotgate::dataplane
