#!/usr/bin/env bash
# Installs every build, test and lab dependency of dotgate from Debian 12 packages.
# Idempotent: packages already present are left alone, and apt is skipped entirely
# when nothing is missing. Must run as root (or through sudo).
set -euo pipefail

packages=(
  # toolchain and build
  g++ clang libclang-rt-14-dev meson ninja-build pkg-config git
  # libraries the build links; dpdk-dev brings dpdk-telemetry.py, dpdk-dumpcap and
  # dpdk-proc-info, the secondary processes the lab attaches to the dataplane
  libdpdk-dev dpdk dpdk-dev libssl-dev openssl libipsec-mb-dev libjemalloc-dev
  libtomlplusplus-dev libgtest-dev libgmock-dev libbenchmark-dev
  # test, lab and benchmark peers (knot-resolver: a second DoT upstream; dnsdist: a peer
  # the load figures compare against)
  iproute2 iputils-ping ethtool nftables socat tcpdump tshark dnsutils knot-dnsutils dnsperf
  unbound knot-resolver dnsdist python3-dnspython valgrind
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; run this script as root" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Package installs must not start daemons (unbound) on the build machine: the lab and
# the tests start their own instances in namespaces.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
