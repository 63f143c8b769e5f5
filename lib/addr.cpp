#include "ovnet/addr.hpp"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <array>
#include <cerrno>

#include "ovnet/error.hpp"
#include "ovnet/netlink.hpp"

namespace ovnet {

namespace {
// Attribute lengths, checked by libnl before anything is read: an address attribute shorter than
// its family's address fails the whole message. One table per family.
template <int Max>
constexpr std::array<nla_policy, Max + 1> addr_policy(std::initializer_list<int> addrs, uint16_t len,
                                                      std::initializer_list<int> u32s) {
    std::array<nla_policy, Max + 1> p{};
    for (int a : addrs) p[a] = {NLA_UNSPEC, len, 0};
    for (int a : u32s) p[a] = {NLA_U32, 0, 0};
    return p;
}
constexpr auto kAddr4Policy = addr_policy<IFA_MAX>({IFA_LOCAL, IFA_ADDRESS}, 4, {});
constexpr auto kAddr6Policy = addr_policy<IFA_MAX>({IFA_LOCAL, IFA_ADDRESS}, 16, {});
constexpr auto kRoute4Policy = addr_policy<RTA_MAX>({RTA_DST, RTA_GATEWAY, RTA_PREFSRC}, 4, {RTA_OIF});
constexpr auto kRoute6Policy = addr_policy<RTA_MAX>({RTA_DST, RTA_GATEWAY, RTA_PREFSRC}, 16, {RTA_OIF});

IpAddr prefsrc_of(const nlmsghdr* h) {
    auto* nh = const_cast<nlmsghdr*>(h);
    if (h->nlmsg_type != RTM_NEWROUTE || !nlmsg_valid_hdr(nh, sizeof(rtmsg))) return {};
    auto* rt = static_cast<rtmsg*>(nlmsg_data(nh));
    if (rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6) return {};
    nlattr* tb[RTA_MAX + 1];
    const nla_policy* policy = (rt->rtm_family == AF_INET6 ? kRoute6Policy : kRoute4Policy).data();
    if (nlmsg_parse(nh, sizeof(rtmsg), tb, RTA_MAX, policy) < 0 || !tb[RTA_PREFSRC]) return {};
    return IpAddr::from_bytes(rt->rtm_family, nla_data(tb[RTA_PREFSRC]));
}
}  // namespace

bool Addr::parse(const nlmsghdr* h, Addr& out) {
    if (h->nlmsg_type != RTM_NEWADDR) return false;
    auto* nh = const_cast<nlmsghdr*>(h);
    if (!nlmsg_valid_hdr(nh, sizeof(ifaddrmsg))) return false;
    auto* ifa = static_cast<ifaddrmsg*>(nlmsg_data(nh));
    if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) return false;
    nlattr* tb[IFA_MAX + 1];
    const nla_policy* policy = (ifa->ifa_family == AF_INET6 ? kAddr6Policy : kAddr4Policy).data();
    if (nlmsg_parse(nh, sizeof(ifaddrmsg), tb, IFA_MAX, policy) < 0) return false;
    nlattr* a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
    if (!a) return false;
    out.ifindex = int(ifa->ifa_index);
    out.prefix.addr = IpAddr::from_bytes(ifa->ifa_family, nla_data(a));
    out.prefix.len = ifa->ifa_prefixlen;
    out.scope = ifa->ifa_scope;
    return true;
}

std::vector<Addr> addr_list(Handle& h, int ifindex) {
    std::vector<Addr> out;
    void* hdr;
    NlMsg m = nl_new(RTM_GETADDR, 0, sizeof(ifaddrmsg), &hdr);
    h.dump(m, [&](const nlmsghdr* r) {
        Addr a;
        if (!Addr::parse(r, a)) return;
        if (ifindex && a.ifindex != ifindex) return;
        if (a.prefix.addr.family == AF_INET6 && a.prefix.addr.b[0] == 0xfe && (a.prefix.addr.b[1] & 0xc0) == 0x80)
            return;  // link-local: the kernel's, not ours
        out.push_back(a);
    }, [&] { out.clear(); });
    return out;
}

namespace {
NlMsg addr_msg(int type, int flags, int ifindex, const Prefix& p) {
    void* hdr;
    NlMsg m = nl_new(type, flags, sizeof(ifaddrmsg), &hdr);
    auto* ifa = static_cast<ifaddrmsg*>(hdr);
    ifa->ifa_family = uint8_t(p.addr.family);
    ifa->ifa_prefixlen = uint8_t(p.len);
    ifa->ifa_index = uint32_t(ifindex);
    nla_put(m.get(), IFA_LOCAL, int(p.addr.size()), p.addr.b.data());
    nla_put(m.get(), IFA_ADDRESS, int(p.addr.size()), p.addr.b.data());
    return m;
}
}  // namespace

bool addr_add(Handle& h, int ifindex, const Prefix& p, const std::string& object) {
    for (auto& a : addr_list(h, ifindex))
        if (a.prefix == p) return false;
    h.request(addr_msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, p), object + " address " + p.str());
    return true;
}

bool addr_del(Handle& h, int ifindex, const Prefix& p, const std::string& object) {
    std::string ext;
    int err = h.request_errno(addr_msg(RTM_DELADDR, 0, ifindex, p), &ext);
    if (err == EADDRNOTAVAIL || err == ENOENT) return false;
    if (err) throw_sys(err, "delete address", ext, object + " address " + p.str());
    return true;
}

bool Route::parse(const nlmsghdr* h, Route& out) {
    if (h->nlmsg_type != RTM_NEWROUTE) return false;
    auto* nh = const_cast<nlmsghdr*>(h);
    if (!nlmsg_valid_hdr(nh, sizeof(rtmsg))) return false;
    auto* rt = static_cast<rtmsg*>(nlmsg_data(nh));
    if (rt->rtm_table != RT_TABLE_MAIN || rt->rtm_type != RTN_UNICAST) return false;
    nlattr* tb[RTA_MAX + 1];
    const nla_policy* policy = (rt->rtm_family == AF_INET6 ? kRoute6Policy : kRoute4Policy).data();
    if (nlmsg_parse(nh, sizeof(rtmsg), tb, RTA_MAX, policy) < 0) return false;
    out = Route{};
    out.dst.addr.family = rt->rtm_family;
    if (tb[RTA_DST]) out.dst.addr = IpAddr::from_bytes(rt->rtm_family, nla_data(tb[RTA_DST]));
    out.dst.len = rt->rtm_dst_len;
    if (tb[RTA_GATEWAY]) out.gateway = IpAddr::from_bytes(rt->rtm_family, nla_data(tb[RTA_GATEWAY]));
    if (tb[RTA_OIF]) out.oif = int(nla_get_u32(tb[RTA_OIF]));
    return true;
}

std::vector<Route> route_list(Handle& h, int family) {
    std::vector<Route> out;
    void* hdr;
    NlMsg m = nl_new(RTM_GETROUTE, 0, sizeof(rtmsg), &hdr);
    static_cast<rtmsg*>(hdr)->rtm_family = uint8_t(family);
    h.dump(m, [&](const nlmsghdr* r) {
        Route rt;
        if (Route::parse(r, rt)) out.push_back(rt);
    }, [&] { out.clear(); });
    return out;
}

bool route_replace(Handle& h, const Route& r, const std::string& object) {
    for (auto& e : route_list(h, r.dst.addr.family))
        if (e.dst == r.dst && e.gateway == r.gateway && (!r.oif || e.oif == r.oif)) return false;
    void* hdr;
    NlMsg m = nl_new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, sizeof(rtmsg), &hdr);
    auto* rt = static_cast<rtmsg*>(hdr);
    rt->rtm_family = uint8_t(r.dst.addr.family);
    rt->rtm_dst_len = uint8_t(r.dst.len);
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_protocol = RTPROT_STATIC;
    rt->rtm_scope = r.gateway.valid() ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    rt->rtm_type = RTN_UNICAST;
    if (r.dst.len) nla_put(m.get(), RTA_DST, int(r.dst.addr.size()), r.dst.addr.b.data());
    if (r.gateway.valid()) nla_put(m.get(), RTA_GATEWAY, int(r.gateway.size()), r.gateway.b.data());
    if (r.oif) nla_put_u32(m.get(), RTA_OIF, uint32_t(r.oif));
    h.request(std::move(m), object);
    return true;
}

}  // namespace ovnet

namespace ovnet {

IpAddr route_source(Handle& h, const IpAddr& dst) {
    void* hdr;
    NlMsg m = nl_new(RTM_GETROUTE, 0, sizeof(rtmsg), &hdr);
    auto* rt = static_cast<rtmsg*>(hdr);
    rt->rtm_family = uint8_t(dst.family);
    rt->rtm_dst_len = uint8_t(dst.size() * 8);
    nla_put(m.get(), RTA_DST, int(dst.size()), dst.b.data());
    IpAddr src;
    std::string ext;
    int err = h.get(std::move(m), [&](const nlmsghdr* r) { src = prefsrc_of(r); }, &ext);
    // No route (ENETUNREACH, EHOSTUNREACH), or an unreachable/prohibit one: no source.
    if (err == ENETUNREACH || err == EHOSTUNREACH || err == EACCES || err == EINVAL) return {};
    if (err) throw_sys(err, "route lookup toward " + dst.str(), ext);
    return src;
}

IpAddr default_route_source(Handle& h, int family) {
    void* hdr;
    NlMsg m = nl_new(RTM_GETROUTE, 0, sizeof(rtmsg), &hdr);
    static_cast<rtmsg*>(hdr)->rtm_family = uint8_t(family);
    IpAddr src, gw;
    bool found = false;
    h.dump(m, [&](const nlmsghdr* r) {
        Route rt;
        if (found || !Route::parse(r, rt) || rt.dst.len != 0 || rt.dst.addr.family != family) return;
        found = true;
        src = prefsrc_of(r);
        gw = rt.gateway;
    }, [&] { found = false, src = {}, gw = {}; });
    if (!src.valid() && gw.valid()) src = route_source(h, gw);
    return src;
}

}  // namespace ovnet
