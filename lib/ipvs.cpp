// IPVS services and destinations over the "IPVS" generic netlink family (libnl-genl).
#include "ovnet/ipvs.hpp"

#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <memory>
#include <sstream>
#include <thread>

#include "ovnet/error.hpp"

namespace ovnet {

namespace {

constexpr uint32_t kFlagMask = IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_ONEPACKET | IP_VS_SVC_F_SCHED1 |
                               IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3;
constexpr uint32_t kDefaultPersist = 360;   // ipvsadm's -p without a value

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

// Labels are made for every change of a large apply: no format machinery.
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

int max_plen(int af) { return af == AF_INET6 ? 128 : 32; }

bool sched_has_flags(const std::string& s) { return s == "sh" || s == "mh"; }

const char* tun_names[] = {"ipip", "gue", "gre"};
int tun_num(const std::string& t) {
    for (int i = 0; i < 3; i++)
        if (t == tun_names[i]) return i;
    return -1;
}

// Configuration equality (what a write would change), ignoring stats and counters.
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


// ---- message encoding ----

void set_genl_hdr(void* hdr, uint8_t cmd) {
    auto* g = static_cast<genlmsghdr*>(hdr);
    g->cmd = cmd;
    g->version = IPVS_GENL_VERSION;
}

NlMsg genl_msg(int family, uint8_t cmd, int flags, size_t size = 512) {
    void* hdr = nullptr;
    NlMsg m = nl_new(family, flags, GENL_HDRLEN, &hdr, size);
    set_genl_hdr(hdr, cmd);
    return m;
}

void put_addr(nl_msg* m, int attr, const IpAddr& a) {
    uint8_t buf[16] = {};
    std::memcpy(buf, a.b.data(), a.size());
    nla_put(m, attr, 16, buf);
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
        uint32_t nm = s.af == AF_INET6 ? uint32_t(plen) : htonl(plen ? ~uint32_t(0) << (32 - plen) : 0);
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

// ---- decoding ----

nlattr* gattrs(const nlmsghdr* h, nlattr** tb, int max) {
    auto* g = static_cast<genlmsghdr*>(nlmsg_data(h));
    nla_parse(tb, max, genlmsg_attrdata(g, 0), genlmsg_attrlen(g, 0), nullptr);
    return nullptr;
}

void parse_stats(nlattr* a, bool is64, IpvsStats& s) {
    nlattr* tb[IPVS_STATS_ATTR_MAX + 1] = {};
    if (nla_parse_nested(tb, IPVS_STATS_ATTR_MAX, a, nullptr) < 0) return;
    auto get = [&](int i) -> uint64_t {
        if (!tb[i]) return 0;
        if (is64 || nla_len(tb[i]) == 8) return nla_get_u64(tb[i]);
        return nla_get_u32(tb[i]);
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
    nlattr* tb[IPVS_SVC_ATTR_MAX + 1] = {};
    nla_parse_nested(tb, IPVS_SVC_ATTR_MAX, a, nullptr);
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
        std::memcpy(&f, nla_data(tb[IPVS_SVC_ATTR_FLAGS]), std::min<size_t>(sizeof f, nla_len(tb[IPVS_SVC_ATTR_FLAGS])));
        s.persistent = f.flags & IP_VS_SVC_F_PERSISTENT;
        s.onepacket = f.flags & IP_VS_SVC_F_ONEPACKET;
        s.sh_fallback = f.flags & IP_VS_SVC_F_SCHED1;
        s.sh_port = f.flags & IP_VS_SVC_F_SCHED2;
    }
    if (tb[IPVS_SVC_ATTR_TIMEOUT]) s.timeout = nla_get_u32(tb[IPVS_SVC_ATTR_TIMEOUT]);
    if (tb[IPVS_SVC_ATTR_NETMASK]) {
        uint32_t nm = nla_get_u32(tb[IPVS_SVC_ATTR_NETMASK]);
        int plen = s.af == AF_INET6 ? int(nm) : __builtin_popcount(ntohl(nm));
        s.netmask = plen == max_plen(s.af) ? -1 : plen;
    }
    if (!s.persistent) { s.timeout = 0; s.netmask = -1; }
    if (tb[IPVS_SVC_ATTR_STATS64]) parse_stats(tb[IPVS_SVC_ATTR_STATS64], true, s.stats);
    else if (tb[IPVS_SVC_ATTR_STATS]) parse_stats(tb[IPVS_SVC_ATTR_STATS], false, s.stats);
    return s;
}

IpvsDest parse_dest(nlattr* a, int svc_af) {
    nlattr* tb[IPVS_DEST_ATTR_MAX + 1] = {};
    nla_parse_nested(tb, IPVS_DEST_ATTR_MAX, a, nullptr);
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
        d.tun_type = t >= 0 && t < 3 ? tun_names[t] : std::to_string(t);
        if (tb[IPVS_DEST_ATTR_TUN_PORT]) d.tun_port = ntohs(nla_get_u16(tb[IPVS_DEST_ATTR_TUN_PORT]));
        if (d.tun_type != "gue") d.tun_port = 0;
    }
    if (tb[IPVS_DEST_ATTR_STATS64]) parse_stats(tb[IPVS_DEST_ATTR_STATS64], true, d.stats);
    else if (tb[IPVS_DEST_ATTR_STATS]) parse_stats(tb[IPVS_DEST_ATTR_STATS], false, d.stats);
    return d;
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
bool dest_less(const IpvsDest& a, const IpvsDest& b) { return dest_cmp(a, b) < 0; }

std::vector<IpvsDest> list_dests(IpvsHandle& h, const IpvsService& s) {
    std::vector<IpvsDest> out;
    NlMsg m = genl_msg(h.family(), IPVS_CMD_GET_DEST, 0);
    put_service(m.get(), s, false);
    h.nl().dump(
        m,
        [&](const nlmsghdr* r) {
            nlattr* tb[IPVS_CMD_ATTR_MAX + 1] = {};
            gattrs(r, tb, IPVS_CMD_ATTR_MAX);
            if (tb[IPVS_CMD_ATTR_DEST]) out.push_back(parse_dest(tb[IPVS_CMD_ATTR_DEST], s.af));
        },
        [&] { out.clear(); });
    std::sort(out.begin(), out.end(), dest_less);
    return out;
}

// The current state of one service (nullopt when it does not exist), with its destinations.
std::optional<IpvsService> get_service(IpvsHandle& h, const IpvsService& key) {
    std::optional<IpvsService> out;
    NlMsg m = genl_msg(h.family(), IPVS_CMD_GET_SERVICE, 0);
    put_service(m.get(), key, false);
    std::string ext;
    int err = h.nl().get(std::move(m), [&](const nlmsghdr* r) {
        nlattr* tb[IPVS_CMD_ATTR_MAX + 1] = {};
        gattrs(r, tb, IPVS_CMD_ATTR_MAX);
        if (tb[IPVS_CMD_ATTR_SERVICE]) out = parse_service(tb[IPVS_CMD_ATTR_SERVICE]);
    }, &ext);
    if (err == ESRCH || err == ENOENT) return std::nullopt;
    if (err) throw_sys(err, "get IPVS service", ext, "service " + key.key());
    if (out) out->dests = list_dests(h, *out);
    return out;
}

// ---- planning and executing writes ----
//
// A plan is a list of small records pointing into the desired and current sets; messages are
// written into one reused libnl message when their chunk is sent, and object names are only
// made for the report (or an error).

struct Op {
    uint8_t cmd;
    IpvsChange::Action action;
    const IpvsService* svc;   // desired (add/edit, destinations) or current (removal)
    const IpvsDest* dest;     // nullptr for service requests
    const void* prev = nullptr;   // edits: the current service or destination (to undo them)
};

struct Plan {
    std::vector<Op> ops;
    std::vector<std::string> unchanged;   // keys of services left as they are
    IpvsApplyStats st;
};

bool dest_key_less(const IpvsDest* a, const IpvsDest* b) { return dest_less(*a, *b); }

void plan_service(const IpvsService& want, const IpvsService* cur, bool remove_dests, Plan& p) {
    if (!cur) {
        p.ops.push_back({IPVS_CMD_NEW_SERVICE, IpvsChange::Added, &want, nullptr});
        p.st.added++;
        // A new service has no destinations yet: no lookup needed.
        for (auto& d : want.dests) p.ops.push_back({IPVS_CMD_NEW_DEST, IpvsChange::Added, &want, &d});
        p.st.added += want.dests.size();
        return;
    }
    if (!same_config(want, *cur)) {
        p.ops.push_back({IPVS_CMD_SET_SERVICE, IpvsChange::Edited, &want, nullptr, cur});
        p.st.edited++;
    } else {
        p.st.unchanged++;
        p.unchanged.push_back(want.key());
    }
    // Both sides sorted by address and port, then merged.
    std::vector<const IpvsDest*> w, c;
    w.reserve(want.dests.size());
    c.reserve(cur->dests.size());
    for (auto& d : want.dests) w.push_back(&d);
    for (auto& d : cur->dests) c.push_back(&d);
    std::sort(w.begin(), w.end(), dest_key_less);
    std::sort(c.begin(), c.end(), dest_key_less);
    size_t i = 0, j = 0;
    while (i < w.size() || j < c.size()) {
        if (j == c.size() || (i < w.size() && dest_less(*w[i], *c[j]))) {
            p.ops.push_back({IPVS_CMD_NEW_DEST, IpvsChange::Added, &want, w[i++]});
            p.st.added++;
        } else if (i == w.size() || dest_less(*c[j], *w[i])) {
            if (remove_dests) {
                p.ops.push_back({IPVS_CMD_DEL_DEST, IpvsChange::Removed, &want, c[j]});
                p.st.removed++;
            }
            j++;
        } else {
            if (!same_config(*w[i], *c[j])) {
                p.ops.push_back({IPVS_CMD_SET_DEST, IpvsChange::Edited, &want, w[i], c[j]});
                p.st.edited++;
            } else {
                p.st.unchanged++;
            }
            i++, j++;
        }
    }
}

IpvsChange change_of(const Op& o) {
    return {o.action, o.svc->key(), o.dest ? o.dest->label() : std::string()};
}

std::vector<BatchError> send_ops(IpvsHandle& h, const std::vector<Op>& ops) {
    int fam = h.family();
    // Destination requests of one service repeat its key attributes: encode them once per
    // service and append the bytes.
    NlMsg scratch(nlmsg_alloc_size(512));
    if (!scratch) throw_sys(ENOMEM, "allocate netlink message");
    const IpvsService* keyed = nullptr;
    std::vector<char> key_attrs;
    return h.nl().batch_fill(ops.size(), [&](size_t i, nl_msg* m) {
        const Op& o = ops[i];
        bool full = o.cmd != IPVS_CMD_DEL_SERVICE && o.cmd != IPVS_CMD_DEL_DEST;
        set_genl_hdr(nl_reuse(m, fam, 0, GENL_HDRLEN), o.cmd);
        if (!o.dest) return put_service(m, *o.svc, full);
        if (o.svc != keyed) {
            nl_reuse(scratch.get(), fam, 0, GENL_HDRLEN);
            put_service(scratch.get(), *o.svc, false);
            nlmsghdr* sh = nlmsg_hdr(scratch.get());
            auto* b = static_cast<char*>(nlmsg_data(sh)) + GENL_HDRLEN;
            key_attrs.assign(b, static_cast<char*>(nlmsg_tail(sh)));
            keyed = o.svc;
        }
        if (nlmsg_append(m, key_attrs.data(), key_attrs.size(), NLMSG_ALIGNTO) < 0) throw_sys(ENOMEM, "build netlink message");
        put_dest(m, *o.dest, full);
    });
}

// The requests that undo the ones that succeeded, newest first.
std::vector<Op> undo_ops(const std::vector<Op>& ops, const std::vector<BatchError>& errs) {
    std::vector<bool> failed(ops.size(), false);
    for (auto& e : errs) failed[e.index] = true;
    std::unordered_set<const IpvsService*> added;   // removing a new service removes its destinations
    for (size_t i = 0; i < ops.size(); i++)
        if (!failed[i] && ops[i].cmd == IPVS_CMD_NEW_SERVICE) added.insert(ops[i].svc);
    std::vector<Op> undo;
    for (size_t i = ops.size(); i-- > 0;) {
        if (failed[i]) continue;
        const Op& o = ops[i];
        switch (o.cmd) {
        case IPVS_CMD_NEW_SERVICE: undo.push_back({IPVS_CMD_DEL_SERVICE, IpvsChange::Removed, o.svc, nullptr}); break;
        case IPVS_CMD_NEW_DEST:
            if (!added.count(o.svc)) undo.push_back({IPVS_CMD_DEL_DEST, IpvsChange::Removed, o.svc, o.dest});
            break;
        case IPVS_CMD_SET_SERVICE:
            undo.push_back({IPVS_CMD_SET_SERVICE, IpvsChange::Edited, static_cast<const IpvsService*>(o.prev), nullptr});
            break;
        case IPVS_CMD_SET_DEST:
            undo.push_back({IPVS_CMD_SET_DEST, IpvsChange::Edited, o.svc, static_cast<const IpvsDest*>(o.prev)});
            break;
        case IPVS_CMD_DEL_DEST: undo.push_back({IPVS_CMD_NEW_DEST, IpvsChange::Added, o.svc, o.dest}); break;
        case IPVS_CMD_DEL_SERVICE:
            // o.svc is the current service with its destinations: put both back.
            undo.push_back({IPVS_CMD_NEW_SERVICE, IpvsChange::Added, o.svc, nullptr});
            for (auto& d : o.svc->dests) undo.push_back({IPVS_CMD_NEW_DEST, IpvsChange::Added, o.svc, &d});
            break;
        }
    }
    return undo;
}

std::vector<IpvsChange> execute(IpvsHandle& h, Plan& p) {
    std::vector<IpvsChange> ch;
    if (p.ops.empty()) return ch;
    auto errs = send_ops(h, p.ops);
    p.st.writes = p.ops.size();
    if (!errs.empty()) {
        // Leave the kernel as it was: undo what went through, then report the first failure.
        auto undo = undo_ops(p.ops, errs);
        std::string rolled;
        if (!undo.empty()) {
            auto uerrs = send_ops(h, undo);
            rolled = uerrs.empty() ? fmt::format("; the {} request{} that had gone through {} undone", undo.size(),
                                                 undo.size() == 1 ? "" : "s", undo.size() == 1 ? "was" : "were")
                                   : fmt::format("; undoing what had gone through failed for {} of {} requests "
                                                 "(first: {} {}: {})", uerrs.size(), undo.size(),
                                                 change_of(undo[uerrs[0].index]).action_name(),
                                                 change_of(undo[uerrs[0].index]).object(), std::strerror(uerrs[0].err));
        }
        auto& e = errs.front();
        const Op& o = p.ops[e.index];
        IpvsChange c = change_of(o);
        static const char* verbs[] = {"add", "edit", "remove"};
        std::string more = errs.size() > 1 ? fmt::format(" ({} of {} requests failed)", errs.size(), p.ops.size()) : "";
        std::string why = e.extack.empty() ? "" : " (kernel: " + e.extack + ")";
        // The kernel takes an IPv4 destination only if a route lookup calls it unicast, and in a
        // namespace without any IPv4 address (loopback down, as `ip netns add` leaves it) the
        // lookup has no table: every destination is refused with a bare EINVAL.
        if (e.err == EINVAL && e.extack.empty() && o.dest && o.cmd == IPVS_CMD_NEW_DEST && o.dest->addr.family == AF_INET)
            why = " (the kernel refuses IPv4 destinations in a namespace that has no IPv4 address yet: is its "
                  "loopback up? ovnet-sbox add brings it up)";
        throw Error(ErrorKind::Runtime,
                    fmt::format("{}: {}{}: {}{}{}", c.object(), verbs[c.action], more, std::strerror(e.err), why, rolled),
                    e.err, e.extack, c.object());
    }
    ch.reserve(p.ops.size());
    // Consecutive operations mostly share a service: make its key once per run.
    const IpvsService* last = nullptr;
    std::string key;
    for (auto& o : p.ops) {
        if (o.svc != last) key = o.svc->key(), last = o.svc;
        ch.push_back({o.action, key, o.dest ? o.dest->label() : std::string()});
    }
    return ch;
}

Changes to_changes(const std::vector<IpvsChange>& ch, const Plan& p, bool summarize_unchanged) {
    Changes out;
    out.reserve(ch.size());
    for (auto& c : ch) {
        static const Action acts[] = {Action::Added, Action::Changed, Action::Removed};
        out.push_back(Change{acts[c.action], c.object(), c.action == IpvsChange::Edited ? "edited" : nullptr});
    }
    if (!out.empty()) return out;
    if (summarize_unchanged && p.unchanged.size() > 1)
        return {Change{Action::Unchanged, fmt::format("{} services", p.unchanged.size())}};
    for (auto& k : p.unchanged) out.push_back(Change{Action::Unchanged, "service " + k});
    if (out.empty()) out.push_back(Change{Action::Unchanged, "ipvs"});
    return out;
}

void check_unique(const std::vector<IpvsService>& set) {
    std::map<std::string, size_t> seen;
    for (size_t i = 0; i < set.size(); i++) {
        set[i].validate();
        auto [it, ok] = seen.emplace(set[i].key(), i);
        if (!ok)
            throw_input(fmt::format("service #{}", i + 1), "key", set[i].key(),
                        fmt::format("appears twice in the set (services #{} and #{})", it->second + 1, i + 1));
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// objects

const std::vector<std::string>& ipvs_schedulers() {
    static const std::vector<std::string> s = {"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh",
                                               "sh", "sed", "nq", "fo", "ovf", "mh"};
    return s;
}

const char* ipvs_fwd_name(IpvsFwd f) {
    switch (f) {
    case IpvsFwd::Masq: return "masq";
    case IpvsFwd::Local: return "local";
    case IpvsFwd::Tunnel: return "tunnel";
    case IpvsFwd::Route: return "dr";
    }
    return "?";
}

json IpvsStats::to_json() const {
    return {{"conns", conns}, {"inpkts", inpkts}, {"outpkts", outpkts}, {"inbytes", inbytes}, {"outbytes", outbytes},
            {"cps", cps}, {"inpps", inpps}, {"outpps", outpps}, {"inbps", inbps}, {"outbps", outbps}};
}

json IpvsTimeouts::to_json() const { return {{"tcp", tcp}, {"tcp_fin", tcp_fin}, {"udp", udp}}; }

std::string IpvsDest::label() const { return addr_port(addr, port); }

const char* IpvsChange::action_name() const {
    static const char* names[] = {"added", "edited", "removed"};
    return names[action];
}

std::string IpvsChange::object() const {
    return dest.empty() ? "service " + service : "dest " + dest + " of " + service;
}

json IpvsDest::to_json() const {
    json j = {{"address", addr.str()}, {"port", port}, {"forward", ipvs_fwd_name(fwd)}, {"weight", weight},
              {"u_threshold", u_thresh}, {"l_threshold", l_thresh}};
    if (fwd == IpvsFwd::Tunnel) {
        j["tun_type"] = tun_type.empty() ? "ipip" : tun_type;
        if (tun_type == "gue") j["tun_port"] = tun_port;
    }
    j["active"] = active;
    j["inactive"] = inactive;
    j["persistent_conns"] = persistent;
    j["stats"] = stats.to_json();
    return j;
}

std::string IpvsService::key() const {
    if (fwmark || protocol == "fwm") return fmt::format("{} {}", af == AF_INET6 ? "fwm6" : "fwm", fwmark);
    return protocol + " " + addr_port(addr, port);
}

json IpvsService::to_json() const {
    json j = json::object();
    j["key"] = key();
    j["family"] = af == AF_INET6 ? "ipv6" : "ipv4";
    if (fwmark || protocol == "fwm") {
        j["protocol"] = "fwm";
        j["fwmark"] = fwmark;
    } else {
        j["protocol"] = protocol;
        j["address"] = addr.valid() ? json(addr.str()) : json();
        j["port"] = port;
    }
    j["scheduler"] = scheduler;
    j["persistent"] = persistent;
    if (persistent) {
        j["timeout"] = timeout;
        j["netmask"] = netmask < 0 ? max_plen(af) : netmask;
    }
    j["onepacket"] = onepacket;
    if (sh_fallback) j["sh_fallback"] = true;
    if (sh_port) j["sh_port"] = true;
    if (!pe.empty()) j["pe"] = pe;
    j["dests"] = json::array();
    for (auto& d : dests) j["dests"].push_back(d.to_json());
    j["stats"] = stats.to_json();
    return j;
}

namespace {

// ---- reading services: one set of rules for DOM objects and the SAX reader ----

enum DestKey { kDAddr, kDPort, kDFwd, kDWeight, kDUth, kDLth, kDTunType, kDTunPort, kDestKeys };
constexpr const char* kDestKeyNames[kDestKeys] = {"address", "port", "forward", "weight",
                                                  "u_threshold", "l_threshold", "tun_type", "tun_port"};
// Read-only fields of show output, accepted and ignored.
constexpr const char* kDestReadOnly[] = {"active", "inactive", "persistent_conns", "stats"};

// >= 0: a DestKey; -2: read-only; -1: unknown.
int dest_key_index(std::string_view k) {
    // The two keys every destination has first; then the rest.
    if (k == std::string_view("address")) return kDAddr;
    if (k == std::string_view("port")) return kDPort;
    for (int i = 0; i < kDestKeys; i++)
        if (k == kDestKeyNames[i]) return i;
    for (const char* x : kDestReadOnly)
        if (k == x) return -2;
    return -1;
}

// A destination's fields (null when absent), pointing into a DOM or into a SAX record.
using DestFields = std::array<const json*, kDestKeys>;

// The name of dests[i], made only when an error needs it.
struct DestName {
    const std::string& svc;
    size_t i;
    operator std::string() const { return fmt::format("{}: dests[{}]", svc, i); }
};

const json* present(const json* v) { return v && !v->is_null() ? v : nullptr; }

const std::string* f_string(const json* v, const char* key, const DestName& n) {
    if (!present(v)) return nullptr;
    if (!v->is_string()) throw_input(n, key, shown_value(*v), fmt::format("must be a string, not {}", v->type_name()));
    return &v->get_ref<const std::string&>();
}

std::optional<uint64_t> f_uint(const json* v, const char* key, uint64_t min, uint64_t max, const DestName& n) {
    if (!present(v)) return std::nullopt;
    if (!v->is_number_integer() || (!v->is_number_unsigned() && v->get<int64_t>() < 0)) {
        if (v->is_number_integer()) throw_input(n, key, shown_value(*v), fmt::format("must be in {}..{}", min, max));
        throw_input(n, key, shown_value(*v), fmt::format("must be an integer, not {}", v->type_name()));
    }
    uint64_t x = v->get<uint64_t>();
    if (x < min || x > max) throw_input(n, key, shown_value(*v), fmt::format("must be in {}..{}", min, max));
    return x;
}

IpvsDest dest_from(const DestFields& f, const std::string& obj, size_t i, uint16_t svc_port) {
    DestName n{obj, i};
    IpvsDest d;
    auto a = f_string(f[kDAddr], "address", n);
    if (!a || a->empty()) throw_input(n, "address", "", "required");
    if (!IpAddr::try_parse(*a, d.addr)) throw_input(n, "address", *a, "not an IPv4 or IPv6 address");
    auto p = f_uint(f[kDPort], "port", 0, 65535, n);
    d.port = p ? uint16_t(*p) : svc_port;
    if (auto fw = f_string(f[kDFwd], "forward", n)) {
        const std::string& x = *fw;
        if (x == "masq" || x == "nat" || x == "m") d.fwd = IpvsFwd::Masq;
        else if (x == "dr" || x == "route" || x == "droute" || x == "g") d.fwd = IpvsFwd::Route;
        else if (x == "tunnel" || x == "tun" || x == "ipip" || x == "i") d.fwd = IpvsFwd::Tunnel;
        else if (x == "local") d.fwd = IpvsFwd::Local;
        else throw_input(n, "forward", x, "must be masq, dr or tunnel");
    }
    if (auto w = f_uint(f[kDWeight], "weight", 0, 65535, n)) d.weight = uint32_t(*w);
    if (auto v = f_uint(f[kDUth], "u_threshold", 0, 0xffffffffULL, n)) d.u_thresh = uint32_t(*v);
    if (auto v = f_uint(f[kDLth], "l_threshold", 0, 0xffffffffULL, n)) d.l_thresh = uint32_t(*v);
    if (auto v = f_string(f[kDTunType], "tun_type", n)) d.tun_type = *v;
    if (auto v = f_uint(f[kDTunPort], "tun_port", 0, 65535, n)) d.tun_port = uint16_t(*v);
    if (d.fwd == IpvsFwd::Tunnel && d.tun_type.empty()) d.tun_type = "ipip";
    return d;
}

DestFields dest_fields(const json& dj, const std::string& obj, size_t i) {
    if (!dj.is_object()) require_object(dj, DestName{obj, i});
    DestFields f{};
    for (auto it = dj.begin(); it != dj.end(); ++it) {
        int k = dest_key_index(it.key());
        if (k == -1) throw_input(DestName{obj, i}, it.key(), shown_value(it.value()), "unknown field");
        if (k >= 0) f[size_t(k)] = &it.value();
    }
    return f;
}

// The service's own fields come from `j`; its destinations from j["dests"] or, for the SAX
// reader, from `sax_dests` (then j has no "dests").
IpvsService service_from(const json& j, const std::vector<DestFields>* sax_dests) {
    std::string obj = "service";
    require_object(j, obj);
    IpvsService s;
    // Name the service as early as possible so every error carries its key.
    if (j.contains("fwmark") && j["fwmark"].is_number_unsigned()) obj = "service fwm " + j["fwmark"].dump();
    else if (j.contains("address") && j["address"].is_string())
        obj = fmt::format("service {} {}:{}", j.value("protocol", std::string("tcp")),
                          j["address"].get<std::string>(), j.contains("port") ? j["port"].dump() : "?");
    check_keys(j, {"netns", "key", "family", "protocol", "address", "port", "fwmark", "scheduler", "persistent",
                   "timeout", "netmask", "onepacket", "sh_fallback", "sh_port", "pe", "dests", "stats"}, obj);
    std::string fam = opt_string(j, "family", obj).value_or("");
    if (!fam.empty() && fam != "ipv4" && fam != "ipv6" && fam != "inet" && fam != "inet6")
        throw_input(obj, "family", fam, "must be ipv4 or ipv6");
    bool fam6 = fam == "ipv6" || fam == "inet6";
    std::string proto = opt_string(j, "protocol", obj).value_or("");
    bool has_fwm = j.contains("fwmark") && !j["fwmark"].is_null();
    if (has_fwm || proto == "fwm") {
        if (!proto.empty() && proto != "fwm")
            throw_input(obj, "protocol", proto, "a firewall-mark service has no protocol (use \"fwm\" or leave it out)");
        if (!has_fwm) throw_input(obj, "fwmark", "", "required for protocol fwm");
        if (j.contains("address") && !j["address"].is_null())
            throw_input(obj, "address", j["address"].dump(), "a firewall-mark service has no address");
        if (j.contains("port") && !j["port"].is_null() && j["port"] != 0)
            throw_input(obj, "port", j["port"].dump(), "a firewall-mark service has no port");
        auto fm = opt_uint(j, "fwmark", 0, 0xffffffffULL, obj);
        s.protocol = "fwm";
        s.fwmark = uint32_t(*fm);
        s.af = fam6 ? AF_INET6 : AF_INET;
        if (s.fwmark == 0) throw_input(obj, "fwmark", "0", "must be in 1..4294967295");
    } else {
        if (proto.empty()) proto = "tcp";
        if (!proto_num(proto)) throw_input(obj, "protocol", proto, "must be tcp, udp, sctp or fwm");
        s.protocol = proto;
        auto a = opt_string(j, "address", obj);
        if (!a || a->empty()) throw_input(obj, "address", "", "required (or give a fwmark)");
        if (!IpAddr::try_parse(*a, s.addr)) throw_input(obj, "address", *a, "not an IPv4 or IPv6 address");
        s.af = s.addr.family;
        if (!fam.empty() && fam6 != (s.af == AF_INET6))
            throw_input(obj, "family", fam, "does not match the address " + *a);
        auto p = opt_uint(j, "port", 0, 65535, obj);
        if (!p) throw_input(obj, "port", "", "required for a " + proto + " service");
        s.port = uint16_t(*p);
    }
    obj = "service " + s.key();
    if (auto v = opt_string(j, "scheduler", obj)) s.scheduler = *v;
    auto pers = opt_bool(j, "persistent", obj);
    auto to = opt_uint(j, "timeout", 0, 0xffffffffULL, obj);
    s.persistent = pers.value_or(to && *to > 0);
    if (s.persistent) s.timeout = to && *to ? uint32_t(*to) : kDefaultPersist;
    else if (to && *to) throw_input(obj, "timeout", std::to_string(*to), "set only for a persistent service");
    if (j.contains("netmask") && !j["netmask"].is_null()) {
        auto& nm = j["netmask"];
        if (nm.is_string()) {
            IpAddr m;
            if (s.af != AF_INET || !IpAddr::try_parse(nm.get<std::string>(), m) || m.family != AF_INET)
                throw_input(obj, "netmask", nm.get<std::string>(), "must be a prefix length or an IPv4 netmask");
            uint32_t v = ntohl(*reinterpret_cast<const uint32_t*>(m.b.data()));
            int plen = __builtin_popcount(v);
            if (plen && v != (~uint32_t(0) << (32 - plen))) throw_input(obj, "netmask", nm.get<std::string>(), "not a contiguous netmask");
            s.netmask = plen;
        } else {
            s.netmask = int(*opt_uint(j, "netmask", 0, 128, obj));
        }
        if (s.netmask == max_plen(s.af)) s.netmask = -1;
    }
    if (auto v = opt_bool(j, "onepacket", obj)) s.onepacket = *v;
    if (auto v = opt_bool(j, "sh_fallback", obj)) s.sh_fallback = *v;
    if (auto v = opt_bool(j, "sh_port", obj)) s.sh_port = *v;
    if (auto v = opt_string(j, "pe", obj)) s.pe = *v;
    if (sax_dests) {
        s.dests.reserve(sax_dests->size());
        for (size_t i = 0; i < sax_dests->size(); i++) s.dests.push_back(dest_from((*sax_dests)[i], obj, i, s.port));
    } else if (j.contains("dests") && !j["dests"].is_null()) {
        auto& ds = j["dests"];
        if (!ds.is_array()) throw_input(obj, "dests", ds.dump().substr(0, 40), "must be an array");
        s.dests.reserve(ds.size());
        size_t i = 0;
        for (auto& dj : ds) {
            s.dests.push_back(dest_from(dest_fields(dj, obj, i), obj, i, s.port));
            i++;
        }
    }
    s.validate();
    return s;
}

}  // namespace

namespace {

// Compact JSON pieces for write_json(): the same text nlohmann's dump() gives for to_json().
struct JsonOut {
    std::string& o;
    bool first = true;
    void sep() {
        if (!first) o += ',';
        first = false;
    }
    void key(const char* k) {
        sep();
        o += '"';
        o += k;
        o += "\":";
    }
    void num(const char* k, uint64_t v) {
        key(k);
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, v);
        o.append(buf, r.ptr);
    }
    void boolean(const char* k, bool v) {
        key(k);
        o += v ? "true" : "false";
    }
    void str(const char* k, std::string_view v) {
        key(k);
        json_append(o, v);
    }
    void ip(const char* k, const IpAddr& a) {
        key(k);
        json_append(o, a);
    }
};

void write_stats(std::string& out, const IpvsStats& s) {
    JsonOut j{out};
    out += '{';
    j.num("conns", s.conns), j.num("inpkts", s.inpkts), j.num("outpkts", s.outpkts);
    j.num("inbytes", s.inbytes), j.num("outbytes", s.outbytes), j.num("cps", s.cps), j.num("inpps", s.inpps);
    j.num("outpps", s.outpps), j.num("inbps", s.inbps), j.num("outbps", s.outbps);
    out += '}';
}

}  // namespace

void IpvsService::write_json(std::string& out, const std::string& netns) const {
    JsonOut j{out};
    out += '{';
    if (!netns.empty()) j.str("netns", netns);
    j.str("key", key());
    j.str("family", af == AF_INET6 ? "ipv6" : "ipv4");
    if (fwmark || protocol == "fwm") {
        j.str("protocol", "fwm");
        j.num("fwmark", fwmark);
    } else {
        j.str("protocol", protocol);
        j.ip("address", addr);
        j.num("port", port);
    }
    j.str("scheduler", scheduler);
    j.boolean("persistent", persistent);
    if (persistent) {
        j.num("timeout", timeout);
        j.num("netmask", uint64_t(netmask < 0 ? max_plen(af) : netmask));
    }
    j.boolean("onepacket", onepacket);
    if (sh_fallback) j.boolean("sh_fallback", true);
    if (sh_port) j.boolean("sh_port", true);
    if (!pe.empty()) j.str("pe", pe);
    j.key("dests");
    out += '[';
    for (size_t i = 0; i < dests.size(); i++) {
        auto& d = dests[i];
        if (i) out += ',';
        JsonOut k{out};
        out += '{';
        k.ip("address", d.addr);
        k.num("port", d.port);
        k.str("forward", ipvs_fwd_name(d.fwd));
        k.num("weight", d.weight), k.num("u_threshold", d.u_thresh), k.num("l_threshold", d.l_thresh);
        if (d.fwd == IpvsFwd::Tunnel) {
            k.str("tun_type", d.tun_type.empty() ? "ipip" : d.tun_type);
            if (d.tun_type == "gue") k.num("tun_port", d.tun_port);
        }
        k.num("active", d.active), k.num("inactive", d.inactive), k.num("persistent_conns", d.persistent);
        k.key("stats");
        write_stats(out, d.stats);
        out += '}';
    }
    out += ']';
    j.key("stats");
    write_stats(out, stats);
    out += '}';
}

IpvsService IpvsService::from_json(const json& j) { return service_from(j, nullptr); }

void IpvsService::validate() const {
    std::string obj = "service " + key();
    if (af != AF_INET && af != AF_INET6) throw_input(obj, "family", std::to_string(af), "must be ipv4 or ipv6");
    if (protocol == "fwm" || fwmark) {
        if (fwmark == 0) throw_input(obj, "fwmark", "0", "must be in 1..4294967295");
        if (addr.valid()) throw_input(obj, "address", addr.str(), "a firewall-mark service has no address");
        if (port) throw_input(obj, "port", std::to_string(port), "a firewall-mark service has no port");
    } else {
        if (!proto_num(protocol)) throw_input(obj, "protocol", protocol, "must be tcp, udp, sctp or fwm");
        if (!addr.valid()) throw_input(obj, "address", "", "required (or give a fwmark)");
        if (addr.family != af) throw_input(obj, "address", addr.str(), "does not match the service's family");
        if (!is_unicast_host(addr)) throw_input(obj, "address", addr.str(), "must be a unicast address");
        if (port == 0 && !persistent)
            throw_input(obj, "port", "0", "port 0 is only allowed for persistent services");
    }
    auto& sc = ipvs_schedulers();
    if (std::find(sc.begin(), sc.end(), scheduler) == sc.end())
        throw_input(obj, "scheduler", scheduler, "unknown scheduler (rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh)");
    if (persistent && timeout == 0) throw_input(obj, "timeout", "0", "a persistent service needs a timeout of 1 second or more");
    if (!persistent && timeout) throw_input(obj, "timeout", std::to_string(timeout), "set only for a persistent service");
    if (netmask > max_plen(af)) throw_input(obj, "netmask", std::to_string(netmask), fmt::format("must be in 0..{}", max_plen(af)));
    if (netmask >= 0 && netmask != max_plen(af) && !persistent)
        throw_input(obj, "netmask", std::to_string(netmask), "set only for a persistent service");
    if (af == AF_INET6 && netmask == 0) throw_input(obj, "netmask", "0", "must be in 1..128");
    if ((sh_fallback || sh_port) && !sched_has_flags(scheduler))
        throw_input(obj, sh_fallback ? "sh_fallback" : "sh_port", "true", "only for the sh and mh schedulers, not " + scheduler);
    if (!pe.empty() && pe != "sip") throw_input(obj, "pe", pe, "the only persistence engine is sip");
    if (!pe.empty() && !persistent) throw_input(obj, "pe", pe, "a persistence engine needs a persistent service");
    // The first destination that repeats an earlier one (by address and port), found by sorting.
    size_t dup_at = dests.size(), dup_of = 0;
    if (dests.size() > 1) {
        std::vector<size_t> ix(dests.size());
        for (size_t i = 0; i < ix.size(); i++) ix[i] = i;
        std::sort(ix.begin(), ix.end(), [&](size_t x, size_t y) {
            int c = dest_cmp(dests[x], dests[y]);
            return c ? c < 0 : x < y;
        });
        for (size_t k = 1; k < ix.size(); k++) {
            if (ix[k] < dup_at && dest_cmp(dests[ix[k - 1]], dests[ix[k]]) == 0) {
                // ix[k] repeats the group's first member: walk back to it.
                size_t first = k - 1;
                while (first > 0 && dest_cmp(dests[ix[first - 1]], dests[ix[k]]) == 0) first--;
                dup_at = ix[k], dup_of = ix[first];
            }
        }
    }
    for (size_t i = 0; i < dests.size(); i++) {
        auto& d = dests[i];
        DestName dobj{obj, i};
        if (!d.addr.valid()) throw_input(dobj, "address", "", "required");
        if (d.addr.family != af)
            throw_input(dobj, "address", d.addr.str(),
                        fmt::format("is {} but the service is {}", d.addr.family == AF_INET6 ? "IPv6" : "IPv4",
                                    af == AF_INET6 ? "IPv6" : "IPv4"));
        if (!is_unicast_host(d.addr)) throw_input(dobj, "address", d.addr.str(), "must be a unicast address");
        if (d.weight > 65535) throw_input(dobj, "weight", std::to_string(d.weight), "must be in 0..65535");
        if (d.l_thresh > d.u_thresh)
            throw_input(dobj, "l_threshold", std::to_string(d.l_thresh),
                        fmt::format("is above the upper threshold {}", d.u_thresh));
        if (d.fwd == IpvsFwd::Masq && d.port == 0 && !fwmark && !persistent)
            throw_input(dobj, "port", "0", "a masq destination of a port service needs a port");
        if (d.fwd == IpvsFwd::Tunnel) {
            std::string t = d.tun_type.empty() ? "ipip" : d.tun_type;
            if (tun_num(t) < 0) throw_input(dobj, "tun_type", t, "must be ipip, gue or gre");
            if (t == "gue" && d.tun_port == 0) throw_input(dobj, "tun_port", "0", "required for gue (1..65535)");
            if (t != "gue" && d.tun_port) throw_input(dobj, "tun_port", std::to_string(d.tun_port), "only for gue tunnels");
        } else if (!d.tun_type.empty() || d.tun_port) {
            throw_input(dobj, "tun_type", d.tun_type, "only for tunnel forwarding");
        }
        if (i == dup_at)
            throw_input(dobj, "address", d.label(), fmt::format("appears twice (dests[{}] and dests[{}])", dup_of, i));
    }
}

// ---------------------------------------------------------------------------------------------
// reading a set
//
// A set of 1,000 services x 10 destinations costs more as a DOM than programming it does, so
// ipvs_read() parses with SAX: each service's own fields still become a small DOM object, its
// destinations become DestFields records, and both go through service_from(), the rules of
// from_json(). Shapes the fast path does not take (a non-object where a service or destination
// belongs, an unknown destination field, nested values other than "stats") make it give up on
// that document and read it as from_json() does, so errors are the same whichever path runs.

namespace {

// The services of a set as they are read, numbered from 1. The first invalid one is kept and
// raised once the whole text is read: a syntax error further on wins, as with a DOM.
struct SetOut {
    std::vector<IpvsService> services;
    std::vector<json> stubs;   // per service, its "netns" if any
    size_t count = 0;
    std::exception_ptr first_error;

    template <class Build>
    void add(const json& obj, Build build) {
        count++;
        json stub = json::object();
        if (obj.is_object() && obj.contains("netns")) stub["netns"] = obj["netns"];
        stubs.push_back(std::move(stub));
        if (first_error) return;
        try {
            services.push_back(build());
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::Input) throw;
            first_error = std::make_exception_ptr(
                Error(ErrorKind::Input, fmt::format("service #{}: {}", count, e.what()), 0, {}, e.object(), e.field()));
        }
    }
};

struct SetSax : nlohmann::json_sax<json> {
    struct DestRec {
        std::array<json, kDestKeys> v;
        DestFields fields() const {
            DestFields f{};
            for (size_t k = 0; k < f.size(); k++) f[k] = v[k].is_null() ? nullptr : &v[k];
            return f;
        }
    };
    enum State { Top, TopArray, Svc, Dests, Dest };

    SetOut& set;
    State st = Top;
    int skip = 0;              // depth inside an ignored value ("stats")
    std::string cur_key;
    json svc;
    bool has_dests = false;
    std::vector<DestRec> recs;
    int dest_key = -1;         // field of the current destination, -2 ignored

    explicit SetSax(SetOut& o) : set(o) {}

    void finish_service() {
        set.add(svc, [&] {
            std::vector<DestFields> f;
            f.reserve(recs.size());
            for (auto& r : recs) f.push_back(r.fields());
            return service_from(svc, &f);
        });
    }
    bool scalar(json v) {
        if (skip) return true;
        switch (st) {
        case Svc:
            if (cur_key == "dests") return false;
            svc[cur_key] = std::move(v);
            return true;
        case Dest:
            if (dest_key >= 0) recs.back().v[size_t(dest_key)] = std::move(v);
            return true;
        default: return false;   // a scalar where a service or a destination belongs
        }
    }
    bool null() override { return scalar(json()); }
    bool boolean(bool x) override { return scalar(json(x)); }
    bool number_integer(json::number_integer_t x) override { return scalar(json(x)); }
    bool number_unsigned(json::number_unsigned_t x) override { return scalar(json(x)); }
    bool number_float(json::number_float_t x, const std::string&) override { return scalar(json(x)); }
    bool string(std::string& x) override { return scalar(json(std::move(x))); }
    bool binary(json::binary_t&) override { return false; }
    bool key(std::string& k) override {
        if (skip) return true;
        if (st == Dest) {
            dest_key = dest_key_index(k);
            return dest_key != -1;
        }
        cur_key.assign(k);
        return true;
    }
    bool start_object(std::size_t) override {
        if (skip) { skip++; return true; }
        switch (st) {
        case Top: case TopArray:
            svc = json::object();
            has_dests = false;
            recs.clear();
            st = Svc;
            return true;
        case Svc:
            if (cur_key != "stats") return false;
            skip = 1;
            return true;
        case Dests:
            recs.emplace_back();
            st = Dest;
            return true;
        case Dest:
            if (dest_key != -2) return false;
            skip = 1;
            return true;
        }
        return false;
    }
    bool end_object() override {
        if (skip) { skip--; return true; }
        if (st == Dest) { st = Dests; return true; }
        finish_service();
        st = depth_top ? TopArray : Top;
        return true;
    }
    bool depth_top = false;    // inside a top-level array
    bool start_array(std::size_t) override {
        if (skip) { skip++; return true; }
        if (st == Top) { st = TopArray; depth_top = true; return true; }
        if (st == Svc && cur_key == "dests" && !has_dests) { has_dests = true; st = Dests; return true; }
        if (st == Svc && cur_key == "stats") { skip = 1; return true; }
        if (st == Dest && dest_key == -2) { skip = 1; return true; }
        return false;
    }
    bool end_array() override {
        if (skip) { skip--; return true; }
        if (st == Dests) { st = Svc; return true; }
        st = Top;
        depth_top = false;
        return true;
    }
    // Syntax errors are left to the nlohmann reading that follows a false from json_sax_fast.
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
};

}  // namespace

std::vector<IpvsService> ipvs_read(std::istream& in, const std::string& what, std::vector<json>* stubs_out) {
    std::string text = read_all(in);
    SetOut set;
    SetSax whole(set);
    // The whole stream in one pass (most sets); when the fast reader gives up, what it delivered
    // is dropped and every document is read as from_json() reads it.
    json_sax_read(text, what, whole, [&] { set = SetOut{}; }, [&](std::string_view span, size_t) {
        json j = json::parse(span.begin(), span.end());
        if (!j.is_array()) j = json::array({std::move(j)});
        for (auto& d : j) set.add(d, [&] { return IpvsService::from_json(d); });
    });
    if (set.first_error) std::rethrow_exception(set.first_error);
    if (stubs_out) *stubs_out = std::move(set.stubs);
    return std::move(set.services);
}

// ---------------------------------------------------------------------------------------------
// handle

IpvsHandle::IpvsHandle(const std::string& netns) : h_(netns, NETLINK_GENERIC) {
    // One CTRL_CMD_GETFAMILY request on our own socket: libnl's genl_ctrl_resolve() builds a
    // family cache for it, which costs more than the rest of a small command under emulation.
    void* hdr = nullptr;
    NlMsg m = nl_new(GENL_ID_CTRL, 0, GENL_HDRLEN, &hdr, 256);
    auto* g = static_cast<genlmsghdr*>(hdr);
    g->cmd = CTRL_CMD_GETFAMILY;
    g->version = 1;
    nla_put_string(m.get(), CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME);
    int id = 0;
    std::string ext;
    int err = h_.get(std::move(m), [&](const nlmsghdr* r) {
        nlattr* tb[CTRL_ATTR_MAX + 1] = {};
        gattrs(r, tb, CTRL_ATTR_MAX);
        if (tb[CTRL_ATTR_FAMILY_ID]) id = nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
    }, &ext);
    if (err == ENOENT || (!err && !id)) throw Error(ErrorKind::Runtime, "the kernel has no IPVS (modprobe ip_vs)", ENOENT);
    if (err) throw_sys(err, "resolve the IPVS generic netlink family", ext);
    family_ = id;
}

namespace {
void info(IpvsHandle& h, uint32_t& version, uint32_t& size) {
    NlMsg m = genl_msg(h.family(), IPVS_CMD_GET_INFO, 0);
    std::string ext;
    int err = h.nl().get(std::move(m), [&](const nlmsghdr* r) {
        nlattr* tb[IPVS_INFO_ATTR_MAX + 1] = {};
        gattrs(r, tb, IPVS_INFO_ATTR_MAX);
        if (tb[IPVS_INFO_ATTR_VERSION]) version = nla_get_u32(tb[IPVS_INFO_ATTR_VERSION]);
        if (tb[IPVS_INFO_ATTR_CONN_TAB_SIZE]) size = nla_get_u32(tb[IPVS_INFO_ATTR_CONN_TAB_SIZE]);
    }, &ext);
    if (err) throw_sys(err, "get IPVS info", ext);
}
}  // namespace

std::string IpvsHandle::version() {
    uint32_t v = 0, s = 0;
    info(*this, v, s);
    return fmt::format("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
}

uint32_t IpvsHandle::conn_tab_size() {
    uint32_t v = 0, s = 0;
    info(*this, v, s);
    return s;
}

// ---------------------------------------------------------------------------------------------
// operations

std::vector<IpvsService> ipvs_list(IpvsHandle& h) {
    std::vector<IpvsService> out;
    NlMsg m = genl_msg(h.family(), IPVS_CMD_GET_SERVICE, 0);
    h.nl().dump(
        m,
        [&](const nlmsghdr* r) {
            nlattr* tb[IPVS_CMD_ATTR_MAX + 1] = {};
            gattrs(r, tb, IPVS_CMD_ATTR_MAX);
            if (tb[IPVS_CMD_ATTR_SERVICE]) out.push_back(parse_service(tb[IPVS_CMD_ATTR_SERVICE]));
        },
        [&] { out.clear(); });
    std::sort(out.begin(), out.end(), svc_less);
    for (auto& s : out) s.dests = list_dests(h, s);
    return out;
}

std::optional<IpvsService> ipvs_get(IpvsHandle& h, const IpvsService& key) { return get_service(h, key); }

Changes ipvs_add_service(IpvsHandle& h, const IpvsService& s) {
    s.validate();
    auto cur = get_service(h, s);
    Plan p;
    plan_service(s, cur ? &*cur : nullptr, false, p);
    return to_changes(execute(h, p), p, false);
}

Changes ipvs_edit_service(IpvsHandle& h, const IpvsService& s) {
    s.validate();
    auto cur = get_service(h, s);
    if (!cur) throw_input("service " + s.key(), "key", s.key(), "no such service");
    if (same_config(s, *cur)) return {Change{Action::Unchanged, "service " + s.key()}};
    h.nl().request(svc_msg(h.family(), IPVS_CMD_SET_SERVICE, s, true), "service " + s.key());
    return {Change{Action::Changed, "service " + s.key(), "edited"}};
}

Changes ipvs_del_service(IpvsHandle& h, const IpvsService& key) {
    auto cur = get_service(h, key);
    if (!cur) return {Change::with_detail(Action::Unchanged, "service " + key.key(), json{{"reason", "no such service"}})};
    h.nl().request(svc_msg(h.family(), IPVS_CMD_DEL_SERVICE, key, false), "service " + key.key());
    return {Change{Action::Removed, "service " + key.key()}};
}

namespace {
IpvsService require_service(IpvsHandle& h, const IpvsService& key, const IpvsDest& d, bool full = true) {
    IpvsService probe = key;
    probe.dests = {d};
    if (full) {
        probe.validate();
    } else {
        probe.dests.clear();
        probe.validate();
        if (!d.addr.valid() || d.addr.family != key.af)
            throw_input("dest " + d.label() + " of " + key.key(), "address", d.addr.str(), "address family differs from the service's");
    }
    auto cur = get_service(h, key);
    if (!cur) throw_input("service " + key.key(), "key", key.key(), "no such service (add it first)");
    return *cur;
}
const IpvsDest* find_dest(const IpvsService& s, const IpvsDest& d) {
    for (auto& x : s.dests)
        if (x.label() == d.label()) return &x;
    return nullptr;
}
}  // namespace

Changes ipvs_add_dest(IpvsHandle& h, const IpvsService& key, const IpvsDest& d) {
    auto cur = require_service(h, key, d);
    std::string obj = "dest " + d.label() + " of " + key.key();
    auto* x = find_dest(cur, d);
    if (x && same_config(d, *x)) return {Change{Action::Unchanged, obj}};
    h.nl().request(dest_msg(h.family(), x ? IPVS_CMD_SET_DEST : IPVS_CMD_NEW_DEST, cur, d, true), obj);
    return {Change{x ? Action::Changed : Action::Added, obj, x ? "edited" : nullptr}};
}

Changes ipvs_edit_dest(IpvsHandle& h, const IpvsService& key, const IpvsDest& d) {
    auto cur = require_service(h, key, d);
    std::string obj = "dest " + d.label() + " of " + key.key();
    auto* x = find_dest(cur, d);
    if (!x) throw_input(obj, "address", d.label(), "no such destination");
    if (same_config(d, *x)) return {Change{Action::Unchanged, obj}};
    h.nl().request(dest_msg(h.family(), IPVS_CMD_SET_DEST, cur, d, true), obj);
    return {Change{Action::Changed, obj, "edited"}};
}

Changes ipvs_del_dest(IpvsHandle& h, const IpvsService& key, const IpvsDest& d, unsigned drain_seconds) {
    auto cur = require_service(h, key, d, false);
    std::string obj = "dest " + d.label() + " of " + key.key();
    auto* x = find_dest(cur, d);
    if (!x) return {Change::with_detail(Action::Unchanged, obj, json{{"reason", "no such destination"}})};
    Changes ch;
    if (drain_seconds) {
        IpvsDest z = *x;
        z.weight = 0;
        if (x->weight != 0) h.nl().request(dest_msg(h.family(), IPVS_CMD_SET_DEST, cur, z, true), obj);
        ch.push_back(Change::with_detail(Action::Changed, obj, json{{"seconds", drain_seconds}, {"weight_was", x->weight}}, "drained"));
        std::this_thread::sleep_for(std::chrono::seconds(drain_seconds));
    }
    std::string ext;
    int err = h.nl().request_errno(dest_msg(h.family(), IPVS_CMD_DEL_DEST, cur, *x, false), &ext);
    if (err == ENOENT && drain_seconds) return ch;  // removed by someone else while draining
    if (err) throw_sys(err, "remove " + obj, ext, obj);
    ch.push_back(Change{Action::Removed, obj});
    return ch;
}

std::vector<IpvsChange> ipvs_apply_set(IpvsHandle& h, const std::vector<IpvsService>& desired, bool prune,
                                       IpvsApplyStats* stats, std::vector<std::string>* unchanged) {
    check_unique(desired);
    auto current = ipvs_list(h);
    std::unordered_map<std::string, const IpvsService*> cur;
    cur.reserve(current.size());
    for (auto& s : current) cur.emplace(s.key(), &s);
    Plan p;
    p.ops.reserve(desired.size() * 11);
    if (prune && !current.empty()) {
        std::unordered_set<std::string> want;
        for (auto& s : desired) want.insert(s.key());
        for (auto& s : current)
            if (!want.count(s.key())) {
                p.ops.push_back({IPVS_CMD_DEL_SERVICE, IpvsChange::Removed, &s, nullptr});
                p.st.removed++;
            }
    }
    for (auto& s : desired) {
        auto it = cur.empty() ? cur.end() : cur.find(s.key());
        plan_service(s, it == cur.end() ? nullptr : it->second, true, p);
    }
    auto ch = execute(h, p);
    if (stats) *stats = p.st;
    if (unchanged) *unchanged = std::move(p.unchanged);
    return ch;
}

Changes ipvs_apply(IpvsHandle& h, const std::vector<IpvsService>& desired, bool prune, IpvsApplyStats* stats) {
    Plan p;
    auto ch = ipvs_apply_set(h, desired, prune, &p.st, &p.unchanged);
    if (stats) *stats = p.st;
    // Only report per-object "unchanged" lines when nothing else happens (a summary otherwise).
    return to_changes(ch, p, true);
}

Changes ipvs_zero(IpvsHandle& h, const std::optional<IpvsService>& key) {
    NlMsg m = genl_msg(h.family(), IPVS_CMD_ZERO, 0);
    std::string obj = key ? "service " + key->key() : "ipvs";
    if (key) {
        if (!get_service(h, *key)) throw_input(obj, "key", key->key(), "no such service");
        put_service(m.get(), *key, false);
    }
    h.nl().request(std::move(m), obj);
    return {Change{Action::Changed, obj, "zeroed"}};
}

Changes ipvs_flush(IpvsHandle& h) {
    auto cur = ipvs_list(h);
    if (cur.empty()) return {Change::with_detail(Action::Unchanged, "ipvs", json{{"reason", "no services"}})};
    h.nl().request(genl_msg(h.family(), IPVS_CMD_FLUSH, 0), "ipvs");
    return {Change{Action::Removed, fmt::format("ipvs ({} services)", cur.size()), "flushed"}};
}

IpvsTimeouts ipvs_get_timeouts(IpvsHandle& h) {
    IpvsTimeouts t;
    std::string ext;
    int err = h.nl().get(genl_msg(h.family(), IPVS_CMD_GET_CONFIG, 0), [&](const nlmsghdr* r) {
        nlattr* tb[IPVS_CMD_ATTR_MAX + 1] = {};
        gattrs(r, tb, IPVS_CMD_ATTR_MAX);
        if (tb[IPVS_CMD_ATTR_TIMEOUT_TCP]) t.tcp = nla_get_u32(tb[IPVS_CMD_ATTR_TIMEOUT_TCP]);
        if (tb[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN]) t.tcp_fin = nla_get_u32(tb[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN]);
        if (tb[IPVS_CMD_ATTR_TIMEOUT_UDP]) t.udp = nla_get_u32(tb[IPVS_CMD_ATTR_TIMEOUT_UDP]);
    }, &ext);
    if (err) throw_sys(err, "get IPVS timeouts", ext);
    return t;
}

Changes ipvs_set_timeouts(IpvsHandle& h, const IpvsTimeouts& t) {
    auto cur = ipvs_get_timeouts(h);
    if ((!t.tcp || t.tcp == cur.tcp) && (!t.tcp_fin || t.tcp_fin == cur.tcp_fin) && (!t.udp || t.udp == cur.udp))
        return {Change{Action::Unchanged, "timeouts"}};
    NlMsg m = genl_msg(h.family(), IPVS_CMD_SET_CONFIG, 0);
    if (t.tcp) nla_put_u32(m.get(), IPVS_CMD_ATTR_TIMEOUT_TCP, t.tcp);
    if (t.tcp_fin) nla_put_u32(m.get(), IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t.tcp_fin);
    if (t.udp) nla_put_u32(m.get(), IPVS_CMD_ATTR_TIMEOUT_UDP, t.udp);
    h.nl().request(std::move(m), "timeouts");
    IpvsTimeouts now{t.tcp ? t.tcp : cur.tcp, t.tcp_fin ? t.tcp_fin : cur.tcp_fin, t.udp ? t.udp : cur.udp};
    return {Change::with_detail(Action::Changed, "timeouts", now.to_json(), "set")};
}

// ---------------------------------------------------------------------------------------------
// ipvsadm -S format

namespace {

std::string svc_opt(const IpvsService& s) {
    if (s.fwmark) return fmt::format("-f {}{}", s.fwmark, s.af == AF_INET6 ? " -6" : "");
    const char* o = s.protocol == "tcp" ? "-t" : s.protocol == "udp" ? "-u" : "--sctp-service";
    return fmt::format("{} {}", o, addr_port(s.addr, s.port));
}

// Splits "10.0.0.5:80", "[fd00::1]:443", "10.0.0.5" into address and port.
bool split_addr_port(const std::string& v, IpAddr& a, std::optional<uint32_t>& port) {
    std::string host = v, p;
    if (!v.empty() && v[0] == '[') {
        auto e = v.find(']');
        if (e == std::string::npos) return false;
        host = v.substr(1, e - 1);
        if (e + 1 < v.size()) {
            if (v[e + 1] != ':') return false;
            p = v.substr(e + 2);
            if (p.empty()) return false;
        }
    } else if (std::count(v.begin(), v.end(), ':') == 1) {
        auto c = v.find(':');
        host = v.substr(0, c);
        p = v.substr(c + 1);
        if (p.empty()) return false;
    }
    if (!IpAddr::try_parse(host, a)) return false;
    if (!p.empty()) {
        if (p.size() > 6 || p.find_first_not_of("0123456789") != std::string::npos) return false;
        port = uint32_t(std::stoul(p));
    }
    return true;
}

}  // namespace

std::string ipvs_format_ipvsadm(const std::vector<IpvsService>& services) {
    auto sorted = services;
    std::sort(sorted.begin(), sorted.end(), svc_less);
    std::string out;
    for (auto& s0 : sorted) {
        auto s = s0;
        std::string so = svc_opt(s);
        out += "-A " + so + " -s " + s.scheduler;
        if (s.persistent) {
            out += fmt::format(" -p {}", s.timeout);
            int plen = s.netmask < 0 ? max_plen(s.af) : s.netmask;
            if (plen != max_plen(s.af)) {
                if (s.af == AF_INET) {
                    uint32_t m = htonl(plen ? ~uint32_t(0) << (32 - plen) : 0);
                    out += " -M " + IpAddr::from_bytes(AF_INET, &m).str();
                } else {
                    out += fmt::format(" -M {}", plen);
                }
            }
            if (!s.pe.empty()) out += " --pe " + s.pe;
        }
        if (s.onepacket) out += " -o";
        if (s.sh_fallback || s.sh_port) {
            std::string pre = s.scheduler == "mh" ? "mh-" : "sh-";
            out += " -b ";
            if (s.sh_fallback) out += pre + "fallback";
            if (s.sh_port) out += (s.sh_fallback ? "," : "") + pre + "port";
        }
        out += '\n';
        std::sort(s.dests.begin(), s.dests.end(), dest_less);
        for (auto& d : s.dests) {
            const char* fw = d.fwd == IpvsFwd::Masq ? "-m" : d.fwd == IpvsFwd::Tunnel ? "-i" : "-g";
            out += fmt::format("-a {} -r {} {} -w {}", so, addr_port(d.addr, d.port), fw, d.weight);
            if (d.fwd == IpvsFwd::Tunnel && !d.tun_type.empty() && d.tun_type != "ipip") {
                out += " --tun-type " + d.tun_type;
                if (d.tun_type == "gue") out += fmt::format(" --tun-port {}", d.tun_port);
                out += " --tun-nocsum";
            }
            // ipvsadm -S leaves thresholds out; ipvsadm -R reads them, so they are kept here.
            if (d.u_thresh) out += fmt::format(" -x {}", d.u_thresh);
            if (d.l_thresh) out += fmt::format(" -y {}", d.l_thresh);
            out += '\n';
        }
    }
    return out;
}

std::vector<IpvsService> ipvs_parse_ipvsadm(std::istream& in) {
    std::vector<IpvsService> out;
    std::map<std::string, size_t> index;
    std::string line;
    size_t lineno = 0;
    while (std::getline(in, line)) {
        lineno++;
        std::istringstream ls(line);
        std::vector<std::string> w;
        for (std::string t; ls >> t;) w.push_back(t);
        if (w.empty() || w[0][0] == '#') continue;
        std::string obj = fmt::format("ipvsadm line {}", lineno);
        auto bad = [&](const std::string& field, const std::string& value, const std::string& why) {
            throw_input(obj, field, value, why);
        };
        bool is_svc = w[0] == "-A" || w[0] == "--add-service";
        bool is_dst = w[0] == "-a" || w[0] == "--add-server";
        if (!is_svc && !is_dst) bad("command", w[0], "only -A (add service) and -a (add server) lines are read");
        IpvsService s;
        IpvsDest d;
        bool have_key = false, six = false, have_real = false, have_port = false;
        std::optional<uint32_t> pers;
        bool p_given = false;
        std::string mask;
        auto num = [&](const std::string& v, uint64_t max, const std::string& field) -> uint64_t {
            if (v.empty() || v.size() > 10 || v.find_first_not_of("0123456789") != std::string::npos || std::stoull(v) > max)
                bad(field, v, fmt::format("must be a number in 0..{}", max));
            return std::stoull(v);
        };
        for (size_t i = 1; i < w.size(); i++) {
            const std::string& o = w[i];
            auto arg = [&]() -> const std::string& {
                if (i + 1 >= w.size()) bad(o, "", "needs a value");
                return w[++i];
            };
            if (o == "-t" || o == "--tcp-service" || o == "-u" || o == "--udp-service" || o == "--sctp-service") {
                const std::string& v = arg();
                std::optional<uint32_t> port;
                if (!split_addr_port(v, s.addr, port)) bad(o, v, "expected ADDRESS:PORT ([IPv6]:PORT)");
                if (port && *port > 65535) bad("port", std::to_string(*port), "must be in 0..65535");
                s.protocol = o[1] == 't' || o == "--tcp-service" ? "tcp" : o == "-u" || o == "--udp-service" ? "udp" : "sctp";
                s.port = port ? uint16_t(*port) : 0;
                s.af = s.addr.family;
                have_key = true;
            } else if (o == "-f" || o == "--fwmark-service") {
                const std::string& v = arg();
                s.protocol = "fwm";
                s.fwmark = uint32_t(num(v, 0xffffffffULL, "fwmark"));
                if (!s.fwmark) bad("fwmark", v, "must be in 1..4294967295");
                have_key = true;
            } else if (o == "-6" || o == "--ipv6") {
                six = true;
            } else if (is_svc && (o == "-s" || o == "--scheduler")) {
                s.scheduler = arg();
            } else if (is_svc && (o == "-p" || o == "--persistent")) {
                p_given = true;
                if (i + 1 < w.size() && !w[i + 1].empty() && w[i + 1][0] != '-')
                    pers = uint32_t(num(arg(), 0xffffffffULL, "timeout"));
            } else if (is_svc && (o == "-M" || o == "--netmask")) {
                mask = arg();
            } else if (is_svc && (o == "-o" || o == "--ops")) {
                s.onepacket = true;
            } else if (is_svc && o == "--pe") {
                s.pe = arg();
            } else if (is_svc && (o == "-b" || o == "--sched-flags")) {
                std::string v = arg();
                std::stringstream fs(v);
                for (std::string f; std::getline(fs, f, ',');) {
                    if (f == "sh-fallback" || f == "mh-fallback" || f == "flag-1") s.sh_fallback = true;
                    else if (f == "sh-port" || f == "mh-port" || f == "flag-2") s.sh_port = true;
                    else bad("sched-flags", f, "must be sh-fallback, sh-port, mh-fallback, mh-port, flag-1 or flag-2");
                }
            } else if (is_dst && (o == "-r" || o == "--real-server")) {
                const std::string& v = arg();
                std::optional<uint32_t> port;
                if (!split_addr_port(v, d.addr, port)) bad(o, v, "expected ADDRESS[:PORT]");
                if (port && *port > 65535) bad("port", std::to_string(*port), "must be in 0..65535");
                if (port) { d.port = uint16_t(*port); have_port = true; }
                have_real = true;
            } else if (is_dst && (o == "-m" || o == "--masquerading")) {
                d.fwd = IpvsFwd::Masq;
            } else if (is_dst && (o == "-g" || o == "--gatewaying")) {
                d.fwd = IpvsFwd::Route;
            } else if (is_dst && (o == "-i" || o == "--ipip")) {
                d.fwd = IpvsFwd::Tunnel;
            } else if (is_dst && (o == "-w" || o == "--weight")) {
                d.weight = uint32_t(num(arg(), 65535, "weight"));
            } else if (is_dst && (o == "-x" || o == "--u-threshold")) {
                d.u_thresh = uint32_t(num(arg(), 0xffffffffULL, "u-threshold"));
            } else if (is_dst && (o == "-y" || o == "--l-threshold")) {
                d.l_thresh = uint32_t(num(arg(), 0xffffffffULL, "l-threshold"));
            } else if (is_dst && o == "--tun-type") {
                d.tun_type = arg();
            } else if (is_dst && o == "--tun-port") {
                d.tun_port = uint16_t(num(arg(), 65535, "tun-port"));
            } else if (is_dst && (o == "--tun-nocsum")) {
                // the only checksum mode ovnet programs
            } else {
                bad("option", o, is_svc ? "not an option of -A" : "not an option of -a");
            }
        }
        if (!have_key) bad("service", "", "missing -t, -u, --sctp-service or -f");
        if (s.fwmark) s.af = six ? AF_INET6 : AF_INET;
        else if (six && s.af != AF_INET6) bad("-6", "", "given with an IPv4 service address");
        std::string key = s.key();
        obj = fmt::format("ipvsadm line {}: service {}", lineno, key);
        if (is_svc) {
            if (p_given || pers) {
                s.persistent = true;
                s.timeout = pers.value_or(kDefaultPersist);
            }
            if (!mask.empty()) {
                if (s.af == AF_INET && mask.find('.') != std::string::npos) {
                    IpAddr m;
                    if (!IpAddr::try_parse(mask, m) || m.family != AF_INET) bad("netmask", mask, "not an IPv4 netmask");
                    uint32_t v = ntohl(*reinterpret_cast<const uint32_t*>(m.b.data()));
                    int plen = __builtin_popcount(v);
                    if (plen && v != (~uint32_t(0) << (32 - plen))) bad("netmask", mask, "not a contiguous netmask");
                    s.netmask = plen;
                } else {
                    s.netmask = int(num(mask, 128, "netmask"));
                }
                if (s.netmask == max_plen(s.af)) s.netmask = -1;
            }
            if (index.count(key)) bad("service", key, "added twice");
            try {
                s.validate();
            } catch (const Error& e) {
                throw Error(ErrorKind::Input, fmt::format("ipvsadm line {}: {}", lineno, e.what()), 0, {}, e.object(), e.field());
            }
            index[key] = out.size();
            out.push_back(std::move(s));
        } else {
            auto it = index.find(key);
            if (it == index.end()) bad("service", key, "destination before its service (no -A line for it)");
            if (!have_real) bad("-r", "", "missing the real server (-r ADDRESS[:PORT])");
            auto& svc = out[it->second];
            if (!have_port) d.port = svc.port;
            if (d.fwd == IpvsFwd::Tunnel && d.tun_type.empty()) d.tun_type = "ipip";
            svc.dests.push_back(d);
            try {
                svc.validate();
            } catch (const Error& e) {
                throw Error(ErrorKind::Input, fmt::format("ipvsadm line {}: {}", lineno, e.what()), 0, {}, e.object(), e.field());
            }
        }
    }
    return out;
}

}  // namespace ovnet
