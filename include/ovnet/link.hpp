// ovnet/link.hpp - network interfaces (bridge, vxlan, veth; any other kind read-only).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include "ovnet/json.hpp"
#include "ovnet/types.hpp"

struct nlmsghdr;

namespace ovnet {
class Handle;

/// VXLAN parameters (IFLA_VXLAN_*).
struct VxlanInfo {
    uint32_t vni = 0;          ///< 1..16777215
    uint16_t port = 4789;      ///< UDP destination port
    IpAddr local;              ///< source address of the tunnel, may be unset
    IpAddr group;              ///< remote or multicast group, may be unset
    int dev = 0;               ///< underlay device ifindex (IFLA_VXLAN_LINK), 0 = none
    bool learning = false;
    bool proxy = true;
    bool l2miss = true;
    bool l3miss = true;
    uint8_t ttl = 0;           ///< 0 = inherit
    // Settings fixed at creation; on read, nullopt when the kernel did not report the attribute,
    // on write, nullopt leaves the kernel's default.
    std::optional<uint32_t> ageing;       ///< IFLA_VXLAN_AGEING: fdb ageing time, seconds
    std::optional<bool> udp_csum;         ///< IFLA_VXLAN_UDP_CSUM: checksums on IPv4 outer UDP
    std::optional<bool> udp6_zero_csum_tx;///< IFLA_VXLAN_UDP_ZERO_CSUM6_TX
    std::optional<bool> udp6_zero_csum_rx;///< IFLA_VXLAN_UDP_ZERO_CSUM6_RX
    std::optional<uint16_t> src_port_min; ///< IFLA_VXLAN_PORT_RANGE low (0 0 = the kernel's range)
    std::optional<uint16_t> src_port_max; ///< IFLA_VXLAN_PORT_RANGE high
    std::optional<uint8_t> tos;           ///< IFLA_VXLAN_TOS: 0 = 0, 1 = inherit
    std::optional<uint8_t> df;            ///< IFLA_VXLAN_DF: 0 unset, 1 set, 2 inherit
    std::optional<uint32_t> label;        ///< IFLA_VXLAN_LABEL: IPv6 flow label (host order)
    bool external = false;                ///< IFLA_VXLAN_COLLECT_METADATA (read only)
};

/// "unset", "set", "inherit" for IFLA_VXLAN_DF's values, "" for others.
const char* vxlan_df_name(uint8_t df);
/// The value of a df name, or -1.
int vxlan_df_parse(const std::string& name);

/// A link as dumped by RTM_GETLINK.
struct Link {
    int ifindex = 0;
    std::string name;
    std::string kind;          ///< IFLA_INFO_KIND: "bridge", "vxlan", "veth", ... or "" (device)
    Mac mac;
    uint32_t mtu = 0;
    int master = 0;            ///< ifindex of the bridge, 0 if none
    bool up = false;           ///< IFF_UP
    std::string operstate;     ///< "up", "down", "unknown", ...
    int link = 0;              ///< IFLA_LINK: for veth the peer's ifindex
    int link_netnsid = -1;     ///< IFLA_LINK_NETNSID: peer's namespace id, -1 = same namespace
    std::optional<VxlanInfo> vxlan;

    /// Fills a Link from an RTM_NEWLINK message. Returns false if it is not one.
    static bool parse(const nlmsghdr* h, Link& out);
};

/// All links of the handle's namespace, by ifindex.
std::vector<Link> link_list(Handle& h);
/// One link by name, or nullopt.
std::optional<Link> link_get(Handle& h, const std::string& name);
/// One link by index, or nullopt.
std::optional<Link> link_get(Handle& h, int ifindex);

/// What to create with link_add().
struct LinkSpec {
    std::string name;
    std::string kind;               ///< "bridge", "vxlan" or "veth"
    std::optional<uint32_t> mtu;
    std::optional<Mac> mac;
    int master = 0;
    bool up = false;
    std::optional<VxlanInfo> vxlan; ///< for kind "vxlan"
    std::string peer_name;          ///< for kind "veth"
    int peer_netns_fd = -1;         ///< for kind "veth": namespace of the peer, -1 = same
    std::optional<Mac> peer_mac;
    std::optional<uint32_t> peer_mtu;
};
/// Creates a link (NLM_F_CREATE|NLM_F_EXCL). Throws Error(Runtime) with the kernel's message.
void link_add(Handle& h, const LinkSpec& spec);

/// Changes to an existing link; unset fields are left alone.
struct LinkChange {
    std::optional<uint32_t> mtu;
    std::optional<Mac> mac;
    std::optional<int> master;      ///< 0 detaches
    std::optional<bool> up;
    std::optional<std::string> name;
};
void link_set(Handle& h, int ifindex, const LinkChange& c, const std::string& object);
void link_del(Handle& h, int ifindex, const std::string& object);
/// Deletes the named links of one kind ("bridge", "vxlan"), all checked first: a name of another
/// kind is Error(Input) and nothing is deleted; missing ones are reported unchanged.
Changes links_del(Handle& h, const std::vector<std::string>& names, const std::string& kind,
                  const std::string& noun);

}  // namespace ovnet
