// The packet buffers a worker receives into and sends from: mbufs in the dataplane, plain
// buffers in the in-process tests and over a TAP device. A packet is an opaque 64-bit handle
// (0 is none) plus the buffer it names, so the neighbour table can hold packets waiting for
// an ARP or ND answer without owning packet memory.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dotgate::worker {

class PacketIo {
 public:
  virtual ~PacketIo() = default;
  // A buffer for a frame to send; 0 when none is free (the caller counts and sheds).
  virtual uint64_t alloc(uint8_t** data, size_t* capacity) = 0;
  // The buffer of a handle from alloc() or a received packet, and its frame length.
  virtual uint8_t* data(uint64_t handle) = 0;
  virtual size_t length(uint64_t handle) = 0;
  virtual void set_length(uint64_t handle, size_t len) = 0;
  // Sends the frame (length() bytes); the handle belongs to the I/O layer again.
  virtual void transmit(uint64_t handle) = 0;
  // Gives the handle back unsent.
  virtual void release(uint64_t handle) = 0;

  // Checksum offload, where the device has it. tx: frames the worker sends carry only the
  // pseudo-header's part of UDP/TCP checksums and no IPv4 header checksum; the device
  // completes them. rx: what the device verified in a received frame.
  virtual bool tx_checksum_offload() const { return false; }
  struct RxChecksums {
    bool ip_good = false;  // the IPv4 header checksum (IPv6 has none)
    bool l4_good = false;  // the UDP or TCP checksum
  };
  virtual RxChecksums rx_checksums(uint64_t /*handle*/) { return {}; }
};

}  // namespace dotgate::worker
