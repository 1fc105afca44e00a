// The EAL command line derived from the config file: the program name, --file-prefix,
// the lcore list and main lcore, each port's device (a `net_*` virtual device becomes
// --vdev, anything else a PCI allow-list entry; with no PCI port at all, --no-pci), then
// the file's eal_args, then what the command line adds after "--". Pure: no DPDK types.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace dotgate::dataplane {

// The worker lcores: the file's list, or the `workers` lcores after the main one.
std::vector<uint32_t> worker_lcores(const config::Dataplane& d);

std::vector<std::string> eal_arguments(const config::Config& c, const std::string& program,
                                       const std::vector<std::string>& extra);

// The ethdev name of a port's device: the vdev or PCI name before any ",arguments".
std::string device_name(const std::string& device);

}  // namespace dotgate::dataplane
