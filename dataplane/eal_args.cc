#include "eal_args.h"

#include <algorithm>

namespace dotgate::dataplane {

std::vector<uint32_t> worker_lcores(const config::Dataplane& d) {
  if (!d.lcores.empty()) return d.lcores;
  std::vector<uint32_t> out;
  for (uint32_t i = 1; out.size() < d.workers; ++i) out.push_back(d.main_lcore + i);
  return out;
}

std::string device_name(const std::string& device) { return device.substr(0, device.find(',')); }

std::vector<std::string> eal_arguments(const config::Config& c, const std::string& program,
                                       const std::vector<std::string>& extra) {
  std::vector<std::string> a = {program, "--file-prefix=" + c.dataplane.file_prefix};
  std::string list = std::to_string(c.dataplane.main_lcore);
  for (uint32_t l : worker_lcores(c.dataplane)) list += "," + std::to_string(l);
  if (c.dataplane.cpus.empty()) {
    a.push_back("-l");
    a.push_back(list);
  } else {
    std::string cpus;
    for (uint32_t cpu : c.dataplane.cpus) cpus += (cpus.empty() ? "" : ",") + std::to_string(cpu);
    a.push_back("--lcores=(" + list + ")@(" + cpus + ")");
  }
  a.push_back("--main-lcore=" + std::to_string(c.dataplane.main_lcore));
  bool any_pci = false;
  for (const config::Port& p : c.dataplane.ports) {
    if (p.device.rfind("net_", 0) == 0) {
      a.push_back("--vdev=" + p.device);
    } else {
      a.push_back("-a");
      a.push_back(p.device);
      any_pci = true;
    }
  }
  const auto has = [&](const char* arg) {
    return std::find(c.dataplane.eal_args.begin(), c.dataplane.eal_args.end(), arg) != c.dataplane.eal_args.end() ||
           std::find(extra.begin(), extra.end(), arg) != extra.end();
  };
  if (!any_pci && !has("--no-pci")) a.push_back("--no-pci");
  a.insert(a.end(), c.dataplane.eal_args.begin(), c.dataplane.eal_args.end());
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

}  // namespace dotgate::dataplane
