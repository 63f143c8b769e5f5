// Netlink message encoding and decoding without a socket: Neigh::msg/parse, nl_new, and
// Link/Addr/Route::parse on messages built by hand the way the kernel sends them.
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <cstring>
#include <vector>

#include "helpers.hpp"
#include "ovnet/ovnet.hpp"

using namespace ovnet;

namespace {

constexpr uint8_t kMac[6] = {0x02, 0x42, 0x0a, 0x00, 0x00, 0x06};
constexpr uint8_t kVtep[4] = {192, 0, 2, 12};

Neigh fdb_entry() {
    Neigh n;
    n.family = AF_BRIDGE;
    n.ifindex = 7;
    n.lladdr = Mac::parse("02:42:0a:00:00:06");
    n.has_lladdr = true;
    n.dst = IpAddr::parse("192.0.2.12");
    n.state = NUD_PERMANENT;
    n.flags = NTF_SELF;
    return n;
}

struct Attr {
    int type;
    std::vector<uint8_t> data;
};

// Walks the attributes after the family header by hand (no libnl), in wire order.
std::vector<Attr> walk(const nlmsghdr* h, size_t hdrlen) {
    std::vector<Attr> out;
    size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(hdrlen);
    const auto* base = reinterpret_cast<const uint8_t*>(h);
    while (off + NLA_HDRLEN <= h->nlmsg_len) {
        nlattr a;
        std::memcpy(&a, base + off, sizeof a);
        REQUIRE(a.nla_len >= NLA_HDRLEN);
        REQUIRE(off + a.nla_len <= h->nlmsg_len);
        out.push_back({a.nla_type & NLA_TYPE_MASK,
                       std::vector<uint8_t>(base + off + NLA_HDRLEN, base + off + a.nla_len)});
        off += NLA_ALIGN(a.nla_len);
    }
    CHECK(off == NLMSG_ALIGN(h->nlmsg_len));
    return out;
}

std::vector<uint8_t> bytes(const void* p, size_t n) {
    auto* b = static_cast<const uint8_t*>(p);
    return {b, b + n};
}

NlMsg new_msg(int type) {
    NlMsg m(nlmsg_alloc_simple(type, 0));
    REQUIRE(m);
    return m;
}

}  // namespace

TEST_CASE("nl_new builds a request header and a zeroed family header", "[netlink]") {
    void* hdr = nullptr;
    NlMsg m = nl_new(RTM_GETLINK, 0, sizeof(ifinfomsg), &hdr);
    REQUIRE(m);
    nlmsghdr* h = nlmsg_hdr(m.get());
    CHECK(h->nlmsg_type == RTM_GETLINK);
    CHECK(h->nlmsg_flags == NLM_F_REQUEST);
    CHECK(h->nlmsg_len == NLMSG_LENGTH(sizeof(ifinfomsg)));
    CHECK(h->nlmsg_seq == 0);
    CHECK(hdr == nlmsg_data(h));
    std::vector<uint8_t> zero(sizeof(ifinfomsg), 0);
    CHECK(bytes(hdr, sizeof(ifinfomsg)) == zero);

    NlMsg c = nl_new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(ifinfomsg), nullptr, 256);
    CHECK(nlmsg_hdr(c.get())->nlmsg_flags == (NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL));
}

TEST_CASE("Neigh::msg(false) encodes a permanent fdb entry (RTM_NEWNEIGH create|replace)", "[netlink][neigh]") {
    Neigh n = fdb_entry();
    NlMsg m = n.msg(false);
    REQUIRE(m);
    nlmsghdr* h = nlmsg_hdr(m.get());

    CHECK(h->nlmsg_type == RTM_NEWNEIGH);
    constexpr int want = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE;
    CHECK((h->nlmsg_flags & want) == want);
    CHECK_FALSE(h->nlmsg_flags & NLM_F_EXCL);
    CHECK_FALSE(h->nlmsg_flags & NLM_F_APPEND);
    // ndmsg + NDA_DST(4) + NDA_LLADDR(6), nothing else.
    CHECK(h->nlmsg_len == NLMSG_LENGTH(sizeof(ndmsg)) + NLA_ALIGN(NLA_HDRLEN + 4) + NLA_ALIGN(NLA_HDRLEN + 6));

    ndmsg nd;
    std::memcpy(&nd, nlmsg_data(h), sizeof nd);
    CHECK(nd.ndm_family == AF_BRIDGE);
    CHECK(nd.ndm_ifindex == 7);
    CHECK(nd.ndm_state == NUD_PERMANENT);
    CHECK(nd.ndm_flags == NTF_SELF);
    CHECK(nd.ndm_type == 0);

    SECTION("attributes, parsed with libnl") {
        nlattr* tb[NDA_MAX + 1];
        REQUIRE(nlmsg_parse(h, sizeof(ndmsg), tb, NDA_MAX, nullptr) == 0);
        REQUIRE(tb[NDA_LLADDR]);
        CHECK(nla_len(tb[NDA_LLADDR]) == 6);
        CHECK(bytes(nla_data(tb[NDA_LLADDR]), 6) == bytes(kMac, 6));
        REQUIRE(tb[NDA_DST]);
        CHECK(nla_len(tb[NDA_DST]) == 4);
        CHECK(bytes(nla_data(tb[NDA_DST]), 4) == bytes(kVtep, 4));
        CHECK_FALSE(tb[NDA_VLAN]);
        CHECK_FALSE(tb[NDA_VNI]);
        CHECK_FALSE(tb[NDA_MASTER]);
        CHECK_FALSE(tb[NDA_PORT]);
    }
    SECTION("attributes, walked by hand") {
        auto attrs = walk(h, sizeof(ndmsg));
        REQUIRE(attrs.size() == 2);
        CHECK(attrs[0].type == NDA_DST);
        CHECK(attrs[0].data == bytes(kVtep, 4));
        CHECK(attrs[1].type == NDA_LLADDR);
        CHECK(attrs[1].data == bytes(kMac, 6));
    }
    SECTION("Neigh::parse round-trips it") {
        Neigh out;
        out.vlan = 99;  // parse resets everything
        REQUIRE(Neigh::parse(h, out));
        CHECK(out.family == AF_BRIDGE);
        CHECK(out.ifindex == 7);
        CHECK(out.dst == n.dst);
        CHECK(out.dst.family == AF_INET);
        CHECK(out.has_lladdr);
        CHECK(out.lladdr == n.lladdr);
        CHECK(out.state == NUD_PERMANENT);
        CHECK(out.flags == NTF_SELF);
        CHECK(out.master == 0);
        CHECK(out.vlan == -1);
        CHECK(out.vni == 0);
        CHECK(out.permanent());
        CHECK(out.state_name() == "permanent");
        CHECK(out.flag_names() == std::vector<std::string>{"self"});
    }
}

TEST_CASE("Neigh::msg(true) encodes RTM_DELNEIGH without create/replace", "[netlink][neigh]") {
    Neigh n = fdb_entry();
    NlMsg m = n.msg(true);
    nlmsghdr* h = nlmsg_hdr(m.get());
    CHECK(h->nlmsg_type == RTM_DELNEIGH);
    CHECK(h->nlmsg_flags == NLM_F_REQUEST);
    ndmsg nd;
    std::memcpy(&nd, nlmsg_data(h), sizeof nd);
    CHECK(nd.ndm_family == AF_BRIDGE);
    CHECK(nd.ndm_ifindex == 7);
    CHECK(nd.ndm_flags == NTF_SELF);
    auto attrs = walk(h, sizeof(ndmsg));
    REQUIRE(attrs.size() == 2);
    CHECK(attrs[0].type == NDA_DST);
    CHECK(attrs[1].type == NDA_LLADDR);
    CHECK(attrs[1].data == bytes(kMac, 6));

    // parse() only takes RTM_NEWNEIGH...
    Neigh out;
    CHECK_FALSE(Neigh::parse(h, out));
    // ...but the body is the same entry.
    h->nlmsg_type = RTM_NEWNEIGH;
    REQUIRE(Neigh::parse(h, out));
    CHECK(out.family == n.family);
    CHECK(out.ifindex == n.ifindex);
    CHECK(out.dst == n.dst);
    CHECK(out.lladdr == n.lladdr);
    CHECK(out.state == n.state);
    CHECK(out.flags == n.flags);
}

TEST_CASE("Neigh::msg for neighbors and IPv6 and VLAN and VNI", "[netlink][neigh]") {
    SECTION("IPv4 neighbor delete without lladdr carries only NDA_DST") {
        Neigh n;
        n.family = AF_INET;
        n.ifindex = 7;
        n.dst = IpAddr::parse("10.0.0.3");
        n.state = NUD_PERMANENT;
        NlMsg m = n.msg(true);
        nlmsghdr* h = nlmsg_hdr(m.get());
        auto attrs = walk(h, sizeof(ndmsg));
        REQUIRE(attrs.size() == 1);
        CHECK(attrs[0].type == NDA_DST);
        CHECK(attrs[0].data == std::vector<uint8_t>{10, 0, 0, 3});
        h->nlmsg_type = RTM_NEWNEIGH;
        Neigh out;
        REQUIRE(Neigh::parse(h, out));
        CHECK(out.family == AF_INET);
        CHECK_FALSE(out.has_lladdr);
        CHECK(out.dst == n.dst);
    }
    SECTION("IPv6 neighbor with everything set round-trips") {
        Neigh n;
        n.family = AF_INET6;
        n.ifindex = 42;
        n.dst = IpAddr::parse("fd00::3");
        n.lladdr = Mac::parse("02:42:0a:00:00:03");
        n.has_lladdr = true;
        n.state = NUD_PERMANENT;
        n.flags = NTF_ROUTER;
        NlMsg m = n.msg(false);
        nlmsghdr* h = nlmsg_hdr(m.get());
        nlattr* tb[NDA_MAX + 1];
        REQUIRE(nlmsg_parse(h, sizeof(ndmsg), tb, NDA_MAX, nullptr) == 0);
        REQUIRE(tb[NDA_DST]);
        CHECK(nla_len(tb[NDA_DST]) == 16);
        Neigh out;
        REQUIRE(Neigh::parse(h, out));
        CHECK(out.dst == n.dst);
        CHECK(out.dst.family == AF_INET6);
        CHECK(out.lladdr == n.lladdr);
        CHECK(out.flags == NTF_ROUTER);
        CHECK(out.flag_names() == std::vector<std::string>{"router"});
    }
    SECTION("fdb entry with an IPv6 VTEP, VLAN and VNI") {
        Neigh n = fdb_entry();
        n.dst = IpAddr::parse("2001:db8::12");
        n.vlan = 100;
        n.vni = 4097;
        NlMsg m = n.msg(false);
        nlmsghdr* h = nlmsg_hdr(m.get());
        nlattr* tb[NDA_MAX + 1];
        REQUIRE(nlmsg_parse(h, sizeof(ndmsg), tb, NDA_MAX, nullptr) == 0);
        REQUIRE(tb[NDA_VLAN]);
        CHECK(nla_get_u16(tb[NDA_VLAN]) == 100);
        REQUIRE(tb[NDA_VNI]);
        CHECK(nla_get_u32(tb[NDA_VNI]) == 4097);
        Neigh out;
        REQUIRE(Neigh::parse(h, out));
        CHECK(out.dst == n.dst);
        CHECK(out.vlan == 100);
        CHECK(out.vni == 4097);
        CHECK(out.lladdr == n.lladdr);
    }
}

TEST_CASE("Neigh::parse reads NDA_MASTER and ignores odd-sized addresses", "[netlink][neigh]") {
    NlMsg m = new_msg(RTM_NEWNEIGH);
    ndmsg nd{};
    nd.ndm_family = AF_BRIDGE;
    nd.ndm_ifindex = 17;
    nd.ndm_state = NUD_REACHABLE;
    nd.ndm_flags = NTF_MASTER;
    REQUIRE(nlmsg_append(m.get(), &nd, sizeof nd, NLMSG_ALIGNTO) == 0);
    uint8_t odd_mac[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t odd_dst[5] = {1, 2, 3, 4, 5};
    nla_put(m.get(), NDA_LLADDR, 8, odd_mac);
    nla_put(m.get(), NDA_DST, 5, odd_dst);
    nla_put_u32(m.get(), NDA_MASTER, 5);
    Neigh out;
    REQUIRE(Neigh::parse(nlmsg_hdr(m.get()), out));
    CHECK(out.ifindex == 17);
    CHECK(out.master == 5);
    CHECK_FALSE(out.has_lladdr);
    CHECK_FALSE(out.dst.valid());
    CHECK_FALSE(out.permanent());
    CHECK(out.state_name() == "reachable");
    CHECK(out.flag_names() == std::vector<std::string>{"master"});
}

TEST_CASE("Neigh state and flag names", "[netlink][neigh]") {
    Neigh n;
    CHECK(n.state_name() == "none");
    CHECK(n.flag_names().empty());
    CHECK_FALSE(n.permanent());
    n.state = NUD_STALE;
    CHECK(n.state_name() == "stale");
    n.state = NUD_NOARP;
    CHECK(n.state_name() == "noarp");
    n.state = NUD_FAILED;
    CHECK(n.state_name() == "failed");
    n.state = NUD_INCOMPLETE;
    CHECK(n.state_name() == "incomplete");
    n.state = NUD_DELAY;
    CHECK(n.state_name() == "delay");
    n.state = NUD_PROBE;
    CHECK(n.state_name() == "probe");
    n.state = NUD_PERMANENT | NUD_NOARP;
    CHECK(n.state_name() == "permanent");
    CHECK(n.permanent());
    n.state = 0x8000;
    CHECK(n.state_name() == "unknown");
    n.flags = NTF_SELF | NTF_EXT_LEARNED | NTF_OFFLOADED;
    CHECK(n.flag_names() == std::vector<std::string>{"self", "extern_learn", "offload"});
}

TEST_CASE("Link::parse decodes a vxlan RTM_NEWLINK", "[netlink][link]") {
    NlMsg m = new_msg(RTM_NEWLINK);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_index = 6;
    ifi.ifi_type = 1;  // ARPHRD_ETHER
    ifi.ifi_flags = IFF_UP | IFF_BROADCAST | IFF_RUNNING;
    nl_msg* r = m.get();
    REQUIRE(nlmsg_append(r, &ifi, sizeof ifi, NLMSG_ALIGNTO) == 0);
    nla_put_string(r, IFLA_IFNAME, "vx-001001-7672d");
    uint8_t mac[6] = {0x6a, 0x1e, 0x2b, 0x3c, 0x4d, 0x5f};
    nla_put(r, IFLA_ADDRESS, 6, mac);
    nla_put_u32(r, IFLA_MTU, 1450);
    nla_put_u32(r, IFLA_MASTER, 5);
    nla_put_u8(r, IFLA_OPERSTATE, 6);  // IF_OPER_UP
    nlattr* li = nla_nest_start(r, IFLA_LINKINFO);
    nla_put_string(r, IFLA_INFO_KIND, "vxlan");
    nlattr* d = nla_nest_start(r, IFLA_INFO_DATA);
    nla_put_u32(r, IFLA_VXLAN_ID, 4097);
    uint8_t local[4] = {192, 0, 2, 11}, any[4] = {0, 0, 0, 0};
    nla_put(r, IFLA_VXLAN_GROUP, 4, any);  // the kernel reports 0.0.0.0 for "no group"
    nla_put(r, IFLA_VXLAN_LOCAL, 4, local);
    nla_put_u32(r, IFLA_VXLAN_LINK, 2);
    nla_put_u8(r, IFLA_VXLAN_TTL, 64);
    nla_put_u8(r, IFLA_VXLAN_LEARNING, 0);
    nla_put_u8(r, IFLA_VXLAN_PROXY, 1);
    nla_put_u8(r, IFLA_VXLAN_L2MISS, 1);
    nla_put_u8(r, IFLA_VXLAN_L3MISS, 0);
    nla_put_u16(r, IFLA_VXLAN_PORT, htons(4790));
    nla_nest_end(r, d);
    nla_nest_end(r, li);

    Link l;
    REQUIRE(Link::parse(nlmsg_hdr(r), l));
    CHECK(l.ifindex == 6);
    CHECK(l.name == "vx-001001-7672d");
    CHECK(l.kind == "vxlan");
    CHECK(l.mac == Mac::parse("6a:1e:2b:3c:4d:5f"));
    CHECK(l.mtu == 1450);
    CHECK(l.master == 5);
    CHECK(l.up);
    CHECK(l.operstate == "up");
    CHECK(l.link == 0);
    CHECK(l.link_netnsid == -1);
    REQUIRE(l.vxlan);
    CHECK(l.vxlan->vni == 4097);
    CHECK(l.vxlan->port == 4790);  // network byte order on the wire
    CHECK(l.vxlan->local == IpAddr::parse("192.0.2.11"));
    CHECK_FALSE(l.vxlan->group.valid());
    CHECK(l.vxlan->dev == 2);
    CHECK(l.vxlan->ttl == 64);
    CHECK_FALSE(l.vxlan->learning);
    CHECK(l.vxlan->proxy);
    CHECK(l.vxlan->l2miss);
    CHECK_FALSE(l.vxlan->l3miss);

    // Not RTM_NEWLINK: refused.
    nlmsg_hdr(r)->nlmsg_type = RTM_DELLINK;
    Link x;
    CHECK_FALSE(Link::parse(nlmsg_hdr(r), x));
}

TEST_CASE("Link::parse: veth peer in another namespace and loopback and down bridge", "[netlink][link]") {
    SECTION("veth") {
        NlMsg m = new_msg(RTM_NEWLINK);
        ifinfomsg ifi{};
        ifi.ifi_index = 17;
        ifi.ifi_type = 1;
        REQUIRE(nlmsg_append(m.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) == 0);
        nla_put_string(m.get(), IFLA_IFNAME, "veth4dd295a");
        nla_put_u32(m.get(), IFLA_LINK, 16);
        nla_put_s32(m.get(), IFLA_LINK_NETNSID, 0);
        nla_put_u8(m.get(), IFLA_OPERSTATE, 2);  // IF_OPER_DOWN
        nlattr* li = nla_nest_start(m.get(), IFLA_LINKINFO);
        nla_put_string(m.get(), IFLA_INFO_KIND, "veth");
        nla_nest_end(m.get(), li);
        Link l;
        REQUIRE(Link::parse(nlmsg_hdr(m.get()), l));
        CHECK(l.kind == "veth");
        CHECK(l.link == 16);
        CHECK(l.link_netnsid == 0);
        CHECK_FALSE(l.up);
        CHECK(l.operstate == "down");
        CHECK_FALSE(l.vxlan);
    }
    SECTION("loopback") {
        NlMsg m = new_msg(RTM_NEWLINK);
        ifinfomsg ifi{};
        ifi.ifi_index = 1;
        ifi.ifi_type = 772;  // ARPHRD_LOOPBACK
        ifi.ifi_flags = IFF_UP | IFF_LOOPBACK;
        REQUIRE(nlmsg_append(m.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) == 0);
        nla_put_string(m.get(), IFLA_IFNAME, "lo");
        nla_put_u8(m.get(), IFLA_OPERSTATE, 0);
        Link l;
        REQUIRE(Link::parse(nlmsg_hdr(m.get()), l));
        CHECK(l.name == "lo");
        CHECK(l.kind == "loopback");
        CHECK(l.up);
        CHECK(l.operstate == "unknown");
        CHECK(l.mac.is_zero());
    }
    SECTION("bridge, operstate out of range") {
        NlMsg m = new_msg(RTM_NEWLINK);
        ifinfomsg ifi{};
        ifi.ifi_index = 5;
        ifi.ifi_type = 1;
        REQUIRE(nlmsg_append(m.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) == 0);
        nla_put_string(m.get(), IFLA_IFNAME, "br0");
        nla_put_u8(m.get(), IFLA_OPERSTATE, 200);
        nlattr* li = nla_nest_start(m.get(), IFLA_LINKINFO);
        nla_put_string(m.get(), IFLA_INFO_KIND, "bridge");
        nla_nest_end(m.get(), li);
        Link l;
        REQUIRE(Link::parse(nlmsg_hdr(m.get()), l));
        CHECK(l.kind == "bridge");
        CHECK(l.operstate == "unknown");
        CHECK_FALSE(l.up);
        CHECK(l.master == 0);
    }
}

TEST_CASE("Addr::parse", "[netlink][addr]") {
    SECTION("IPv4 prefers IFA_LOCAL") {
        NlMsg m = new_msg(RTM_NEWADDR);
        ifaddrmsg ifa{};
        ifa.ifa_family = AF_INET;
        ifa.ifa_prefixlen = 24;
        ifa.ifa_index = 3;
        REQUIRE(nlmsg_append(m.get(), &ifa, sizeof ifa, NLMSG_ALIGNTO) == 0);
        uint8_t peer[4] = {10, 0, 0, 9}, local[4] = {10, 0, 0, 2};
        nla_put(m.get(), IFA_ADDRESS, 4, peer);
        nla_put(m.get(), IFA_LOCAL, 4, local);
        Addr a;
        REQUIRE(Addr::parse(nlmsg_hdr(m.get()), a));
        CHECK(a.ifindex == 3);
        CHECK(a.prefix.str() == "10.0.0.2/24");
        nlmsg_hdr(m.get())->nlmsg_type = RTM_DELADDR;
        CHECK_FALSE(Addr::parse(nlmsg_hdr(m.get()), a));
    }
    SECTION("IPv6 has only IFA_ADDRESS") {
        NlMsg m = new_msg(RTM_NEWADDR);
        ifaddrmsg ifa{};
        ifa.ifa_family = AF_INET6;
        ifa.ifa_prefixlen = 64;
        ifa.ifa_index = 4;
        REQUIRE(nlmsg_append(m.get(), &ifa, sizeof ifa, NLMSG_ALIGNTO) == 0);
        in6_addr six{};
        REQUIRE(inet_pton(AF_INET6, "fd00::2", &six) == 1);
        nla_put(m.get(), IFA_ADDRESS, 16, &six);
        Addr a;
        REQUIRE(Addr::parse(nlmsg_hdr(m.get()), a));
        CHECK(a.ifindex == 4);
        CHECK(a.prefix.str() == "fd00::2/64");
    }
    SECTION("no address or another family: not an address") {
        NlMsg m = new_msg(RTM_NEWADDR);
        ifaddrmsg ifa{};
        ifa.ifa_family = AF_INET;
        REQUIRE(nlmsg_append(m.get(), &ifa, sizeof ifa, NLMSG_ALIGNTO) == 0);
        Addr a;
        CHECK_FALSE(Addr::parse(nlmsg_hdr(m.get()), a));
        NlMsg p = new_msg(RTM_NEWADDR);
        ifa.ifa_family = AF_PACKET;
        REQUIRE(nlmsg_append(p.get(), &ifa, sizeof ifa, NLMSG_ALIGNTO) == 0);
        uint8_t x[4] = {1, 2, 3, 4};
        nla_put(p.get(), IFA_ADDRESS, 4, x);
        CHECK_FALSE(Addr::parse(nlmsg_hdr(p.get()), a));
    }
}

TEST_CASE("Route::parse keeps main-table unicast routes", "[netlink][route]") {
    auto build = [](uint8_t table, uint8_t type, uint8_t dst_len, const uint8_t* dst, const uint8_t* gw, int oif) {
        NlMsg m = new_msg(RTM_NEWROUTE);
        rtmsg rt{};
        rt.rtm_family = AF_INET;
        rt.rtm_dst_len = dst_len;
        rt.rtm_table = table;
        rt.rtm_type = type;
        rt.rtm_protocol = RTPROT_STATIC;
        REQUIRE(nlmsg_append(m.get(), &rt, sizeof rt, NLMSG_ALIGNTO) == 0);
        nla_put_u32(m.get(), RTA_TABLE, table);
        if (dst) nla_put(m.get(), RTA_DST, 4, dst);
        if (gw) nla_put(m.get(), RTA_GATEWAY, 4, gw);
        if (oif) nla_put_u32(m.get(), RTA_OIF, uint32_t(oif));
        return m;
    };
    uint8_t gw[4] = {10, 0, 0, 1}, net[4] = {10, 0, 0, 0};

    Route def;
    NlMsg m1 = build(RT_TABLE_MAIN, RTN_UNICAST, 0, nullptr, gw, 16);
    REQUIRE(Route::parse(nlmsg_hdr(m1.get()), def));
    CHECK(def.dst.len == 0);
    CHECK(def.dst.addr.family == AF_INET);
    CHECK(def.dst.str() == "0.0.0.0/0");
    CHECK(def.gateway == IpAddr::parse("10.0.0.1"));
    CHECK(def.oif == 16);

    Route link;
    NlMsg m2 = build(RT_TABLE_MAIN, RTN_UNICAST, 24, net, nullptr, 16);
    REQUIRE(Route::parse(nlmsg_hdr(m2.get()), link));
    CHECK(link.dst.str() == "10.0.0.0/24");
    CHECK_FALSE(link.gateway.valid());

    Route x;
    NlMsg m3 = build(RT_TABLE_LOCAL, RTN_LOCAL, 32, net, nullptr, 16);
    CHECK_FALSE(Route::parse(nlmsg_hdr(m3.get()), x));
    NlMsg m4 = build(RT_TABLE_MAIN, RTN_BROADCAST, 32, net, nullptr, 16);
    CHECK_FALSE(Route::parse(nlmsg_hdr(m4.get()), x));
    nlmsg_hdr(m1.get())->nlmsg_type = RTM_DELROUTE;
    CHECK_FALSE(Route::parse(nlmsg_hdr(m1.get()), x));
}

TEST_CASE("Link/Addr/Route::parse: nla_policy refuses attributes shorter than their type", "[netlink][policy]") {
    auto link_msg = [](auto&& add) {
        NlMsg m = new_msg(RTM_NEWLINK);
        ifinfomsg ifi{};
        ifi.ifi_index = 7;
        ifi.ifi_type = 1;
        REQUIRE(nlmsg_append(m.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) == 0);
        add(m.get());
        return m;
    };
    Link l;
    SECTION("a 2-byte IFLA_MTU, an unterminated IFLA_IFNAME, a long name, a 1-byte IFLA_LINK_NETNSID") {
        uint16_t short_mtu = 1500;
        NlMsg m1 = link_msg([&](nl_msg* r) {
            nla_put_string(r, IFLA_IFNAME, "eth0");
            nla_put(r, IFLA_MTU, 2, &short_mtu);
        });
        CHECK_FALSE(Link::parse(nlmsg_hdr(m1.get()), l));
        NlMsg m2 = link_msg([&](nl_msg* r) { nla_put(r, IFLA_IFNAME, 4, "eth0"); });
        CHECK_FALSE(Link::parse(nlmsg_hdr(m2.get()), l));
        NlMsg m3 = link_msg([&](nl_msg* r) { nla_put_string(r, IFLA_IFNAME, "a-name-of-17-byte"); });
        CHECK_FALSE(Link::parse(nlmsg_hdr(m3.get()), l));
        uint8_t one = 1;
        NlMsg m4 = link_msg([&](nl_msg* r) { nla_put(r, IFLA_LINK_NETNSID, 1, &one); });
        CHECK_FALSE(Link::parse(nlmsg_hdr(m4.get()), l));
        // The same messages with right-sized attributes parse.
        NlMsg ok = link_msg([&](nl_msg* r) {
            nla_put_string(r, IFLA_IFNAME, "a-name-of-15-by");
            nla_put_u32(r, IFLA_MTU, 1500);
            nla_put_s32(r, IFLA_LINK_NETNSID, 3);
        });
        REQUIRE(Link::parse(nlmsg_hdr(ok.get()), l));
        CHECK(l.name == "a-name-of-15-by");
        CHECK(l.mtu == 1500);
        CHECK(l.link_netnsid == 3);
    }
    SECTION("IFLA_ADDRESS of another length is not a MAC, but the link is kept") {
        uint8_t ipip[4] = {192, 0, 2, 1};
        NlMsg m = link_msg([&](nl_msg* r) {
            nla_put_string(r, IFLA_IFNAME, "tunl0");
            nla_put(r, IFLA_ADDRESS, 4, ipip);
        });
        REQUIRE(Link::parse(nlmsg_hdr(m.get()), l));
        CHECK(l.mac.is_zero());
    }
    SECTION("a short vxlan attribute leaves the vxlan data unread") {
        uint8_t half[8] = {0xfd, 0, 0, 0, 0, 0, 0, 1};
        NlMsg m = link_msg([&](nl_msg* r) {
            nla_put_string(r, IFLA_IFNAME, "vx0");
            nlattr* li = nla_nest_start(r, IFLA_LINKINFO);
            nla_put_string(r, IFLA_INFO_KIND, "vxlan");
            nlattr* d = nla_nest_start(r, IFLA_INFO_DATA);
            nla_put_u32(r, IFLA_VXLAN_ID, 42);
            nla_put(r, IFLA_VXLAN_LOCAL6, 8, half);   // 8 of 16 bytes
            nla_nest_end(r, d);
            nla_nest_end(r, li);
        });
        REQUIRE(Link::parse(nlmsg_hdr(m.get()), l));
        CHECK(l.kind == "vxlan");
        REQUIRE(l.vxlan);
        CHECK(l.vxlan->vni == 0);
        CHECK_FALSE(l.vxlan->local.valid());
    }
    SECTION("an IPv6 address or route attribute of 4 bytes") {
        NlMsg m = new_msg(RTM_NEWADDR);
        ifaddrmsg ifa{};
        ifa.ifa_family = AF_INET6;
        ifa.ifa_prefixlen = 64;
        ifa.ifa_index = 4;
        REQUIRE(nlmsg_append(m.get(), &ifa, sizeof ifa, NLMSG_ALIGNTO) == 0);
        uint8_t four[4] = {10, 0, 0, 1};
        nla_put(m.get(), IFA_ADDRESS, 4, four);
        Addr a;
        CHECK_FALSE(Addr::parse(nlmsg_hdr(m.get()), a));

        NlMsg r = new_msg(RTM_NEWROUTE);
        rtmsg rt{};
        rt.rtm_family = AF_INET6;
        rt.rtm_dst_len = 0;
        rt.rtm_table = RT_TABLE_MAIN;
        rt.rtm_type = RTN_UNICAST;
        REQUIRE(nlmsg_append(r.get(), &rt, sizeof rt, NLMSG_ALIGNTO) == 0);
        nla_put(r.get(), RTA_GATEWAY, 4, four);
        Route x;
        CHECK_FALSE(Route::parse(nlmsg_hdr(r.get()), x));
        uint16_t two = 1;
        NlMsg r4 = new_msg(RTM_NEWROUTE);
        rt.rtm_family = AF_INET;
        REQUIRE(nlmsg_append(r4.get(), &rt, sizeof rt, NLMSG_ALIGNTO) == 0);
        nla_put(r4.get(), RTA_OIF, 2, &two);
        CHECK_FALSE(Route::parse(nlmsg_hdr(r4.get()), x));
    }
}
