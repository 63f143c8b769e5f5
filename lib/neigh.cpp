#include "ovnet/neigh.hpp"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <array>
#include <cstring>

#include "ovnet/error.hpp"

namespace ovnet {

namespace {
// The attribute lengths Neigh::parse relies on, checked by nlmsg_parse in one place (as libnl's
// route/neigh.c does): a message with a short attribute is refused whole rather than read past
// its end. NDA_DST is 4 (IPv4) or 16 (IPv6) bytes; NDA_LLADDR is left free (its length is the
// link type's: only 6-byte Ethernet addresses are kept).
const nla_policy* neigh_policy() {
    static const auto p = [] {
        std::array<nla_policy, NDA_MAX + 1> t{};
        t[NDA_DST] = {NLA_UNSPEC, 4, 16};
        t[NDA_MASTER] = {NLA_U32, 0, 0};
        t[NDA_VLAN] = {NLA_U16, 0, 0};
        t[NDA_VNI] = {NLA_U32, 0, 0};
        t[NDA_IFINDEX] = {NLA_U32, 0, 0};
        t[NDA_PORT] = {NLA_U16, 0, 0};
        t[NDA_PROBES] = {NLA_U32, 0, 0};
        t[NDA_LINK_NETNSID] = {NLA_U32, 0, 0};
        t[NDA_SRC_VNI] = {NLA_U32, 0, 0};
        t[NDA_CACHEINFO] = {NLA_UNSPEC, uint16_t(sizeof(nda_cacheinfo)), 0};
        return t;
    }();
    return p.data();
}
}  // namespace

bool Neigh::parse(const nlmsghdr* h, Neigh& out) {
    if (h->nlmsg_type != RTM_NEWNEIGH) return false;
    auto* nh = const_cast<nlmsghdr*>(h);
    auto* nd = static_cast<ndmsg*>(nlmsg_data(nh));
    nlattr* tb[NDA_MAX + 1];
    if (nlmsg_parse(nh, sizeof(ndmsg), tb, NDA_MAX, neigh_policy()) < 0) return false;
    out = Neigh{};
    out.family = nd->ndm_family;
    out.ifindex = nd->ndm_ifindex;
    out.state = nd->ndm_state;
    out.flags = nd->ndm_flags;
    if (tb[NDA_DST]) {
        int len = nla_len(tb[NDA_DST]);
        if (len == 4) out.dst = IpAddr::from_bytes(AF_INET, nla_data(tb[NDA_DST]));
        else if (len == 16) out.dst = IpAddr::from_bytes(AF_INET6, nla_data(tb[NDA_DST]));
    }
    if (tb[NDA_LLADDR] && nla_len(tb[NDA_LLADDR]) == 6) {
        std::memcpy(out.lladdr.b.data(), nla_data(tb[NDA_LLADDR]), 6);
        out.has_lladdr = true;
    }
    if (tb[NDA_MASTER]) out.master = int(nla_get_u32(tb[NDA_MASTER]));
    if (tb[NDA_VLAN]) out.vlan = nla_get_u16(tb[NDA_VLAN]);
    if (tb[NDA_VNI]) out.vni = nla_get_u32(tb[NDA_VNI]);
    if (tb[NDA_LINK_NETNSID]) out.link_netnsid = int32_t(nla_get_u32(tb[NDA_LINK_NETNSID]));
    return true;
}

namespace {
void put_neigh(nl_msg* m, void* hdr, const Neigh& n) {
    auto* nd = static_cast<ndmsg*>(hdr);
    nd->ndm_family = uint8_t(n.family);
    nd->ndm_ifindex = n.ifindex;
    nd->ndm_state = n.state;
    nd->ndm_flags = n.flags;
    if (n.dst.valid()) nla_put(m, NDA_DST, int(n.dst.size()), n.dst.b.data());
    if (n.has_lladdr) nla_put(m, NDA_LLADDR, 6, n.lladdr.b.data());
    if (n.vlan >= 0) nla_put_u16(m, NDA_VLAN, uint16_t(n.vlan));
    if (n.vni) nla_put_u32(m, NDA_VNI, n.vni);
}
}  // namespace

NlMsg Neigh::msg(bool del) const {
    void* hdr;
    NlMsg m = nl_new(del ? RTM_DELNEIGH : RTM_NEWNEIGH, del ? 0 : NLM_F_CREATE | NLM_F_REPLACE,
                     sizeof(ndmsg), &hdr, 128);
    put_neigh(m.get(), hdr, *this);
    return m;
}

void Neigh::fill(nl_msg* m, bool del) const {
    void* hdr = nl_reuse(m, del ? RTM_DELNEIGH : RTM_NEWNEIGH, del ? 0 : NLM_F_CREATE | NLM_F_REPLACE, sizeof(ndmsg));
    put_neigh(m, hdr, *this);
}

bool Neigh::permanent() const { return state & NUD_PERMANENT; }

std::string Neigh::state_name() const {
    static const std::pair<uint16_t, const char*> names[] = {
        {NUD_PERMANENT, "permanent"}, {NUD_NOARP, "noarp"}, {NUD_REACHABLE, "reachable"},
        {NUD_STALE, "stale"}, {NUD_DELAY, "delay"}, {NUD_PROBE, "probe"},
        {NUD_FAILED, "failed"}, {NUD_INCOMPLETE, "incomplete"}};
    for (auto& [bit, n] : names)
        if (state & bit) return n;
    return state ? "unknown" : "none";
}

std::vector<std::string> Neigh::flag_names() const {
    std::vector<std::string> out;
    static const std::pair<uint8_t, const char*> names[] = {
        {NTF_SELF, "self"}, {NTF_MASTER, "master"}, {NTF_EXT_LEARNED, "extern_learn"},
        {NTF_ROUTER, "router"}, {NTF_PROXY, "proxy"}, {NTF_OFFLOADED, "offload"}, {NTF_USE, "use"}};
    for (auto& [bit, n] : names)
        if (flags & bit) out.push_back(n);
    return out;
}

std::vector<Neigh> neigh_list(Handle& h, int family, int ifindex) {
    std::vector<Neigh> out;
    void* hdr;
    NlMsg m = nl_new(RTM_GETNEIGH, 0, sizeof(ndmsg), &hdr);
    static_cast<ndmsg*>(hdr)->ndm_family = uint8_t(family);
    if (ifindex && family != AF_BRIDGE) nla_put_u32(m.get(), NDA_IFINDEX, uint32_t(ifindex));
    h.dump(m, [&](const nlmsghdr* r) {
        auto* nd = static_cast<const ndmsg*>(NLMSG_DATA(r));
        if (r->nlmsg_type != RTM_NEWNEIGH || nd->ndm_family != family) return;
        if (ifindex && nd->ndm_ifindex != ifindex) return;
        Neigh n;
        if (Neigh::parse(r, n)) out.push_back(std::move(n));
    }, [&] { out.clear(); });
    return out;
}

}  // namespace ovnet
