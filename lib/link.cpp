#include "ovnet/link.hpp"

#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "ovnet/error.hpp"
#include "ovnet/json.hpp"
#include "ovnet/netlink.hpp"

namespace ovnet {

namespace {
const char* operstate_name(uint8_t s) {
    static const char* names[] = {"unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"};
    return s < 7 ? names[s] : "unknown";
}

// Attribute types and lengths, checked by libnl before anything is read (as libnl's own
// route/link.c does): an attribute shorter than its type fails the whole message, so the readers
// below never look past one. IFLA_ADDRESS stays unchecked: its length is the device type's
// (6 for Ethernet, 4 for ipip, 20 for InfiniBand) and only 6 is read.
constexpr auto kLinkPolicy = [] {
    std::array<nla_policy, IFLA_MAX + 1> p{};
    p[IFLA_IFNAME] = {NLA_STRING, 0, IFNAMSIZ};
    p[IFLA_MTU] = {NLA_U32, 0, 0};
    p[IFLA_MASTER] = {NLA_U32, 0, 0};
    p[IFLA_OPERSTATE] = {NLA_U8, 0, 0};
    p[IFLA_LINK] = {NLA_U32, 0, 0};
    p[IFLA_LINK_NETNSID] = {NLA_S32, sizeof(int32_t), 0};
    p[IFLA_LINKINFO] = {NLA_NESTED, 0, 0};
    return p;
}();

constexpr auto kLinkInfoPolicy = [] {
    std::array<nla_policy, IFLA_INFO_MAX + 1> p{};
    p[IFLA_INFO_KIND] = {NLA_STRING, 0, 0};
    p[IFLA_INFO_DATA] = {NLA_NESTED, 0, 0};
    return p;
}();

constexpr auto kVxlanPolicy = [] {
    std::array<nla_policy, IFLA_VXLAN_MAX + 1> p{};
    p[IFLA_VXLAN_ID] = {NLA_U32, 0, 0};
    p[IFLA_VXLAN_PORT] = {NLA_U16, 0, 0};
    p[IFLA_VXLAN_LOCAL] = {NLA_UNSPEC, 4, 0};
    p[IFLA_VXLAN_LOCAL6] = {NLA_UNSPEC, 16, 0};
    p[IFLA_VXLAN_GROUP] = {NLA_UNSPEC, 4, 0};
    p[IFLA_VXLAN_GROUP6] = {NLA_UNSPEC, 16, 0};
    p[IFLA_VXLAN_LINK] = {NLA_U32, 0, 0};
    for (int a : {IFLA_VXLAN_LEARNING, IFLA_VXLAN_PROXY, IFLA_VXLAN_L2MISS, IFLA_VXLAN_L3MISS, IFLA_VXLAN_TTL,
                  IFLA_VXLAN_TOS, IFLA_VXLAN_UDP_CSUM, IFLA_VXLAN_UDP_ZERO_CSUM6_TX, IFLA_VXLAN_UDP_ZERO_CSUM6_RX,
                  IFLA_VXLAN_COLLECT_METADATA, IFLA_VXLAN_DF})
        p[a] = {NLA_U8, 0, 0};
    p[IFLA_VXLAN_AGEING] = {NLA_U32, 0, 0};
    p[IFLA_VXLAN_LABEL] = {NLA_U32, 0, 0};
    p[IFLA_VXLAN_PORT_RANGE] = {NLA_UNSPEC, sizeof(ifla_vxlan_port_range), 0};
    return p;
}();

IpAddr attr_ip(nlattr* a, int family) { return a ? IpAddr::from_bytes(family, nla_data(a)) : IpAddr{}; }

void parse_vxlan(nlattr* data, VxlanInfo& v) {
    nlattr* tb[IFLA_VXLAN_MAX + 1];
    if (nla_parse_nested(tb, IFLA_VXLAN_MAX, data, kVxlanPolicy.data()) < 0) return;
    if (tb[IFLA_VXLAN_ID]) v.vni = nla_get_u32(tb[IFLA_VXLAN_ID]);
    if (tb[IFLA_VXLAN_PORT]) v.port = ntohs(nla_get_u16(tb[IFLA_VXLAN_PORT]));
    if (tb[IFLA_VXLAN_LOCAL]) v.local = attr_ip(tb[IFLA_VXLAN_LOCAL], AF_INET);
    if (tb[IFLA_VXLAN_LOCAL6]) v.local = attr_ip(tb[IFLA_VXLAN_LOCAL6], AF_INET6);
    if (tb[IFLA_VXLAN_GROUP]) v.group = attr_ip(tb[IFLA_VXLAN_GROUP], AF_INET);
    if (tb[IFLA_VXLAN_GROUP6]) v.group = attr_ip(tb[IFLA_VXLAN_GROUP6], AF_INET6);
    // The kernel reports 0.0.0.0 when no local/group was set.
    if (v.local.valid() && v.local.b == std::array<uint8_t, 16>{}) v.local = {};
    if (v.group.valid() && v.group.b == std::array<uint8_t, 16>{}) v.group = {};
    v.dev = tb[IFLA_VXLAN_LINK] ? int(nla_get_u32(tb[IFLA_VXLAN_LINK])) : 0;
    v.learning = tb[IFLA_VXLAN_LEARNING] && nla_get_u8(tb[IFLA_VXLAN_LEARNING]);
    v.proxy = tb[IFLA_VXLAN_PROXY] && nla_get_u8(tb[IFLA_VXLAN_PROXY]);
    v.l2miss = tb[IFLA_VXLAN_L2MISS] && nla_get_u8(tb[IFLA_VXLAN_L2MISS]);
    v.l3miss = tb[IFLA_VXLAN_L3MISS] && nla_get_u8(tb[IFLA_VXLAN_L3MISS]);
    v.ttl = tb[IFLA_VXLAN_TTL] ? nla_get_u8(tb[IFLA_VXLAN_TTL]) : 0;
    auto u8 = [&](int a) { return tb[a] ? std::optional<uint8_t>(nla_get_u8(tb[a])) : std::nullopt; };
    auto flag = [&](int a) { return tb[a] ? std::optional<bool>(nla_get_u8(tb[a]) != 0) : std::nullopt; };
    if (tb[IFLA_VXLAN_AGEING]) v.ageing = nla_get_u32(tb[IFLA_VXLAN_AGEING]);
    v.udp_csum = flag(IFLA_VXLAN_UDP_CSUM);
    v.udp6_zero_csum_tx = flag(IFLA_VXLAN_UDP_ZERO_CSUM6_TX);
    v.udp6_zero_csum_rx = flag(IFLA_VXLAN_UDP_ZERO_CSUM6_RX);
    if (tb[IFLA_VXLAN_PORT_RANGE]) {
        ifla_vxlan_port_range r;
        std::memcpy(&r, nla_data(tb[IFLA_VXLAN_PORT_RANGE]), sizeof r);
        v.src_port_min = ntohs(r.low);
        v.src_port_max = ntohs(r.high);
    }
    v.tos = u8(IFLA_VXLAN_TOS);
    v.df = u8(IFLA_VXLAN_DF);
    if (tb[IFLA_VXLAN_LABEL]) v.label = ntohl(nla_get_u32(tb[IFLA_VXLAN_LABEL]));
    v.external = tb[IFLA_VXLAN_COLLECT_METADATA] && nla_get_u8(tb[IFLA_VXLAN_COLLECT_METADATA]);
}

void put_vxlan(nl_msg* m, const VxlanInfo& v) {
    nla_put_u32(m, IFLA_VXLAN_ID, v.vni);
    nla_put_u16(m, IFLA_VXLAN_PORT, htons(v.port));
    if (v.local.family == AF_INET) nla_put(m, IFLA_VXLAN_LOCAL, 4, v.local.b.data());
    if (v.local.family == AF_INET6) nla_put(m, IFLA_VXLAN_LOCAL6, 16, v.local.b.data());
    if (v.group.family == AF_INET) nla_put(m, IFLA_VXLAN_GROUP, 4, v.group.b.data());
    if (v.group.family == AF_INET6) nla_put(m, IFLA_VXLAN_GROUP6, 16, v.group.b.data());
    if (v.dev) nla_put_u32(m, IFLA_VXLAN_LINK, uint32_t(v.dev));
    nla_put_u8(m, IFLA_VXLAN_LEARNING, v.learning);
    nla_put_u8(m, IFLA_VXLAN_PROXY, v.proxy);
    nla_put_u8(m, IFLA_VXLAN_L2MISS, v.l2miss);
    nla_put_u8(m, IFLA_VXLAN_L3MISS, v.l3miss);
    nla_put_u8(m, IFLA_VXLAN_TTL, v.ttl);
    if (v.ageing) nla_put_u32(m, IFLA_VXLAN_AGEING, *v.ageing);
    if (v.udp_csum) nla_put_u8(m, IFLA_VXLAN_UDP_CSUM, *v.udp_csum);
    if (v.udp6_zero_csum_tx) nla_put_u8(m, IFLA_VXLAN_UDP_ZERO_CSUM6_TX, *v.udp6_zero_csum_tx);
    if (v.udp6_zero_csum_rx) nla_put_u8(m, IFLA_VXLAN_UDP_ZERO_CSUM6_RX, *v.udp6_zero_csum_rx);
    if (v.src_port_min || v.src_port_max) {
        ifla_vxlan_port_range r{htons(v.src_port_min.value_or(0)), htons(v.src_port_max.value_or(0))};
        nla_put(m, IFLA_VXLAN_PORT_RANGE, sizeof r, &r);
    }
    if (v.tos) nla_put_u8(m, IFLA_VXLAN_TOS, *v.tos);
    if (v.df) nla_put_u8(m, IFLA_VXLAN_DF, *v.df);
    if (v.label) nla_put_u32(m, IFLA_VXLAN_LABEL, htonl(*v.label));
}
}  // namespace

const char* vxlan_df_name(uint8_t df) {
    static const char* names[] = {"unset", "set", "inherit"};
    return df < 3 ? names[df] : "";
}
int vxlan_df_parse(const std::string& name) {
    for (uint8_t i = 0; i < 3; i++)
        if (name == vxlan_df_name(i)) return i;
    return -1;
}

bool Link::parse(const nlmsghdr* h, Link& out) {
    if (h->nlmsg_type != RTM_NEWLINK) return false;
    auto* nh = const_cast<nlmsghdr*>(h);
    nlattr* tb[IFLA_MAX + 1];
    if (nlmsg_parse(nh, sizeof(ifinfomsg), tb, IFLA_MAX, kLinkPolicy.data()) < 0)
        return false;
    auto* ifi = static_cast<ifinfomsg*>(nlmsg_data(nh));
    out = Link{};
    out.ifindex = ifi->ifi_index;
    out.up = ifi->ifi_flags & IFF_UP;
    if (tb[IFLA_IFNAME]) out.name = nla_get_string(tb[IFLA_IFNAME]);
    if (tb[IFLA_ADDRESS] && nla_len(tb[IFLA_ADDRESS]) == 6) std::memcpy(out.mac.b.data(), nla_data(tb[IFLA_ADDRESS]), 6);
    if (tb[IFLA_MTU]) out.mtu = nla_get_u32(tb[IFLA_MTU]);
    if (tb[IFLA_MASTER]) out.master = int(nla_get_u32(tb[IFLA_MASTER]));
    if (tb[IFLA_OPERSTATE]) out.operstate = operstate_name(nla_get_u8(tb[IFLA_OPERSTATE]));
    if (tb[IFLA_LINK]) out.link = int(nla_get_u32(tb[IFLA_LINK]));
    if (tb[IFLA_LINK_NETNSID]) out.link_netnsid = int(nla_get_s32(tb[IFLA_LINK_NETNSID]));
    if (tb[IFLA_LINKINFO]) {
        nlattr* li[IFLA_INFO_MAX + 1];
        if (nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], kLinkInfoPolicy.data()) == 0) {
            if (li[IFLA_INFO_KIND]) out.kind = nla_get_string(li[IFLA_INFO_KIND]);
            if (out.kind == "vxlan" && li[IFLA_INFO_DATA]) {
                out.vxlan.emplace();
                parse_vxlan(li[IFLA_INFO_DATA], *out.vxlan);
            }
        }
    }
    if (ifi->ifi_type == 772 /* ARPHRD_LOOPBACK */ && out.kind.empty()) out.kind = "loopback";
    return true;
}

std::vector<Link> link_list(Handle& h) {
    std::vector<Link> out;
    void* hdr;
    NlMsg m = nl_new(RTM_GETLINK, 0, sizeof(ifinfomsg), &hdr);
    static_cast<ifinfomsg*>(hdr)->ifi_family = AF_UNSPEC;
    h.dump(m, [&](const nlmsghdr* r) {
        Link l;
        if (Link::parse(r, l)) out.push_back(std::move(l));
    }, [&] { out.clear(); });
    return out;
}

namespace {
std::optional<Link> link_get_by(Handle& h, int ifindex, const std::string& name) {
    void* hdr;
    NlMsg m = nl_new(RTM_GETLINK, 0, sizeof(ifinfomsg), &hdr);
    static_cast<ifinfomsg*>(hdr)->ifi_index = ifindex;
    if (!name.empty()) nla_put_string(m.get(), IFLA_IFNAME, name.c_str());
    std::optional<Link> out;
    std::string ext;
    int err = h.get(std::move(m), [&](const nlmsghdr* r) {
        Link l;
        if (Link::parse(r, l)) out = std::move(l);
    }, &ext);
    if (err == ENODEV || err == ENOENT) return std::nullopt;
    if (err) throw_sys(err, "get link " + (name.empty() ? std::to_string(ifindex) : name), ext);
    return out;
}
}  // namespace

std::optional<Link> link_get(Handle& h, const std::string& name) {
    if (name.empty() || name.size() > 15) return std::nullopt;
    return link_get_by(h, 0, name);
}
std::optional<Link> link_get(Handle& h, int ifindex) {
    if (ifindex <= 0) return std::nullopt;
    return link_get_by(h, ifindex, {});
}

void link_add(Handle& h, const LinkSpec& s) {
    void* hdr;
    NlMsg m = nl_new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(ifinfomsg), &hdr);
    auto* ifi = static_cast<ifinfomsg*>(hdr);
    if (s.up) {
        ifi->ifi_flags = IFF_UP;
        ifi->ifi_change = IFF_UP;
    }
    nl_msg* msg = m.get();
    nla_put_string(msg, IFLA_IFNAME, s.name.c_str());
    if (s.mtu) nla_put_u32(msg, IFLA_MTU, *s.mtu);
    if (s.mac) nla_put(msg, IFLA_ADDRESS, 6, s.mac->b.data());
    if (s.master) nla_put_u32(msg, IFLA_MASTER, uint32_t(s.master));
    nlattr* li = nla_nest_start(msg, IFLA_LINKINFO);
    nla_put_string(msg, IFLA_INFO_KIND, s.kind.c_str());
    if (s.kind == "vxlan" && s.vxlan) {
        nlattr* d = nla_nest_start(msg, IFLA_INFO_DATA);
        put_vxlan(msg, *s.vxlan);
        nla_nest_end(msg, d);
    } else if (s.kind == "veth") {
        nlattr* d = nla_nest_start(msg, IFLA_INFO_DATA);
        nlattr* p = nla_nest_start(msg, VETH_INFO_PEER);
        ifinfomsg pifi{};
        nlmsg_append(msg, &pifi, sizeof pifi, NLMSG_ALIGNTO);
        nla_put_string(msg, IFLA_IFNAME, s.peer_name.c_str());
        if (s.peer_netns_fd >= 0) nla_put_u32(msg, IFLA_NET_NS_FD, uint32_t(s.peer_netns_fd));
        if (s.peer_mac) nla_put(msg, IFLA_ADDRESS, 6, s.peer_mac->b.data());
        if (s.peer_mtu) nla_put_u32(msg, IFLA_MTU, *s.peer_mtu);
        nla_nest_end(msg, p);
        nla_nest_end(msg, d);
    }
    nla_nest_end(msg, li);
    h.request(std::move(m), s.kind + " " + s.name);
}

void link_set(Handle& h, int ifindex, const LinkChange& c, const std::string& object) {
    void* hdr;
    NlMsg m = nl_new(RTM_NEWLINK, 0, sizeof(ifinfomsg), &hdr);
    auto* ifi = static_cast<ifinfomsg*>(hdr);
    ifi->ifi_index = ifindex;
    if (c.up) {
        ifi->ifi_flags = *c.up ? IFF_UP : 0;
        ifi->ifi_change = IFF_UP;
    }
    if (c.mtu) nla_put_u32(m.get(), IFLA_MTU, *c.mtu);
    if (c.mac) nla_put(m.get(), IFLA_ADDRESS, 6, c.mac->b.data());
    if (c.master) nla_put_u32(m.get(), IFLA_MASTER, uint32_t(*c.master));
    if (c.name) nla_put_string(m.get(), IFLA_IFNAME, c.name->c_str());
    h.request(std::move(m), object);
}

void link_del(Handle& h, int ifindex, const std::string& object) {
    void* hdr;
    NlMsg m = nl_new(RTM_DELLINK, 0, sizeof(ifinfomsg), &hdr);
    static_cast<ifinfomsg*>(hdr)->ifi_index = ifindex;
    h.request(std::move(m), object);
}

Changes links_del(Handle& h, const std::vector<std::string>& names, const std::string& kind,
                  const std::string& noun) {
    // Every name is checked before the first deletion: one wrong name deletes nothing.
    std::vector<std::pair<std::string, std::optional<Link>>> found;
    for (auto& n : names) {
        std::string obj = noun + " " + n;
        validate_ifname(n, obj, "name");
        auto l = link_get(h, n);
        if (l && l->kind != kind) throw_input(obj, "name", n, "is not a " + (kind == "vxlan" ? "vxlan device" : kind));
        found.emplace_back(obj, l);
    }
    Changes ch;
    for (auto& [obj, l] : found) {
        if (!l) {
            ch.push_back(Change::with_detail(Action::Unchanged, obj, json{{"reason", "no such " + noun}}));
            continue;
        }
        link_del(h, l->ifindex, obj);
        ch.push_back(Change{Action::Removed, obj});
    }
    return ch;
}

}  // namespace ovnet
