// ovnet/neigh.hpp - neighbor (ARP/ND) entries and bridge forwarding-database entries.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "ovnet/netlink.hpp"
#include "ovnet/types.hpp"

struct nlmsghdr;

namespace ovnet {

/// A neighbor entry (AF_INET/AF_INET6) or an fdb entry (AF_BRIDGE), both RTM_NEWNEIGH.
struct Neigh {
    int family = 0;            ///< AF_INET, AF_INET6 or AF_BRIDGE
    int ifindex = 0;
    IpAddr dst;                ///< neighbor: its IP; fdb on vxlan: the remote VTEP (NDA_DST)
    Mac lladdr;
    bool has_lladdr = false;
    uint16_t state = 0;        ///< NUD_* bits
    uint8_t flags = 0;         ///< NTF_* bits
    int master = 0;            ///< NDA_MASTER (fdb entries of bridge ports)
    int vlan = -1;             ///< NDA_VLAN, -1 = none
    uint32_t vni = 0;          ///< NDA_VNI, 0 = none
    int link_netnsid = -1;     ///< NDA_LINK_NETNSID (vxlan fdb: the remote's namespace), -1 = none

    static bool parse(const nlmsghdr* h, Neigh& out);
    /// Builds RTM_NEWNEIGH (create|replace) or RTM_DELNEIGH for this entry.
    NlMsg msg(bool del) const;
    /// The same request written into `m`, a message reused across a Handle::batch_fill().
    void fill(nl_msg* m, bool del) const;
    bool permanent() const;
    /// "permanent", "reachable", "stale", "noarp", ... (the lowest set NUD bit's name)
    std::string state_name() const;
    /// Names of NTF_* flags: "self", "master", "extern_learn", "router", ...
    std::vector<std::string> flag_names() const;
};

/// Dumps entries of one family (AF_BRIDGE for fdb). ifindex != 0 keeps only that device's
/// entries (the kernel filters when it can, ovnet filters the rest).
std::vector<Neigh> neigh_list(Handle& h, int family, int ifindex = 0);

}  // namespace ovnet
