// Deterministic peer set shared by the benchmark helpers (raw_peers, peergen).
//
// Peer i (0 <= i < N) is what Docker's overlay driver would program for the
// i-th remote container of a 10.0.0.0/8 overlay network:
//   ip   = 10.0.0.0 + i + 2           (10.0.0.2, 10.0.0.3, ... ; i < 2^24 - 2)
//   mac  = 02:42:<the 4 ip bytes>      (Docker's MAC-from-IP scheme)
//   vtep = 192.0.2.(1 + i % 200)       (the remote host's VXLAN endpoint)
//
// Plain C++20, header-only, no dependencies beyond libstdc++.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>

namespace ovnet_bench {

struct Peer {
    std::array<std::uint8_t, 4> ip;    // network byte order
    std::array<std::uint8_t, 6> mac;
    std::array<std::uint8_t, 4> vtep;  // network byte order
};

// Largest N for which every ip stays inside 10.0.0.0/8.
inline constexpr std::uint32_t max_peers = (1u << 24) - 2;

constexpr Peer make_peer(std::uint32_t i) noexcept {
    const std::uint32_t host = i + 2;  // 10.0.0.2 is the first peer
    Peer p{};
    p.ip = {10, static_cast<std::uint8_t>((host >> 16) & 255),
            static_cast<std::uint8_t>((host >> 8) & 255), static_cast<std::uint8_t>(host & 255)};
    p.mac = {0x02, 0x42, p.ip[0], p.ip[1], p.ip[2], p.ip[3]};
    p.vtep = {192, 0, 2, static_cast<std::uint8_t>(1 + i % 200)};
    return p;
}

static_assert(make_peer(0).ip == std::array<std::uint8_t, 4>{10, 0, 0, 2});
static_assert(make_peer(254).ip == std::array<std::uint8_t, 4>{10, 0, 1, 0});
static_assert(make_peer(199).vtep[3] == 200 && make_peer(200).vtep[3] == 1);

inline std::string ip_str(const std::array<std::uint8_t, 4>& a) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
    return buf;
}

inline std::string mac_str(const std::array<std::uint8_t, 6>& m) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                  m[5]);
    return buf;
}

// Parses a peer count: decimal, 1..max_peers. Returns 0 on error.
inline std::uint32_t parse_count(const char* s) {
    if (s == nullptr || *s == '\0') return 0;
    std::uint64_t v = 0;
    for (const char* c = s; *c; ++c) {
        if (*c < '0' || *c > '9') return 0;
        v = v * 10 + static_cast<std::uint64_t>(*c - '0');
        if (v > max_peers) return 0;
    }
    return static_cast<std::uint32_t>(v);
}

}  // namespace ovnet_bench
