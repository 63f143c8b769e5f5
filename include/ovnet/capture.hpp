// ovnet/capture.hpp - decoding captured frames the way the deep dive reads tcpdump on 4789
// (ovnet-capture): outer Ethernet and IPv4, UDP, VXLAN (VNI), the inner Ethernet frame (MACs),
// inner IPv4 and TCP/UDP/ICMP, ESP (SPI, sequence). Pure: the capture itself (libpcap) is the
// tool's, so that libovnet does not depend on libpcap.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ovnet/json.hpp"

namespace ovnet {

/// What the decoder takes as VXLAN: UDP to this destination port (Docker's and Linux's 4789).
struct DecodeOptions {
    uint16_t vxlan_port = 4789;
};

/// One frame of a DLT_EN10MB (Ethernet) capture, decoded as far as it goes:
/// {"len", "eth": {"src","dst","type"}, "ip": {"src","dst","proto","len","ttl","df"},
///  "udp"|"tcp"|"icmp"|"esp": {...}, "vxlan": {"vni"}, "inner": {"eth", "ip", ...}}.
/// A truncated layer is left out and "truncated": true says so. `caplen` bytes are at `data`,
/// `len` is the frame's size on the wire.
json decode_frame(const uint8_t* data, size_t caplen, size_t len, const DecodeOptions& opt = {});

}  // namespace ovnet
