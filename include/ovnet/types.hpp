// ovnet/types.hpp - validated value types: MAC, IP address, prefix, interface name.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <compare>
#include <netinet/in.h>

namespace ovnet {

/// An Ethernet address. parse() accepts "aa:bb:cc:dd:ee:ff" (case-insensitive) only.
struct Mac {
    std::array<uint8_t, 6> b{};
    static Mac parse(std::string_view s);               ///< throws Error(Input)
    static bool try_parse(std::string_view s, Mac& out);
    std::string str() const;
    void append_to(std::string& out) const;             ///< str() appended, without a temporary
    bool is_zero() const;
    bool is_multicast() const { return b[0] & 1; }
    auto operator<=>(const Mac&) const = default;
};

/// An IPv4 or IPv6 address.
struct IpAddr {
    int family = 0;                 ///< AF_INET or AF_INET6, 0 when unset
    std::array<uint8_t, 16> b{};    ///< network byte order, first 4 bytes for IPv4
    static IpAddr parse(std::string_view s);            ///< throws Error(Input)
    static bool try_parse(std::string_view s, IpAddr& out);
    static IpAddr from_bytes(int family, const void* data);
    std::string str() const;
    void append_to(std::string& out) const;             ///< str() appended (nothing when unset)
    size_t size() const { return family == AF_INET6 ? 16 : family == AF_INET ? 4 : 0; }
    bool valid() const { return family != 0; }
    auto operator<=>(const IpAddr&) const = default;
};

/// An address with a prefix length, e.g. 10.0.0.2/24. The host bits are kept.
struct Prefix {
    IpAddr addr;
    int len = 0;
    static Prefix parse(std::string_view s);            ///< throws Error(Input); prefix required
    std::string str() const;
    Prefix network() const;                             ///< host bits cleared
    auto operator<=>(const Prefix&) const = default;
};

/// Throws Error(Input) unless `name` is a valid interface name (1..15 bytes, no '/', ':' or space).
void validate_ifname(std::string_view name, const std::string& object = {},
                     const std::string& field = "name");

/// False for unspecified, multicast and (IPv4) limited-broadcast addresses: what an interface
/// address or a tunnel endpoint can never be.
bool is_unicast_host(const IpAddr& a);

/// An IPv4 netmask (host byte order) as a prefix length: 0xffffff00 -> 24; -1 when the mask is
/// not contiguous (0xff00ff00).
int netmask_to_prefix(uint32_t mask);
/// The IPv4 netmask (host byte order) of a prefix length 0..32: 24 -> 0xffffff00.
uint32_t prefix_to_netmask(int plen);

/// Docker's container MAC for an IPv4 address: 02:42:<four address bytes>.
Mac docker_mac(const IpAddr& ipv4);

}  // namespace ovnet
