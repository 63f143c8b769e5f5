// IPVS over generic netlink: encoding requests and parsing replies (moby/ipvs's netlink_linux.go).
// Replies are parsed with genlmsg_parse/nla_parse_nested and a policy table per attribute set, so
// every attribute's length is checked in one place before it is read (as libnl's neigh.c does).
#include "ipvs_wire.hpp"

#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "ovnet/error.hpp"

namespace ovnet::ipvs_detail {

namespace {

constexpr uint32_t kFlagMask = IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_ONEPACKET | IP_VS_SVC_F_SCHED1 |
                               IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3;
const char* const kTunNames[] = {"ipip", "gue", "gre"};
constexpr uint16_t kAddrLen = 16;   // the kernel sends union nf_inet_addr whatever the family

template <size_t N>
using Policy = std::array<nla_policy, N>;

template <size_t N>
nla_policy* pol(Policy<N>& p) { return p.data(); }

Policy<IPVS_CMD_ATTR_MAX + 1> cmd_policy() {
    Policy<IPVS_CMD_ATTR_MAX + 1> p{};
    p[IPVS_CMD_ATTR_SERVICE].type = NLA_NESTED;
    p[IPVS_CMD_ATTR_DEST].type = NLA_NESTED;
    p[IPVS_CMD_ATTR_DAEMON].type = NLA_NESTED;
    p[IPVS_CMD_ATTR_TIMEOUT_TCP].type = NLA_U32;
    p[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN].type = NLA_U32;
    p[IPVS_CMD_ATTR_TIMEOUT_UDP].type = NLA_U32;
    return p;
}

Policy<IPVS_SVC_ATTR_MAX + 1> svc_policy() {
    Policy<IPVS_SVC_ATTR_MAX + 1> p{};
    p[IPVS_SVC_ATTR_AF].type = NLA_U16;
    p[IPVS_SVC_ATTR_PROTOCOL].type = NLA_U16;
    p[IPVS_SVC_ATTR_ADDR].minlen = kAddrLen;
    p[IPVS_SVC_ATTR_PORT].type = NLA_U16;
    p[IPVS_SVC_ATTR_FWMARK].type = NLA_U32;
    p[IPVS_SVC_ATTR_SCHED_NAME].type = NLA_STRING;
    p[IPVS_SVC_ATTR_SCHED_NAME].maxlen = IP_VS_SCHEDNAME_MAXLEN;
    p[IPVS_SVC_ATTR_PE_NAME].type = NLA_STRING;
    p[IPVS_SVC_ATTR_PE_NAME].maxlen = IP_VS_PENAME_MAXLEN;
    p[IPVS_SVC_ATTR_FLAGS].minlen = sizeof(ip_vs_flags);
    p[IPVS_SVC_ATTR_TIMEOUT].type = NLA_U32;
    p[IPVS_SVC_ATTR_NETMASK].type = NLA_U32;
    p[IPVS_SVC_ATTR_STATS].type = NLA_NESTED;
    p[IPVS_SVC_ATTR_STATS64].type = NLA_NESTED;
    return p;
}

Policy<IPVS_DEST_ATTR_MAX + 1> dest_policy() {
    Policy<IPVS_DEST_ATTR_MAX + 1> p{};
    p[IPVS_DEST_ATTR_ADDR].minlen = kAddrLen;
    p[IPVS_DEST_ATTR_PORT].type = NLA_U16;
    p[IPVS_DEST_ATTR_FWD_METHOD].type = NLA_U32;
    p[IPVS_DEST_ATTR_WEIGHT].type = NLA_U32;
    p[IPVS_DEST_ATTR_U_THRESH].type = NLA_U32;
    p[IPVS_DEST_ATTR_L_THRESH].type = NLA_U32;
    p[IPVS_DEST_ATTR_ACTIVE_CONNS].type = NLA_U32;
    p[IPVS_DEST_ATTR_INACT_CONNS].type = NLA_U32;
    p[IPVS_DEST_ATTR_PERSIST_CONNS].type = NLA_U32;
    p[IPVS_DEST_ATTR_STATS].type = NLA_NESTED;
    p[IPVS_DEST_ATTR_ADDR_FAMILY].type = NLA_U16;
    p[IPVS_DEST_ATTR_STATS64].type = NLA_NESTED;
    p[IPVS_DEST_ATTR_TUN_TYPE].type = NLA_U8;
    p[IPVS_DEST_ATTR_TUN_PORT].type = NLA_U16;
    p[IPVS_DEST_ATTR_TUN_FLAGS].type = NLA_U16;
    return p;
}

// IPVS_SVC_ATTR_STATS mixes 32- and 64-bit counters (bytes are 64-bit); STATS64 is all 64-bit.
Policy<IPVS_STATS_ATTR_MAX + 1> stats_policy(bool is64) {
    Policy<IPVS_STATS_ATTR_MAX + 1> p{};
    for (int i = 1; i <= IPVS_STATS_ATTR_MAX; i++) {
        if (is64) p[size_t(i)].type = NLA_U64;
        else p[size_t(i)].minlen = 4, p[size_t(i)].maxlen = 8;
    }
    return p;
}

Policy<IPVS_INFO_ATTR_MAX + 1> info_policy() {
    Policy<IPVS_INFO_ATTR_MAX + 1> p{};
    p[IPVS_INFO_ATTR_VERSION].type = NLA_U32;
    p[IPVS_INFO_ATTR_CONN_TAB_SIZE].type = NLA_U32;
    return p;
}

Policy<CTRL_ATTR_MAX + 1> ctrl_policy() {
    Policy<CTRL_ATTR_MAX + 1> p{};
    p[CTRL_ATTR_FAMILY_ID].type = NLA_U16;
    p[CTRL_ATTR_FAMILY_NAME].type = NLA_STRING;
    p[CTRL_ATTR_VERSION].type = NLA_U32;
    p[CTRL_ATTR_HDRSIZE].type = NLA_U32;
    p[CTRL_ATTR_MAXATTR].type = NLA_U32;
    p[CTRL_ATTR_OPS].type = NLA_NESTED;
    p[CTRL_ATTR_MCAST_GROUPS].type = NLA_NESTED;
    return p;
}

[[noreturn]] void malformed(int err, const char* what) {
    throw Error(ErrorKind::Runtime, std::string("malformed IPVS reply (") + what + "): " + nl_geterror(err), EBADMSG);
}

// The top-level attributes of a reply, checked against `p`.
template <size_t N>
void parse_top(const nlmsghdr* h, nlattr** tb, Policy<N>& p, const char* what) {
    int err = genlmsg_parse(const_cast<nlmsghdr*>(h), 0, tb, int(N - 1), p.data());
    if (err < 0) malformed(err, what);
}

template <size_t N>
void parse_nested(nlattr* a, nlattr** tb, Policy<N>& p, const char* what) {
    int err = nla_parse_nested(tb, int(N - 1), a, p.data());
    if (err < 0) malformed(err, what);
}

void parse_stats(nlattr* a, bool is64, IpvsStats& s) {
    static auto p64 = stats_policy(true), p32 = stats_policy(false);
    nlattr* tb[IPVS_STATS_ATTR_MAX + 1] = {};
    parse_nested(a, tb, is64 ? p64 : p32, "stats");
    auto get = [&](int i) -> uint64_t {
        if (!tb[i]) return 0;
        return nla_len(tb[i]) == 8 ? nla_get_u64(tb[i]) : nla_get_u32(tb[i]);
    };
    s.conns = get(IPVS_STATS_ATTR_CONNS);
    s.inpkts = get(IPVS_STATS_ATTR_INPKTS);
    s.outpkts = get(IPVS_STATS_ATTR_OUTPKTS);
    s.inbytes = get(IPVS_STATS_ATTR_INBYTES);
    s.outbytes = get(IPVS_STATS_ATTR_OUTBYTES);
    s.cps = get(IPVS_STATS_ATTR_CPS);
    s.inpps = get(IPVS_STATS_ATTR_INPPS);
    s.outpps = get(IPVS_STATS_ATTR_OUTPPS);
    s.inbps = get(IPVS_STATS_ATTR_INBPS);
    s.outbps = get(IPVS_STATS_ATTR_OUTBPS);
}

IpvsService parse_service(nlattr* a) {
    static auto p = svc_policy();
    nlattr* tb[IPVS_SVC_ATTR_MAX + 1] = {};
    parse_nested(a, tb, p, "service");
    IpvsService s;
    if (tb[IPVS_SVC_ATTR_AF]) s.af = nla_get_u16(tb[IPVS_SVC_ATTR_AF]);
    if (tb[IPVS_SVC_ATTR_FWMARK]) s.fwmark = nla_get_u32(tb[IPVS_SVC_ATTR_FWMARK]);
    if (s.fwmark) {
        s.protocol = "fwm";
    } else {
        if (tb[IPVS_SVC_ATTR_PROTOCOL]) s.protocol = proto_name(nla_get_u16(tb[IPVS_SVC_ATTR_PROTOCOL]));
        if (tb[IPVS_SVC_ATTR_ADDR]) s.addr = IpAddr::from_bytes(s.af, nla_data(tb[IPVS_SVC_ATTR_ADDR]));
        if (tb[IPVS_SVC_ATTR_PORT]) s.port = ntohs(nla_get_u16(tb[IPVS_SVC_ATTR_PORT]));
    }
    if (tb[IPVS_SVC_ATTR_SCHED_NAME]) s.scheduler = nla_get_string(tb[IPVS_SVC_ATTR_SCHED_NAME]);
    if (tb[IPVS_SVC_ATTR_PE_NAME]) s.pe = nla_get_string(tb[IPVS_SVC_ATTR_PE_NAME]);
    if (tb[IPVS_SVC_ATTR_FLAGS]) {
        ip_vs_flags f{};
        std::memcpy(&f, nla_data(tb[IPVS_SVC_ATTR_FLAGS]), sizeof f);
        s.persistent = f.flags & IP_VS_SVC_F_PERSISTENT;
        s.onepacket = f.flags & IP_VS_SVC_F_ONEPACKET;
        s.sh_fallback = f.flags & IP_VS_SVC_F_SCHED1;
        s.sh_port = f.flags & IP_VS_SVC_F_SCHED2;
    }
    if (tb[IPVS_SVC_ATTR_TIMEOUT]) s.timeout = nla_get_u32(tb[IPVS_SVC_ATTR_TIMEOUT]);
    if (tb[IPVS_SVC_ATTR_NETMASK]) {
        uint32_t nm = nla_get_u32(tb[IPVS_SVC_ATTR_NETMASK]);
        int plen = s.af == AF_INET6 ? int(nm) : netmask_to_prefix(ntohl(nm));
        s.netmask = plen == max_plen(s.af) ? -1 : plen;
    }
    if (!s.persistent) { s.timeout = 0; s.netmask = -1; }
    if (tb[IPVS_SVC_ATTR_STATS64]) parse_stats(tb[IPVS_SVC_ATTR_STATS64], true, s.stats);
    else if (tb[IPVS_SVC_ATTR_STATS]) parse_stats(tb[IPVS_SVC_ATTR_STATS], false, s.stats);
    return s;
}

IpvsDest parse_dest(nlattr* a, int svc_af) {
    static auto p = dest_policy();
    nlattr* tb[IPVS_DEST_ATTR_MAX + 1] = {};
    parse_nested(a, tb, p, "destination");
    IpvsDest d;
    int af = tb[IPVS_DEST_ATTR_ADDR_FAMILY] ? nla_get_u16(tb[IPVS_DEST_ATTR_ADDR_FAMILY]) : svc_af;
    if (tb[IPVS_DEST_ATTR_ADDR]) d.addr = IpAddr::from_bytes(af, nla_data(tb[IPVS_DEST_ATTR_ADDR]));
    if (tb[IPVS_DEST_ATTR_PORT]) d.port = ntohs(nla_get_u16(tb[IPVS_DEST_ATTR_PORT]));
    if (tb[IPVS_DEST_ATTR_FWD_METHOD]) d.fwd = IpvsFwd(nla_get_u32(tb[IPVS_DEST_ATTR_FWD_METHOD]) & IP_VS_CONN_F_FWD_MASK);
    if (tb[IPVS_DEST_ATTR_WEIGHT]) d.weight = nla_get_u32(tb[IPVS_DEST_ATTR_WEIGHT]);
    if (tb[IPVS_DEST_ATTR_U_THRESH]) d.u_thresh = nla_get_u32(tb[IPVS_DEST_ATTR_U_THRESH]);
    if (tb[IPVS_DEST_ATTR_L_THRESH]) d.l_thresh = nla_get_u32(tb[IPVS_DEST_ATTR_L_THRESH]);
    if (tb[IPVS_DEST_ATTR_ACTIVE_CONNS]) d.active = nla_get_u32(tb[IPVS_DEST_ATTR_ACTIVE_CONNS]);
    if (tb[IPVS_DEST_ATTR_INACT_CONNS]) d.inactive = nla_get_u32(tb[IPVS_DEST_ATTR_INACT_CONNS]);
    if (tb[IPVS_DEST_ATTR_PERSIST_CONNS]) d.persistent = nla_get_u32(tb[IPVS_DEST_ATTR_PERSIST_CONNS]);
    if (d.fwd == IpvsFwd::Tunnel) {
        int t = tb[IPVS_DEST_ATTR_TUN_TYPE] ? nla_get_u8(tb[IPVS_DEST_ATTR_TUN_TYPE]) : 0;
        const char* n = tun_name(t);
        d.tun_type = n ? n : std::to_string(t);
        if (tb[IPVS_DEST_ATTR_TUN_PORT]) d.tun_port = ntohs(nla_get_u16(tb[IPVS_DEST_ATTR_TUN_PORT]));
        if (d.tun_type != "gue") d.tun_port = 0;
    }
    if (tb[IPVS_DEST_ATTR_STATS64]) parse_stats(tb[IPVS_DEST_ATTR_STATS64], true, d.stats);
    else if (tb[IPVS_DEST_ATTR_STATS]) parse_stats(tb[IPVS_DEST_ATTR_STATS], false, d.stats);
    return d;
}

void put_addr(nl_msg* m, int attr, const IpAddr& a) {
    uint8_t buf[16] = {};
    std::memcpy(buf, a.b.data(), a.size());
    nla_put(m, attr, 16, buf);
}

}  // namespace

// ---- shared helpers ----

int proto_num(const std::string& p) {
    if (p == "tcp") return IPPROTO_TCP;
    if (p == "udp") return IPPROTO_UDP;
    if (p == "sctp") return IPPROTO_SCTP;
    return 0;
}

std::string proto_name(int n) {
    switch (n) {
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_SCTP: return "sctp";
    default: return std::to_string(n);
    }
}

int tun_num(const std::string& t) {
    for (int i = 0; i < 3; i++)
        if (t == kTunNames[i]) return i;
    return -1;
}

const char* tun_name(int t) { return t >= 0 && t < 3 ? kTunNames[t] : nullptr; }

std::string addr_port(const IpAddr& a, uint16_t port) {
    std::string s;
    s.reserve(24);
    if (a.family == AF_INET6) s += '[';
    a.append_to(s);
    if (a.family == AF_INET6) s += ']';
    s += ':';
    char buf[8];
    s.append(buf, std::to_chars(buf, buf + sizeof buf, unsigned(port)).ptr);
    return s;
}

bool same_config(const IpvsService& a, const IpvsService& b) {
    if (a.scheduler != b.scheduler || a.persistent != b.persistent || a.onepacket != b.onepacket ||
        a.sh_fallback != b.sh_fallback || a.sh_port != b.sh_port || a.pe != b.pe)
        return false;
    if (a.persistent) {
        int na = a.netmask < 0 ? max_plen(a.af) : a.netmask, nb = b.netmask < 0 ? max_plen(b.af) : b.netmask;
        if (a.timeout != b.timeout || na != nb) return false;
    }
    return true;
}

bool same_config(const IpvsDest& a, const IpvsDest& b) {
    if (a.fwd != b.fwd || a.weight != b.weight || a.u_thresh != b.u_thresh || a.l_thresh != b.l_thresh) return false;
    if (a.fwd == IpvsFwd::Tunnel) {
        std::string ta = a.tun_type.empty() ? "ipip" : a.tun_type, tb = b.tun_type.empty() ? "ipip" : b.tun_type;
        if (ta != tb || (ta == "gue" && a.tun_port != b.tun_port)) return false;
    }
    return true;
}

bool svc_less(const IpvsService& a, const IpvsService& b) {
    if (a.fwmark != b.fwmark) return a.fwmark < b.fwmark;
    if (a.af != b.af) return a.af < b.af;
    int pa = proto_num(a.protocol), pb = proto_num(b.protocol);
    if (pa != pb) return pa < pb;
    if (a.addr.b != b.addr.b) return a.addr.b < b.addr.b;
    return a.port < b.port;
}

int dest_cmp(const IpvsDest& a, const IpvsDest& b) {
    if (a.addr.family != b.addr.family) return a.addr.family < b.addr.family ? -1 : 1;
    if (int c = std::memcmp(a.addr.b.data(), b.addr.b.data(), a.addr.b.size())) return c;
    return a.port == b.port ? 0 : a.port < b.port ? -1 : 1;
}

// ---- encoding ----

void set_genl_hdr(void* hdr, uint8_t cmd) {
    auto* g = static_cast<genlmsghdr*>(hdr);
    g->cmd = cmd;
    g->version = IPVS_GENL_VERSION;
}

NlMsg genl_msg(int family, uint8_t cmd, int flags, size_t size) {
    void* hdr = nullptr;
    NlMsg m = nl_new(family, flags, GENL_HDRLEN, &hdr, size);
    set_genl_hdr(hdr, cmd);
    return m;
}

void put_service(nl_msg* m, const IpvsService& s, bool full) {
    nlattr* n = nla_nest_start(m, IPVS_CMD_ATTR_SERVICE);
    nla_put_u16(m, IPVS_SVC_ATTR_AF, uint16_t(s.af));
    if (s.fwmark) {
        nla_put_u32(m, IPVS_SVC_ATTR_FWMARK, s.fwmark);
    } else {
        nla_put_u16(m, IPVS_SVC_ATTR_PROTOCOL, uint16_t(proto_num(s.protocol)));
        put_addr(m, IPVS_SVC_ATTR_ADDR, s.addr);
        nla_put_u16(m, IPVS_SVC_ATTR_PORT, htons(s.port));
    }
    if (full) {
        nla_put_string(m, IPVS_SVC_ATTR_SCHED_NAME, s.scheduler.c_str());
        if (!s.pe.empty()) nla_put_string(m, IPVS_SVC_ATTR_PE_NAME, s.pe.c_str());
        ip_vs_flags f{};
        f.flags = (s.persistent ? IP_VS_SVC_F_PERSISTENT : 0) | (s.onepacket ? IP_VS_SVC_F_ONEPACKET : 0) |
                  (s.sh_fallback ? IP_VS_SVC_F_SCHED1 : 0) | (s.sh_port ? IP_VS_SVC_F_SCHED2 : 0);
        f.mask = kFlagMask;
        nla_put(m, IPVS_SVC_ATTR_FLAGS, sizeof f, &f);
        nla_put_u32(m, IPVS_SVC_ATTR_TIMEOUT, s.persistent ? s.timeout : 0);
        int plen = s.netmask < 0 ? max_plen(s.af) : s.netmask;
        uint32_t nm = s.af == AF_INET6 ? uint32_t(plen) : htonl(prefix_to_netmask(plen));
        nla_put_u32(m, IPVS_SVC_ATTR_NETMASK, nm);
    }
    nla_nest_end(m, n);
}

void put_dest(nl_msg* m, const IpvsDest& d, bool full) {
    nlattr* n = nla_nest_start(m, IPVS_CMD_ATTR_DEST);
    put_addr(m, IPVS_DEST_ATTR_ADDR, d.addr);
    nla_put_u16(m, IPVS_DEST_ATTR_PORT, htons(d.port));
    nla_put_u16(m, IPVS_DEST_ATTR_ADDR_FAMILY, uint16_t(d.addr.family));
    if (full) {
        nla_put_u32(m, IPVS_DEST_ATTR_FWD_METHOD, uint32_t(d.fwd));
        nla_put_u32(m, IPVS_DEST_ATTR_WEIGHT, d.weight);
        nla_put_u32(m, IPVS_DEST_ATTR_U_THRESH, d.u_thresh);
        nla_put_u32(m, IPVS_DEST_ATTR_L_THRESH, d.l_thresh);
        if (d.fwd == IpvsFwd::Tunnel) {
            int t = tun_num(d.tun_type.empty() ? "ipip" : d.tun_type);
            nla_put_u8(m, IPVS_DEST_ATTR_TUN_TYPE, uint8_t(t));
            if (t == IP_VS_CONN_F_TUNNEL_TYPE_GUE) nla_put_u16(m, IPVS_DEST_ATTR_TUN_PORT, htons(d.tun_port));
            if (t != IP_VS_CONN_F_TUNNEL_TYPE_IPIP)
                nla_put_u16(m, IPVS_DEST_ATTR_TUN_FLAGS, IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM);
        }
    }
    nla_nest_end(m, n);
}

NlMsg svc_msg(int fam, uint8_t cmd, const IpvsService& s, bool full) {
    NlMsg m = genl_msg(fam, cmd, 0);
    put_service(m.get(), s, full);
    return m;
}

NlMsg dest_msg(int fam, uint8_t cmd, const IpvsService& s, const IpvsDest& d, bool full) {
    NlMsg m = genl_msg(fam, cmd, 0);
    put_service(m.get(), s, false);
    put_dest(m.get(), d, full);
    return m;
}

NlMsg timeouts_msg(int fam, const IpvsTimeouts& t) {
    NlMsg m = genl_msg(fam, IPVS_CMD_SET_CONFIG, 0);
    if (t.tcp) nla_put_u32(m.get(), IPVS_CMD_ATTR_TIMEOUT_TCP, t.tcp);
    if (t.tcp_fin) nla_put_u32(m.get(), IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t.tcp_fin);
    if (t.udp) nla_put_u32(m.get(), IPVS_CMD_ATTR_TIMEOUT_UDP, t.udp);
    return m;
}

NlMsg family_msg() {
    // One CTRL_CMD_GETFAMILY request on our own socket: libnl's genl_ctrl_resolve() builds a
    // family cache for it, which costs more than the rest of a small command under emulation.
    void* hdr = nullptr;
    NlMsg m = nl_new(GENL_ID_CTRL, 0, GENL_HDRLEN, &hdr, 256);
    auto* g = static_cast<genlmsghdr*>(hdr);
    g->cmd = CTRL_CMD_GETFAMILY;
    g->version = 1;
    nla_put_string(m.get(), CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME);
    return m;
}

// ---- parsing ----

namespace {
Policy<IPVS_CMD_ATTR_MAX + 1>& cmd_pol() {
    static auto p = cmd_policy();
    return p;
}
}  // namespace

std::optional<IpvsService> parse_service_msg(const nlmsghdr* h) {
    nlattr* tb[IPVS_CMD_ATTR_MAX + 1] = {};
    parse_top(h, tb, cmd_pol(), "service");
    if (!tb[IPVS_CMD_ATTR_SERVICE]) return std::nullopt;
    return parse_service(tb[IPVS_CMD_ATTR_SERVICE]);
}

std::optional<IpvsDest> parse_dest_msg(const nlmsghdr* h, int svc_af) {
    nlattr* tb[IPVS_CMD_ATTR_MAX + 1] = {};
    parse_top(h, tb, cmd_pol(), "destination");
    if (!tb[IPVS_CMD_ATTR_DEST]) return std::nullopt;
    return parse_dest(tb[IPVS_CMD_ATTR_DEST], svc_af);
}

void parse_timeouts_msg(const nlmsghdr* h, IpvsTimeouts& t) {
    nlattr* tb[IPVS_CMD_ATTR_MAX + 1] = {};
    parse_top(h, tb, cmd_pol(), "timeouts");
    if (tb[IPVS_CMD_ATTR_TIMEOUT_TCP]) t.tcp = nla_get_u32(tb[IPVS_CMD_ATTR_TIMEOUT_TCP]);
    if (tb[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN]) t.tcp_fin = nla_get_u32(tb[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN]);
    if (tb[IPVS_CMD_ATTR_TIMEOUT_UDP]) t.udp = nla_get_u32(tb[IPVS_CMD_ATTR_TIMEOUT_UDP]);
}

void parse_info_msg(const nlmsghdr* h, uint32_t& version, uint32_t& size) {
    static auto p = info_policy();
    nlattr* tb[IPVS_INFO_ATTR_MAX + 1] = {};
    parse_top(h, tb, p, "info");
    if (tb[IPVS_INFO_ATTR_VERSION]) version = nla_get_u32(tb[IPVS_INFO_ATTR_VERSION]);
    if (tb[IPVS_INFO_ATTR_CONN_TAB_SIZE]) size = nla_get_u32(tb[IPVS_INFO_ATTR_CONN_TAB_SIZE]);
}

int parse_family_msg(const nlmsghdr* h) {
    static auto p = ctrl_policy();
    nlattr* tb[CTRL_ATTR_MAX + 1] = {};
    parse_top(h, tb, p, "generic netlink family");
    return tb[CTRL_ATTR_FAMILY_ID] ? nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]) : 0;
}

}  // namespace ovnet::ipvs_detail
