// From the validated file model (src/config) to what one worker runs with: the port's
// addresses and routes, its listeners, its share of the cache and connection limits, the
// pools with their zones and pins, and TLS settings. Start-up work, not packet path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "config/config.h"
#include "net/ethernet.h"
#include "worker/worker.h"

namespace dotgate::worker {

// The worker `worker` of `workers` on port `port` (index into config.dataplane.ports),
// whose MAC is `mac`; `secret` seeds its hashes, ISNs and IDs (random per start). Throws
// std::invalid_argument for what the model allows but a worker cannot do yet (named).
WorkerConfig make_worker_config(const config::Config& config, size_t port, const net::MacAddr& mac,
                                uint32_t workers, uint64_t secret);
// The same for a worker on several ports (indexes into config.dataplane.ports, the first
// becoming the WorkerConfig's own PortConfig, the rest more_ports), `macs` one per port.
WorkerConfig make_worker_config(const config::Config& config, const std::vector<size_t>& ports,
                                const std::vector<net::MacAddr>& macs, uint32_t workers, uint64_t secret);

}  // namespace dotgate::worker
