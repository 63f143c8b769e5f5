// ovnet-trace --probe: one real packet, sent from the trace's sandbox while libpcap watches every
// device the computed path crosses; what came back and where the packet was seen, beside the
// computed outcome. Everything it opens (sockets, captures) is closed when it returns or throws.
#include "probe.hpp"

#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "ovnet/fd.hpp"
#include "ovnet/ipvs.hpp"
#include "ovnet/trace_counters.hpp"
#include "pcap_util.hpp"
#include "probe_inject.hpp"
#include "probe_nftrace.hpp"

namespace ovnet::tool {

namespace {

struct Watch {
    std::string netns, iface, filter;
    size_t hop = 0;
    Pcap pc;
    uint64_t packets = 0;
};

std::string filter_for(const TracePacket& p) {
    if (p.vni) return "udp dst port " + std::to_string(p.dport) + " and dst host " + p.dst.str() +
                      (p.src.valid() ? " and src host " + p.src.str() : std::string());
    std::string f = p.proto + " and dst host " + p.dst.str() + (p.src.valid() ? " and src host " + p.src.str() : std::string());
    if (p.proto != "icmp") f += " and dst port " + std::to_string(p.dport);
    else f += " and icmp[icmptype] == icmp-echo";
    return f;
}

std::string ns_arg(const std::string& label) { return label == "root" ? std::string("/proc/1/ns/net") : label; }

uint16_t csum(const uint8_t* d, size_t n) {
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2) s += uint32_t(d[i] << 8 | d[i + 1]);
    if (n & 1) s += uint32_t(d[n - 1] << 8);
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return uint16_t(~s);
}

// ---- conntrack, read through ctnetlink (raw NETLINK_NETFILTER, one dump per namespace) ----

struct CtTuple {
    uint8_t proto = 0;
    IpAddr src, dst;
    uint16_t sport = 0, dport = 0;   ///< icmp: sport = the echo id, dport 0
    bool operator==(const CtTuple&) const = default;
    std::string str() const {
        std::string pn = proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_ICMP ? "icmp" : std::to_string(proto);
        if (proto == IPPROTO_ICMP) return pn + " " + src.str() + " -> " + dst.str() + " id " + std::to_string(sport);
        return pn + " " + src.str() + ":" + std::to_string(sport) + " -> " + dst.str() + ":" + std::to_string(dport);
    }
};
struct CtEntry { CtTuple orig, reply; };

const nlattr* nla_next(const nlattr* a, size_t& left) {
    size_t len = NLA_ALIGN(a->nla_len);
    left = left > len ? left - len : 0;
    return reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(a) + len);
}
template <class F> void nla_each(const void* data, size_t len, F f) {
    size_t left = len;
    for (auto* a = static_cast<const nlattr*>(data); left >= sizeof(nlattr) && a->nla_len >= sizeof(nlattr) && a->nla_len <= left;
         a = nla_next(a, left))
        f(a->nla_type & NLA_TYPE_MASK, reinterpret_cast<const char*>(a) + NLA_HDRLEN, size_t(a->nla_len) - NLA_HDRLEN);
}
uint16_t be16(const char* d) { return uint16_t(uint8_t(d[0]) << 8 | uint8_t(d[1])); }

CtTuple ct_tuple(const char* d, size_t n) {
    CtTuple t;
    nla_each(d, n, [&](int type, const char* v, size_t vn) {
        if (type == CTA_TUPLE_IP)
            nla_each(v, vn, [&](int ty, const char* x, size_t xn) {
                if (xn < 4) return;
                if (ty == CTA_IP_V4_SRC) t.src = IpAddr::from_bytes(AF_INET, x);
                if (ty == CTA_IP_V4_DST) t.dst = IpAddr::from_bytes(AF_INET, x);
            });
        else if (type == CTA_TUPLE_PROTO)
            nla_each(v, vn, [&](int ty, const char* x, size_t xn) {
                if (ty == CTA_PROTO_NUM && xn >= 1) t.proto = uint8_t(x[0]);
                if (xn < 2) return;
                if (ty == CTA_PROTO_SRC_PORT || ty == CTA_PROTO_ICMP_ID) t.sport = be16(x);
                if (ty == CTA_PROTO_DST_PORT) t.dport = be16(x);
            });
    });
    return t;
}

/// Every IPv4 conntrack entry of `proto` in namespace `label`: one dump (IPCTNL_MSG_CT_GET,
/// NLM_F_DUMP), filtered here. No entries when conntrack is not active in that namespace.
std::vector<CtEntry> ct_dump(const std::string& label, uint8_t proto) {
    Fd fd;
    {
        NetnsFile nsf = netns_open(ns_arg(label));
        NetnsGuard g(nsf);
        fd = Fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
    }
    if (!fd) throw Error(ErrorKind::Runtime, "--probe: conntrack in " + label + ": netlink socket: " + std::strerror(errno));
    struct {
        nlmsghdr h;
        nfgenmsg g;
    } req{};
    req.h.nlmsg_len = sizeof req;
    req.h.nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.h.nlmsg_seq = 1;
    req.g.nfgen_family = AF_INET;
    req.g.version = NFNETLINK_V0;
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    if (::sendto(fd.get(), &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
        throw Error(ErrorKind::Runtime, "--probe: conntrack in " + label + ": " + std::strerror(errno));
    std::vector<CtEntry> out;
    std::vector<char> buf(1 << 16);
    for (;;) {
        ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(ErrorKind::Runtime, "--probe: conntrack in " + label + ": " + std::strerror(errno));
        }
        size_t left = size_t(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_type == NLMSG_DONE) return out;
            if (h->nlmsg_type == NLMSG_ERROR) {
                auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
                if (e->error == 0) return out;
                // no conntrack module/table in that namespace: nothing to read there
                if (-e->error == ENOENT || -e->error == EOPNOTSUPP || -e->error == EPROTONOSUPPORT) return out;
                throw Error(ErrorKind::Runtime, "--probe: conntrack in " + label + ": " + std::strerror(-e->error));
            }
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nfgenmsg))) continue;
            const char* a = static_cast<const char*>(NLMSG_DATA(h)) + NLMSG_ALIGN(sizeof(nfgenmsg));
            size_t al = h->nlmsg_len - NLMSG_LENGTH(sizeof(nfgenmsg));
            CtEntry e;
            nla_each(a, al, [&](int type, const char* v, size_t vn) {
                if (type == CTA_TUPLE_ORIG) e.orig = ct_tuple(v, vn);
                else if (type == CTA_TUPLE_REPLY) e.reply = ct_tuple(v, vn);
            });
            if (e.orig.proto == proto) out.push_back(e);
        }
    }
}

bool is_nat_effect(const std::string& eff) {
    for (const char* p : {"DNAT to ", "REDIRECT to ", "SNAT to ", "MASQUERADE to "})
        if (eff.rfind(p, 0) == 0) return true;
    return false;
}

/// The conntrack entries the probe created, namespace by namespace along the first path: the
/// probe's own tuple in its sandbox, then in each next namespace the tuple the previous entry
/// translated it to (so the real packet is followed, not the computed one); each entry's real
/// DNAT/SNAT (its reply tuple against its original one) beside the NAT hops computed there.
/// `arrive` receives the tuple as it comes into each namespace (where IPVS is, its client).
json conntrack_entries(const TracePath& path, CtTuple t, bool& agrees, std::string& differs, std::map<std::string, CtTuple>& arrive) {
    std::vector<std::string> order;
    for (auto& h : path.hops)
        if (!h.packet.vni && (order.empty() || order.back() != h.netns) &&
            std::find(order.begin(), order.end(), h.netns) == order.end())
            order.push_back(h.netns);
    json out = json::array();
    for (auto& ns : order) {
        std::vector<const TraceHop*> nat;
        for (auto& h : path.hops)
            if (h.netns == ns && h.stage == "netfilter" && is_nat_effect(h.effect)) nat.push_back(&h);
        arrive[ns] = t;
        const CtEntry* found = nullptr;
        auto entries = ct_dump(ns, t.proto);
        for (auto& e : entries) {
            CtTuple o = e.orig;
            if (!t.src.valid()) o.src = IpAddr{};   // icmp from a raw socket: the source is the route's
            if (o == t) { found = &e; break; }
        }
        if (!found && nat.empty()) continue;
        json j = json::object();
        j["netns"] = ns;
        json real = json::array(), computed = json::array();
        for (auto* h : nat) computed.push_back(h->effect);
        bool ok = true;
        if (found) {
            const CtEntry& e = *found;
            j["orig"] = e.orig.str();
            j["reply"] = e.reply.str();
            // the reply comes from where the packet really went, to whom it really came from
            bool dnat = !(e.reply.src == e.orig.dst) || (e.orig.proto != IPPROTO_ICMP && e.reply.sport != e.orig.dport);
            bool snat = !(e.reply.dst == e.orig.src) || (e.orig.proto != IPPROTO_ICMP && e.reply.dport != e.orig.sport);
            std::string to_d = e.reply.src.str() + (e.orig.proto == IPPROTO_ICMP ? "" : ":" + std::to_string(e.reply.sport));
            std::string to_s = e.reply.dst.str() + (e.orig.proto == IPPROTO_ICMP ? "" : ":" + std::to_string(e.reply.dport));
            if (dnat) real.push_back("DNAT to " + to_d);
            if (snat) real.push_back("SNAT to " + to_s);
            // compared with the computed hops: the packet each computed NAT hop leaves with
            const TraceHop* cd = nullptr;
            const TraceHop* cs = nullptr;
            for (auto* h : nat) (h->effect.rfind("DNAT", 0) == 0 || h->effect.rfind("REDIRECT", 0) == 0 ? cd : cs) = h;
            // IPVS (masq) rewrites the destination too, and its entry shows that as a DNAT: the
            // kernel's pick agrees when it is one of the candidates the computed IPVS hop lists
            // ("rr [10.255.0.6:0 w1, 10.255.0.7:0 w1]"), whichever path the computation followed.
            bool ipvs_pick = false;
            for (auto& h : path.hops)
                if (h.netns == ns && h.stage == "ipvs" && dnat &&
                    (h.entry.find("[" + e.reply.src.str() + ":") != std::string::npos ||
                     h.entry.find(" " + e.reply.src.str() + ":") != std::string::npos))
                    ipvs_pick = true;
            if (bool(cd) != dnat && !(ipvs_pick && !cd)) ok = false;
            if (bool(cs) != snat) ok = false;
            if (ipvs_pick && !cd) real[0] = real[0].get<std::string>() + " (IPVS)";   // dnat: the first
            if (cd && dnat && (!(cd->packet.dst == e.reply.src) || (e.orig.proto != IPPROTO_ICMP && cd->packet.dport != e.reply.sport))) ok = false;
            if (cs && snat && !(cs->packet.src == e.reply.dst)) ok = false;
            // the packet goes on as the entry translated it
            t.dst = e.reply.src, t.src = e.reply.dst;
            t.sport = e.reply.dport, t.dport = e.orig.proto == IPPROTO_ICMP ? 0 : e.reply.sport;
            if (e.orig.proto == IPPROTO_ICMP) t.sport = e.reply.sport;
        } else {
            // NAT computed, but no entry: the packet was dropped before conntrack confirmed it, or
            // it did not come here
            j["orig"] = nullptr;
            j["reply"] = nullptr;
            ok = false;
        }
        j["nat"] = std::move(real);
        j["computed"] = std::move(computed);
        j["agrees"] = ok;
        if (!ok && differs.empty()) {
            std::string c, rl;
            for (auto& x : j["computed"]) c += (c.empty() ? "" : ", ") + x.get<std::string>();
            for (auto& x : j["nat"]) rl += (rl.empty() ? "" : ", ") + x.get<std::string>();
            differs = "conntrack in " + ns + ": computed " + (c.empty() ? "no NAT" : c) + ", the kernel's entry " +
                      (found ? (rl.empty() ? "no NAT" : rl) + " (" + found->orig.str() + ")" : std::string("missing"));
        }
        agrees &= ok;
        out.push_back(std::move(j));
    }
    return out;
}

// ---- IPVS, read from /proc/net/ip_vs_conn in the namespace of each computed IPVS hop ----

std::string addr_port(const IpAddr& a, uint16_t port) { return a.valid() ? a.str() + ":" + std::to_string(port) : std::string("?"); }

/// The live candidates a computed IPVS hop lists: "rr [10.255.0.6:0 w1, 10.255.0.7:0 w0]" ->
/// {"10.255.0.6:0"} (weight 0 takes no new connection).
std::vector<std::string> ipvs_candidates(const std::string& entry) {
    std::vector<std::string> out;
    size_t a = entry.find('['), b = entry.rfind(']');
    if (a == std::string::npos || b == std::string::npos || b < a) return out;
    std::string list = entry.substr(a + 1, b - a - 1);
    for (size_t i = 0; i < list.size();) {
        size_t e = list.find(", ", i);
        std::string d = list.substr(i, e == std::string::npos ? std::string::npos : e - i);
        i = e == std::string::npos ? list.size() : e + 2;
        size_t w = d.rfind(" w");
        if (w == std::string::npos || d.substr(w + 2) == "0") continue;
        out.push_back(d.substr(0, w));
    }
    return out;
}

/// "10.255.0.6:0" (a firewall-mark destination keeps the packet's port) names 10.255.0.6:30000.
bool names_dest(const std::string& cand, const IpvsConn& c) {
    size_t colon = cand.rfind(':');
    if (colon == std::string::npos) return false;
    IpAddr a;
    if (!IpAddr::try_parse(cand.substr(0, colon), a) || !(a == c.daddr)) return false;
    std::string port = cand.substr(colon + 1);
    return port == "0" || port == std::to_string(c.dport);
}

/// The IPVS connection the probe created in each namespace where the first path has an IPVS hop:
/// the one whose client is the probe's tuple as it came into that namespace (`arrive`, else
/// `start` in the first namespace). It agrees when the real server is one of the computed
/// candidates, and where the computation determined the pick (one path through that service:
/// one live destination, --lb-dst), that one. No connection agrees only when the probe was
/// dropped and seen nowhere past the hop (dropped before IPVS: the outcome tells it).
json ipvs_entries(const TraceResult& r, const std::map<std::string, CtTuple>& arrive, const CtTuple& start, const std::vector<Watch>& ws,
                  const std::string& got, bool& agrees, std::string& differs) {
    const TracePath& path = r.paths.front();
    json out = json::array();
    std::set<std::string> done;
    for (size_t i = 0; i < path.hops.size(); i++) {
        const TraceHop& h = path.hops[i];
        if (h.stage != "ipvs" || !done.insert(h.netns).second) continue;
        // the pick each computed path made at this service
        std::vector<std::string> picks;
        for (auto& p : r.paths)
            for (auto& x : p.hops)
                if (x.netns == h.netns && x.stage == "ipvs" && x.object == h.object && x.effect.rfind("to ", 0) == 0) {
                    std::string d = x.effect.substr(3, x.effect.find(' ', 3) - 3);
                    if (std::find(picks.begin(), picks.end(), d) == picks.end()) picks.push_back(d);
                }
        std::vector<std::string> cands = ipvs_candidates(h.entry), computed;
        for (auto& c : cands)
            if (picks.size() != 1 || c.substr(0, c.rfind(':')) == picks[0]) computed.push_back(c);
        CtTuple t = start;
        if (auto it = arrive.find(h.netns); it != arrive.end()) t = it->second;
        else if (h.netns != path.hops.front().netns) t = CtTuple{};
        std::string pn = t.proto == IPPROTO_TCP ? "TCP" : t.proto == IPPROTO_UDP ? "UDP" : t.proto == 132 ? "SCTP" : "";
        std::optional<IpvsConn> found;
        if (t.src.valid() && !pn.empty())
            for (auto& c : ipvs_conn_read(ns_arg(h.netns)))
                if (c.proto == pn && c.client == t.src && c.cport == t.sport) {
                    bool to_v = c.vaddr == t.dst && c.vport == t.dport;
                    if (!found || to_v) found = c;
                    if (to_v) break;
                }
        json j = json::object();
        j["netns"] = h.netns;
        j["client"] = found ? addr_port(found->client, found->cport) : addr_port(t.src, t.sport);
        j["virtual"] = found ? addr_port(found->vaddr, found->vport) : addr_port(t.dst, t.dport);
        j["real"] = found ? json(addr_port(found->daddr, found->dport)) : json();
        j["state"] = found ? json(found->state) : json();
        j["computed"] = computed;
        bool ok = false;
        if (found) {
            for (auto& c : computed) ok |= names_dest(c, *found);
        } else {
            bool past = false;   // seen leaving a device after the IPVS hop
            for (auto& w : ws) past |= w.hop > i && w.packets > 0;
            ok = got == "dropped" && !past;
        }
        j["agrees"] = ok;
        if (!ok && differs.empty()) {
            std::string c;
            for (auto& x : computed) c += (c.empty() ? "" : ", ") + x;
            differs = "ipvs in " + h.netns + " (" + h.object + "): computed [" + c + "], the kernel " +
                      (found ? "picked " + j["real"].get<std::string>() : std::string("has no connection")) + " for " +
                      j["client"].get<std::string>() + " -> " + j["virtual"].get<std::string>();
        }
        agrees &= ok;
        out.push_back(std::move(j));
    }
    return out;
}

volatile sig_atomic_t g_interrupted = 0;
void on_signal(int) { g_interrupted = 1; }

/// ^C and SIGTERM during the probe: noted, and the probe unwinds (removing what it added) instead
/// of dying with its namespace and captures in place. The old handlers come back afterwards.
struct SignalGuard {
    struct sigaction old_int{}, old_term{};
    SignalGuard() {
        g_interrupted = 0;
        struct sigaction sa{};
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        ::sigaction(SIGINT, &sa, &old_int);
        ::sigaction(SIGTERM, &sa, &old_term);
    }
    ~SignalGuard() {
        ::sigaction(SIGINT, &old_int, nullptr);
        ::sigaction(SIGTERM, &old_term, nullptr);
    }
    static void check() {
        if (g_interrupted) throw Error(ErrorKind::Runtime, "--probe: interrupted; what it added is removed");
    }
};

void on_pkt(u_char* user, const pcap_pkthdr*, const u_char*) { ++*reinterpret_cast<uint64_t*>(user); }

/// The namespaces whose counters the probe reads: those of the first path's hops in order, then
/// the other paths' (where IPVS forks, the probe takes one of them), each with what it has to
/// read. A label the world cannot read (a client's side) is left out; rules are read where the
/// trace read some, SAs where it read states (a save run per backend, not run for nothing).
std::vector<std::pair<std::string, CounterRead>> counter_namespaces(const TraceResult& r, TraceWorld& world) {
    std::vector<std::pair<std::string, CounterRead>> out;
    std::set<std::string> seen;
    for (auto& p : r.paths)
        for (auto& h : p.hops) {
            if (!seen.insert(h.netns).second) continue;
            const json* n = world.netns(h.netns);
            if (!n) continue;
            CounterRead what;
            auto has = [&](const char* obj, const char* list) {
                return n->contains(obj) && (*n)[obj].is_object() && (*n)[obj].contains(list) && !(*n)[obj][list].empty();
            };
            what.rules = has("netfilter", "rules");
            what.sas = has("xfrm", "states");
            out.emplace_back(h.netns, what);
        }
    return out;
}

std::vector<CounterSnapshot> counters_read_all(const std::vector<std::pair<std::string, CounterRead>>& nss) {
    std::vector<CounterSnapshot> out;
    out.reserve(nss.size());
    for (auto& [ns, what] : nss) {
        out.push_back(counters_read(ns, ns_arg(ns), what));
        SignalGuard::check();
    }
    return out;
}

}  // namespace

// A rule read from iptables-legacy-save: invisible to the kernel's tracer.
static bool is_legacy(const json& rule) {
    return rule.is_object() && rule.contains("backend") && rule["backend"].is_string() &&
           rule["backend"].get<std::string>().find("legacy") != std::string::npos;
}

json probe(const TraceResult& r, TraceWorld& world) {
    if (r.mode != "live") throw Error(ErrorKind::Input, "--probe: sends a real packet: not with --snapshot");
    SignalGuard sig;
    TracePacket pk = r.packet;
    // from outside (a client, or --iif): a throwaway namespace on the bridge the start interface's
    // peer is on, holding the packet's source
    std::optional<Injector> inj;
    std::string send_ns = r.start.netns;
    if (r.start.kind != "sandbox") {
        const json* n = world.netns(r.start.netns);
        if (!n) throw Error(ErrorKind::Input, "--probe: " + r.start.netns + ": not read");
        IpAddr src = r.paths.front().hops.empty() ? pk.src : r.paths.front().hops.front().packet.src;
        if (!src.valid()) src = pk.src;
        inj.emplace(r.start.netns, r.start.iif, n->value("links", json::array()), n->value("addresses", json::array()), src);
        pk.src = src;
        send_ns = inj->netns();
        SignalGuard::check();
    }
    const TracePath& path = r.paths.front();
    // the devices the first path leaves through, in order
    std::vector<Watch> ws;
    std::set<std::pair<std::string, std::string>> keys;
    for (size_t i = 0; i < path.hops.size(); i++) {
        auto& h = path.hops[i];
        std::string dev;
        if (h.stage == "veth") dev = h.object;
        else if (h.stage == "bridge" && h.effect.rfind("out ", 0) == 0) dev = h.effect.substr(4);
        if (dev.empty() || !keys.insert({h.netns, dev}).second) continue;
        Watch w;
        w.netns = h.netns, w.iface = dev, w.hop = i, w.filter = filter_for(h.packet);
        w.pc = pcap_open_in(ns_arg(h.netns), dev, w.filter);
        pcap_setnonblock(w.pc.get(), 1, nullptr);
        ws.push_back(std::move(w));
    }
    // the probe's socket, made in the sandbox
    Fd sock;
    int payload = int(pk.size) - (pk.proto == "tcp" ? 40 : 28);
    if (payload < 0) payload = 0;
    {
        NetnsFile nsf = netns_open(ns_arg(send_ns));
        NetnsGuard g(nsf);
        int type = pk.proto == "tcp" ? SOCK_STREAM : pk.proto == "udp" ? SOCK_DGRAM : SOCK_RAW;
        sock = Fd(::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, pk.proto == "icmp" ? IPPROTO_ICMP : 0));
        if (!sock) throw Error(ErrorKind::Runtime, std::string("--probe: socket: ") + std::strerror(errno));
    }
    if (pk.mark) ::setsockopt(sock.get(), SOL_SOCKET, SO_MARK, &pk.mark, sizeof pk.mark);
    if (inj) {
        // the client's address; the port is the kernel's pick (read back below)
        sockaddr_in me{};
        me.sin_family = AF_INET;
        std::memcpy(&me.sin_addr, pk.src.b.data(), 4);
        if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&me), sizeof me) < 0)
            throw Error(ErrorKind::Runtime, "--probe: bind " + pk.src.str() + " in " + send_ns + ": " + std::strerror(errno));
    }
    if (!inj && pk.proto != "icmp") {
        // the kernel's port pick, known before the packet leaves (the rule trace matches on it)
        sockaddr_in any{};
        any.sin_family = AF_INET;
        ::bind(sock.get(), reinterpret_cast<sockaddr*>(&any), sizeof any);
    }
    uint16_t my_port = 0;
    {
        sockaddr_in me{};
        socklen_t ml = sizeof me;
        if (pk.proto != "icmp" && ::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&me), &ml) == 0) my_port = ntohs(me.sin_port);
    }
    // the counters along the path, before the packet (and before the rule trace's tables, which
    // are not iptables')
    auto counter_nss = counter_namespaces(r, world);
    std::vector<CounterSnapshot> counters_before = counters_read_all(counter_nss);
    // the kernel's rule trace, set for this packet only in each namespace of the path, on each
    // form it has there (the overlay's packet; the VXLAN packet carrying it), as it enters
    std::vector<std::unique_ptr<NfTrace>> traces;
    json nft_notes = json::array();
    {
        std::vector<std::pair<std::string, std::vector<NfTrace::Match>>> want;
        uint16_t first_sport = path.hops.empty() ? pk.sport : path.hops.front().packet.sport;
        for (auto& fork : r.paths)   // every path: where IPVS picks, the probe takes one of them
        for (size_t i = 0; i < fork.hops.size(); i++) {
            auto& h = fork.hops[i];
            // the header as the packet enters this hop: the one after the previous hop
            const TracePacket& q = i == 0 ? r.packet : fork.hops[i - 1].packet;
            const TracePacket& at = q.vni != h.packet.vni && h.stage == "encap" ? h.packet : q;
            NfTrace::Match m;
            m.proto = at.proto == "tcp" ? IPPROTO_TCP : at.proto == "udp" ? IPPROTO_UDP : IPPROTO_ICMP;
            if (!at.dst.valid()) continue;
            std::memcpy(&m.dst_be, at.dst.b.data(), 4);
            if (at.vni) {   // the VXLAN packet: its source port is a flow hash
                if (at.src.valid()) std::memcpy(&m.src_be, at.src.b.data(), 4);
                m.dport = at.dport;
            } else if (m.proto != IPPROTO_ICMP) {
                m.sport = at.sport && at.sport != first_sport ? at.sport : my_port;
                m.dport = at.dport;
            }
            auto it = std::find_if(want.begin(), want.end(), [&](auto& w) { return w.first == h.netns; });
            if (it == want.end()) it = want.insert(want.end(), {h.netns, {}});
            if (std::find(it->second.begin(), it->second.end(), m) == it->second.end()) it->second.push_back(m);
        }
        for (auto& [ns, ms] : want) {
            const json* n = world.netns(ns);
            bool legacy = false, nft = false;
            if (n && n->contains("netfilter") && (*n)["netfilter"].is_object()) {
                auto& nf = (*n)["netfilter"];
                for (auto& x : nf.value("rules", json::array())) (is_legacy(x) ? legacy : nft) = true;
                nft |= !nf.value("chains", json::array()).empty();   // a policy is traced too
            }
            if (legacy) nft_notes.push_back(ns + ": iptables-legacy rules, which the kernel's tracer (nf_tables only) cannot follow");
            if (!nft) continue;   // no nf_tables chain there: nothing the tracer could report
            auto t = std::make_unique<NfTrace>(ns, ns_arg(ns), ms);
            if (!t->ok()) nft_notes.push_back(ns + ": no rule trace (" + t->why() + ")");
            else traces.push_back(std::move(t));
            SignalGuard::check();
        }
    }
    SignalGuard::check();
    int pmtu = pk.df ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT;
    ::setsockopt(sock.get(), IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    std::memcpy(&to.sin_addr, pk.dst.b.data(), 4);
    to.sin_port = htons(pk.dport);
    std::string answer;
    auto fail_answer = [&](int e) {
        answer = e == ECONNREFUSED ? "refused" : e == EMSGSIZE ? "too big" : e == ENETUNREACH || e == EHOSTUNREACH ? "unreachable"
                                                                                                                     : std::strerror(e);
    };
    uint16_t echo_id = uint16_t(::getpid());
    if (pk.proto == "tcp") {
        if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) < 0 && errno != EINPROGRESS) fail_answer(errno);
    } else if (pk.proto == "udp") {
        std::string data(size_t(payload), 'p');
        if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) < 0 || ::send(sock.get(), data.data(), data.size(), 0) < 0)
            fail_answer(errno);
    } else {
        std::vector<uint8_t> m(8 + size_t(payload), 0x70);
        m[0] = ICMP_ECHO, m[1] = 0, m[2] = m[3] = 0;
        m[4] = uint8_t(echo_id >> 8), m[5] = uint8_t(echo_id), m[6] = 0, m[7] = 1;
        uint16_t c = csum(m.data(), m.size());
        m[2] = uint8_t(c >> 8), m[3] = uint8_t(c);
        if (::sendto(sock.get(), m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) fail_answer(errno);
    }
    // the probe's own conntrack tuple, read while the socket still holds its local address
    CtTuple tuple;
    tuple.proto = pk.proto == "tcp" ? IPPROTO_TCP : pk.proto == "udp" ? IPPROTO_UDP : IPPROTO_ICMP;
    tuple.dst = pk.dst;
    if (pk.proto == "icmp") {
        tuple.sport = echo_id;
    } else {
        sockaddr_in me{};
        socklen_t ml = sizeof me;
        if (::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&me), &ml) == 0 && me.sin_addr.s_addr) {
            tuple.src = IpAddr::from_bytes(AF_INET, &me.sin_addr);
            tuple.sport = ntohs(me.sin_port);
        }
        tuple.dport = pk.dport;
    }
    // wait for the answer (2 s), then 200 ms more for the captures
    auto t0 = std::chrono::steady_clock::now();
    auto deadline = t0 + std::chrono::seconds(2);
    bool answered = !answer.empty();
    if (answered) deadline = t0 + std::chrono::milliseconds(200);
    for (;;) {
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline) break;
        SignalGuard::check();
        std::vector<pollfd> fds;
        fds.push_back({sock.get(), short(answered ? 0 : pk.proto == "tcp" ? POLLOUT : POLLIN), 0});
        for (auto& w : ws) fds.push_back({pcap_get_selectable_fd(w.pc.get()), POLLIN, 0});
        int ms = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
        ::poll(fds.data(), fds.size(), std::min(ms, 50));
        for (auto& w : ws) pcap_dispatch(w.pc.get(), -1, on_pkt, reinterpret_cast<u_char*>(&w.packets));
        if (answered) continue;
        if (fds[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
            int e = 0;
            socklen_t l = sizeof e;
            ::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &e, &l);
            if (e) fail_answer(e);
            else if (pk.proto == "tcp") answer = "connected";
        }
        if (!answered && answer.empty() && (fds[0].revents & POLLIN)) {
            uint8_t buf[2048];
            ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
            if (n < 0) fail_answer(errno);
            else if (pk.proto == "udp") answer = "answered";
            else if (n >= 28 && size_t(n) >= size_t(buf[0] & 0x0f) * 4 + 8) {
                const uint8_t* ic = buf + (buf[0] & 0x0f) * 4;
                if (ic[0] == ICMP_ECHOREPLY && (uint16_t(ic[4] << 8 | ic[5]) == echo_id)) answer = "answered";
            }
        }
        if (!answer.empty()) {
            answered = true;
            deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
        }
    }
    if (answer.empty()) answer = pk.proto == "udp" ? "sent" : "timeout";

    json seen = json::array();
    const Watch* last = nullptr;
    for (auto& w : ws) {
        seen.push_back({{"netns", w.netns}, {"iface", w.iface}, {"filter", w.filter}, {"packets", w.packets}});
        if (w.packets) last = &w;
    }
    bool reached_end = !ws.empty() && ws.back().packets > 0;
    std::string got = answer == "connected" || answer == "answered" ? "delivered"
                      : answer == "refused"                           ? "refused"
                      : (answer == "sent" || (inj && answer == "timeout")) && reached_end ? "delivered"
                                                                      : "dropped";
    auto outcome_agrees = [&](const TracePath& p) {
        if (p.outcome == "delivered" || p.outcome == "left") return got == "delivered";
        if (p.code == "NO_LISTENER") return got == "refused";
        return got == "dropped";
    };
    bool agrees = false;
    for (auto& p : r.paths) agrees |= outcome_agrees(p);
    std::string ct_differs;
    bool ct_agrees = true;
    std::map<std::string, CtTuple> arrive;
    json ct = tuple.proto == IPPROTO_ICMP || tuple.src.valid() ? conntrack_entries(path, tuple, ct_agrees, ct_differs, arrive) : json::array();
    std::string lb_differs;
    bool lb_agrees = true;
    json lbs = ipvs_entries(r, arrive, tuple, ws, got, lb_agrees, lb_differs);
    json j = json::object();
    j["answer"] = answer;
    j["outcome"] = got;
    j["seen"] = std::move(seen);
    j["last_seen"] = last ? json(last->netns + " " + last->iface) : json();
    j["injected"] = inj ? json(inj->where()) : json();
    // the rules the kernel really ran the packet through, beside the computed ones
    struct Seen {
        NfTrace::Event e;
        std::string ns, text;   // text: the rule as iptables-save prints it, "policy X", or ""
    };
    std::vector<Seen> events;
    std::map<std::string, std::set<std::string>> legacy;   // netns -> "table chain -A ...": invisible
    json traced = json::array();
    for (auto& t : traces) {
        const std::string& ns = t->netns();
        traced.push_back(ns);
        const json* n = world.netns(ns);
        std::map<std::pair<std::string, std::string>, std::vector<const json*>> rules;
        if (n && n->contains("netfilter") && (*n)["netfilter"].is_object() && (*n)["netfilter"].contains("rules"))
            for (auto& x : (*n)["netfilter"]["rules"]) {   // pointers kept: the world's own, not a copy
                if (!x.is_object()) continue;
                if (is_legacy(x)) legacy[ns].insert(x.value("table", "") + " " + x.value("chain", "") + " -A " + x.value("chain", "") + " " + x.value("spec", ""));
                else rules[{x.value("table", ""), x.value("chain", "")}].push_back(&x);
            }
        for (auto& [k, v] : rules)
            std::stable_sort(v.begin(), v.end(), [](auto* a, auto* b) { return a->value("position", 0) < b->value("position", 0); });
        for (auto& e : t->events()) {
            // a return is implied; a rule event without a handle names no rule (the kernel
            // dumps the packet's headers with it)
            if ((e.type != NFT_TRACETYPE_RULE || !e.handle) && e.type != NFT_TRACETYPE_POLICY) continue;
            std::string text;
            if (e.type == NFT_TRACETYPE_POLICY) text = "policy " + e.verdict;
            else if (auto& v = rules[{e.table, e.chain}]; e.position >= 1 && size_t(e.position) <= v.size())
                text = "-A " + e.chain + " " + v[size_t(e.position) - 1]->value("spec", "");
            events.push_back({e, ns, text});
        }
    }
    // each path against the observed rules: the hop naming each, and the differences; the
    // rules are compared with the path they differ least from (where IPVS forks, the probe
    // took one of the paths)
    struct Cmp {
        std::vector<std::optional<size_t>> hop;
        std::vector<std::string> differs;
    };
    auto compare = [&](const TracePath& p, bool outcome_agrees) {
        Cmp c;
        std::set<size_t> used;
        std::set<std::string> reached;
        for (auto& x : events) {
            // the first hop naming that rule not matched yet; else one already matched: the
            // kernel may run a chain again for the same packet (IPVS sends it through OUTPUT
            // once more), a rule the path has all the same
            std::optional<size_t> hop, again;
            for (size_t i = 0; i < p.hops.size() && !hop && !x.text.empty(); i++) {
                auto& h = p.hops[i];
                if (h.netns == x.ns && h.stage == "netfilter" && h.object == x.e.table + " " + x.e.chain && h.entry == x.text)
                    (used.count(i) ? again : hop) = i;
            }
            if (!hop) hop = again;
            if (hop) used.insert(*hop);
            reached.insert(x.ns);
            // a chain's ACCEPT policy: the computed trace leaves it out where the chain has no rule
            if (!hop && (x.e.type == NFT_TRACETYPE_RULE || x.e.verdict != "ACCEPT"))
                c.differs.push_back("nftrace in " + x.ns + " " + x.e.table + " " + x.e.chain + ": the kernel ran " +
                                    (x.text.empty() ? "rule handle " + std::to_string(x.e.handle) : x.text) + " (" + x.e.verdict + "), not computed");
            c.hop.push_back(hop);
        }
        // a computed rule the kernel did not run, where the packet went the computed way
        for (auto& ns : traced)
            if (outcome_agrees || reached.count(ns.get<std::string>()))
                for (size_t i = 0; i < p.hops.size(); i++) {
                    auto& h = p.hops[i];
                    if (h.netns != ns.get<std::string>() || h.stage != "netfilter" || used.count(i) || legacy[h.netns].count(h.object + " " + h.entry)) continue;
                    if (h.entry == "policy ACCEPT") continue;   // not every kernel keeps an empty chain
                    c.differs.push_back("nftrace in " + h.netns + " " + h.object + ": computed " + h.entry + ", the kernel did not run it");
                }
        return c;
    };
    size_t best = 0, best_score = 0;
    Cmp cmp;
    for (size_t k = 0; k < r.paths.size(); k++) {
        bool oa = outcome_agrees(r.paths[k]);
        Cmp c = compare(r.paths[k], oa);
        size_t score = (oa ? 0 : 1000) + c.differs.size();
        if (k == 0 || score < best_score) best = k, best_score = score, cmp = std::move(c);
    }
    json hit = json::array();
    for (size_t i = 0; i < events.size(); i++) {
        auto& x = events[i];
        hit.push_back({{"netns", x.ns}, {"table", x.e.table}, {"chain", x.e.chain},
                       {"position", x.e.position ? json(x.e.position) : json()}, {"rule", x.text.empty() ? json() : json(x.text)},
                       {"verdict", x.e.verdict}, {"computed", bool(cmp.hop[i])}, {"hop", cmp.hop[i] ? json(*cmp.hop[i]) : json()}});
    }
    std::vector<std::string>& nft_differs = cmp.differs;
    traces.clear();   // the trace rules go now
    // the counters that moved meanwhile (the probe's packets, its answer, and any other traffic)
    json moved = schema::DomWriter::value(counters_moved(counters_before, counters_read_all(counter_nss)));
    j["rules"] = std::move(hit);
    j["path"] = best;
    j["traced"] = std::move(traced);
    j["nftrace"] = std::move(nft_notes);
    j["conntrack"] = std::move(ct);
    j["ipvs"] = std::move(lbs);
    j["moved"] = std::move(moved);
    std::string nft_diff;
    for (auto& d : nft_differs) nft_diff += (nft_diff.empty() ? "" : "; ") + d;
    // the rules apart: the computed model and the kernel's tracer still part on some paths
    // (IPVS for a VIP local to the sandbox: caught at OUTPUT, traced no further)
    j["rules_agree"] = nft_differs.empty();
    j["rules_differ"] = nft_differs.empty() ? json() : json(nft_diff);
    j["agrees"] = agrees && ct_agrees && lb_agrees;
    j["differs"] = agrees ? (!ct_agrees ? json(ct_differs) : !lb_agrees ? json(lb_differs) : json()) : json("computed " + path.outcome + (path.code.empty() ? "" : " " + path.code) + ", the probe " + got +
                                          " (" + answer + (last ? ", last seen leaving " + last->netns + " " + last->iface : ", seen nowhere") + ")");
    return j;
}

}  // namespace ovnet::tool
