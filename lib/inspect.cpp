#include "ovnet/inspect.hpp"

#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <fmt/format.h>
#include <set>
#include <sstream>

#include "ovnet/addr.hpp"
#include "ovnet/docker.hpp"
#include "ovnet/error.hpp"
#include "ovnet/fd.hpp"
#include "ovnet/netlink.hpp"
#include "ovnet/netns.hpp"

namespace ovnet {

// ---- netfilter ---------------------------------------------------------------------------------

namespace {

bool kept_table(const std::string& t) { return t == "raw" || t == "mangle" || t == "nat" || t == "filter"; }

// "[12:3456]" -> counters; nullopt when the text is not that.
bool parse_counters(std::string_view s, uint64_t& p, uint64_t& b) {
    if (s.size() < 5 || s.front() != '[' || s.back() != ']') return false;
    auto colon = s.find(':');
    if (colon == std::string_view::npos) return false;
    auto num = [](std::string_view v, uint64_t& out) {
        if (v.empty()) return false;
        out = 0;
        for (char c : v) {
            if (c < '0' || c > '9') return false;
            out = out * 10 + uint64_t(c - '0');
        }
        return true;
    };
    return num(s.substr(1, colon - 1), p) && num(s.substr(colon + 1, s.size() - colon - 2), b);
}


}  // namespace

void NfRule::parse_spec() {
    auto w = ipt_words(spec);
    matches.clear();
    for (size_t i = 0; i < w.size(); i++) {
        bool neg = w[i] == "!" && i + 1 < w.size();
        size_t k = neg ? i + 1 : i;
        const std::string& o = w[k];
        bool has_arg = k + 1 < w.size();
        std::string arg = has_arg ? (neg ? "!" : "") + w[k + 1] : std::string();
        auto take = [&](std::string& field) {
            if (!has_arg) return false;
            field = arg;
            i = k + 1;
            return true;
        };
        if (o == "-p" || o == "--protocol") take(protocol);
        else if (o == "-s" || o == "--source") take(source);
        else if (o == "-d" || o == "--destination") take(destination);
        else if (o == "-i" || o == "--in-interface") take(in_iface);
        else if (o == "-o" || o == "--out-interface") take(out_iface);
        else if ((o == "-m" || o == "--match") && has_arg) {
            matches.push_back(w[k + 1]);
            i = k + 1;
        } else if ((o == "-j" || o == "--jump" || o == "-g" || o == "--goto") && has_arg) {
            target = w[k + 1];
            i = k + 1;
        }
    }
}

Netfilter Netfilter::parse(const std::vector<IptSaveText>& outputs) {
    Netfilter nf;
    // (table, chain, spec) -> counters, backend; the first backend printing a rule wins (as in
    // ipt_merge, whose order the rules take).
    struct Seen { std::optional<uint64_t> p, b; std::string backend; };
    std::map<std::tuple<std::string, std::string, std::string>, Seen> seen;
    std::map<std::pair<std::string, std::string>, NfChain> chains;
    for (auto& o : outputs) {
        nf.backends.push_back(o.backend);
        nf.text[o.backend] = o.text;
        nf.state = ipt_merge(std::move(nf.state), IptState::parse(o.text));
        std::istringstream in(o.text);
        std::string line, table;
        while (std::getline(in, line)) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.empty() || line[0] == '#') continue;
            if (line[0] == '*') {
                table = line.substr(1);
            } else if (line[0] == ':') {
                // ":CHAIN POLICY [p:b]"
                std::istringstream ls(line.substr(1));
                std::string name, policy, cnt;
                ls >> name >> policy >> cnt;
                auto [it, fresh] = chains.try_emplace({table, name});
                if (!fresh) continue;
                it->second.table = table;
                it->second.name = name;
                if (policy != "-") it->second.policy = policy;
                uint64_t p, b;
                if (parse_counters(cnt, p, b) && policy != "-") it->second.packets = p, it->second.bytes = b;
            } else {
                std::optional<uint64_t> p, b;
                std::string rest = line;
                if (line[0] == '[') {
                    auto e = line.find("] ");
                    uint64_t pp, bb;
                    if (e != std::string::npos && parse_counters(std::string_view(line).substr(0, e + 1), pp, bb))
                        p = pp, b = bb;
                    rest = e == std::string::npos ? std::string() : line.substr(e + 2);
                }
                if (rest.rfind("-A ", 0) != 0) continue;
                auto sp = rest.find(' ', 3);
                std::string c = rest.substr(3, sp == std::string::npos ? std::string::npos : sp - 3);
                std::string spec = sp == std::string::npos ? std::string() : rest.substr(sp + 1);
                seen.try_emplace({table, c, spec}, Seen{p, b, o.backend});
            }
        }
    }
    for (auto& [tname, t] : nf.state.tables) {
        if (!kept_table(tname)) continue;
        for (auto& c : t.chains) {
            auto it = chains.find({tname, c});
            nf.chains.push_back(it != chains.end() ? it->second : NfChain{tname, c, {}, {}, {}});
            int pos = 0;
            for (auto& spec : t.chain_rules(c)) {
                NfRule r;
                r.table = tname;
                r.chain = c;
                r.position = ++pos;
                r.spec = spec;
                r.parse_spec();
                if (auto s = seen.find({tname, c, spec}); s != seen.end()) {
                    r.packets = s->second.p;
                    r.bytes = s->second.b;
                    r.backend = s->second.backend;
                }
                nf.rules.push_back(std::move(r));
            }
        }
    }
    return nf;
}

// ---- networks view -------------------------------------------------------------------------------

std::optional<std::string> docker_network_id(const std::string& name) {
    auto alnum = [](std::string_view s) {
        return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(uint8_t(c)); });
    };
    // ov-%06x-<id5> / vx-%06x-<id5>
    if (name.size() > 10 && (name.rfind("ov-", 0) == 0 || name.rfind("vx-", 0) == 0) && name[9] == '-' &&
        std::all_of(name.begin() + 3, name.begin() + 9, [](char c) { return std::isxdigit(uint8_t(c)); }) &&
        alnum(std::string_view(name).substr(10)))
        return name.substr(10);
    // Docker's overlay sandbox: "1-<id10>" (the network id's first 10 characters).
    if (name.size() > 2 && name.rfind("1-", 0) == 0 && alnum(std::string_view(name).substr(2))) return name.substr(2);
    return std::nullopt;
}

namespace {
bool in_subnets(const std::vector<Prefix>& nets, const IpAddr& a) {
    if (!a.valid()) return false;
    for (auto& n : nets)
        if (n.addr.family == a.family && Prefix{a, n.len}.network().addr == n.addr) return true;
    return false;
}
// Docker marks an encrypted overlay's VXLAN packets for its xfrm policies with a mangle rule in
// the namespace of the VTEP's socket: "-p udp --dport 4789 -m u32 --u32 "0>>22&0x3C@12&0xFFFFFF00=
// 0x<vni << 8>" -j MARK --set-xmark 0xd0c4e3/0xffffffff". Null when that namespace's rules were not read.
std::optional<bool> docker_encrypted(const std::map<std::string, NetnsState>& netns, const std::string& own,
                                     const Vtep& vt) {
    auto it = netns.find(vt.link_netns.empty() ? own : vt.link_netns);
    if (it == netns.end() || !it->second.netfilter) return std::nullopt;
    std::string vni = fmt::format("=0x{:x}", vt.vxlan.vni << 8), port = fmt::format("--dport {} ", vt.vxlan.port);
    for (auto& r : it->second.netfilter->rules)
        if (r.table == "mangle" && r.target == "MARK" && r.spec.find(port) != std::string::npos &&
            r.spec.find(vni) != std::string::npos && r.spec.find("--set-xmark 0xd0c4e3") != std::string::npos)
            return true;
    return false;
}

}  // namespace

std::vector<Network> networks_view(const std::map<std::string, NetnsState>& netns) {
    std::vector<Network> out;
    // All service rows of the node, to place by subnet.
    std::vector<const LbService*> services;
    std::vector<const PublishSpec*> published;
    for (auto& [label, ns] : netns) {
        for (auto& s : ns.lb_services) services.push_back(&s);
        for (auto& p : ns.published) published.push_back(&p);
    }
    for (auto& [label, ns] : netns) {
        for (auto& br : ns.bridges) {
            const Vtep* vt = nullptr;
            for (auto& v : ns.vteps)
                if (v.master == br.name) {
                    vt = &v;
                    break;
                }
            if (!vt) continue;
            Network n;
            n.netns = label;
            n.bridge = br.name;
            n.vtep = vt->name;
            n.vni = vt->vxlan.vni;
            n.mtu = br.mtu;
            n.port = vt->vxlan.port;
            n.local = vt->vxlan.local;
            n.encrypted = docker_encrypted(netns, label, *vt);
            n.id = docker_network_id(br.name);
            if (!n.id) n.id = docker_network_id(vt->name);
            if (!n.id) n.id = docker_network_id(ns.name);
            auto add_subnet = [&](const Prefix& p) {
                if (p.addr.family != AF_INET && p.addr.family != AF_INET6) return;
                Prefix net = p.network();
                if (std::find_if(n.subnets.begin(), n.subnets.end(), [&](auto& x) { return x.str() == net.str(); }) ==
                    n.subnets.end())
                    n.subnets.push_back(net);
            };
            for (auto& a : br.addresses) add_subnet(a);
            for (auto& port : br.ports) {
                if (port.kind != "veth") continue;
                NetworkEndpoint e;
                e.host_ifname = port.name;
                if (port.peer) {
                    // A peer label "" means the bridge's own namespace.
                    e.sandbox = port.peer->netns.empty() ? label : port.peer->netns;
                    e.ifname = port.peer->ifname;
                    if (auto it = netns.find(e.sandbox); it != netns.end()) {
                        e.container = it->second.container;
                        for (auto& itf : it->second.interfaces)
                            if (itf.ifindex == port.peer->ifindex) {
                                e.ifname = itf.ifname;
                                e.mac = itf.mac;
                                e.addresses = itf.addresses;
                            }
                    }
                }
                for (auto& a : e.addresses) add_subnet(a);
                n.endpoints.push_back(std::move(e));
            }
            if (auto it = ns.peers.find(vt->name); it != ns.peers.end()) {
                std::set<std::string> hosts;
                for (auto& p : it->second) {
                    if (p.status == "local") continue;
                    n.peers.push_back(p);
                    if (p.vtep.valid() && hosts.insert(p.vtep.str()).second) n.peer_hosts.push_back(p.vtep);
                }
                std::sort(n.peer_hosts.begin(), n.peer_hosts.end(),
                          [](const IpAddr& a, const IpAddr& b) { return a.str() < b.str(); });
            }
            // A load balancer serves this overlay when its namespace is attached to it (Docker's
            // lb_<id> and ingress_sbox are endpoints of the overlay's bridge) or is the bridge's
            // own, and the VIP (or the backends) are on the overlay's subnets. On one machine
            // holding several nodes (tests, labs) every node has such a namespace: only the one
            // attached here counts.
            std::set<std::string> attached{label};
            for (auto& e : n.endpoints)
                if (!e.sandbox.empty()) attached.insert(e.sandbox);
            for (auto* s : services)
                if (attached.count(s->netns) && in_subnets(n.subnets, s->vip)) n.services.push_back(*s);
            for (auto* p : published) {
                bool mine = in_subnets(n.subnets, p->lb_ip);
                for (auto& b : p->backends) mine |= in_subnets(n.subnets, b);
                if (attached.count(p->sbox) && mine) n.published.push_back(*p);
            }
            out.push_back(std::move(n));
        }
    }
    return out;
}

// ---- reading a node ------------------------------------------------------------------------------

const std::vector<std::string>& inspect_sysctls() {
    static const std::vector<std::string> k{
        "net.ipv4.ip_forward",
        "net.ipv4.vs.conntrack",
        "net.ipv4.vs.conn_reuse_mode",
        "net.ipv4.vs.expire_nodest_conn",
        "net.ipv4.vs.expire_quiescent_template",
        "net.ipv4.conf.all.route_localnet",
        "net.ipv4.neigh.default.gc_thresh1",
        "net.ipv4.neigh.default.gc_thresh2",
        "net.ipv4.neigh.default.gc_thresh3",
    };
    return k;
}

namespace {

std::string scope_name(uint8_t s) {
    switch (s) {
        case RT_SCOPE_UNIVERSE: return "global";
        case RT_SCOPE_LINK: return "link";
        case RT_SCOPE_HOST: return "host";
        case RT_SCOPE_SITE: return "site";
        default: return std::to_string(s);
    }
}

// Reads sysctls with the calling thread inside the namespace (one setns for all of them):
// /proc/sys/net shows the namespace of the task that opens it.
void read_sysctls(const NetnsFile& nsf, NetnsState& ns) {
    std::vector<std::string> keys = inspect_sysctls();
    for (auto& b : ns.bridges) keys.push_back("net.ipv4.conf." + b.name + ".route_localnet");
    NetnsGuard g(nsf);
    for (auto& k : keys) {
        std::string p = "/proc/sys/" + k;
        std::replace(p.begin() + 10, p.end(), '.', '/');
        // Interface names may hold dots: the per-bridge key is built from the name, not split.
        if (k.rfind("net.ipv4.conf.", 0) == 0 && k != "net.ipv4.conf.all.route_localnet") {
            std::string ifn = k.substr(14, k.size() - 14 - std::string(".route_localnet").size());
            p = "/proc/sys/net/ipv4/conf/" + ifn + "/route_localnet";
        }
        Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) {
            if (errno == ENOENT) {
                ns.sysctls[k] = std::nullopt;
                continue;
            }
            throw_sys(errno, "read " + p);
        }
        char buf[256];
        ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
        if (n < 0) throw_sys(errno, "read " + p);
        std::string v(buf, size_t(n));
        while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
        ns.sysctls[k] = v;
    }
}

// One namespace: one link, address and route dump, the fdb of each VTEP, IPVS, the rules.
void read_netns(const NetnsInfo& info, NetnsState& ns, bool peers) {
    NetnsFile nsf = info.path.empty() ? NetnsFile() : netns_open(info.path);
    Handle h(nsf);
    auto links = link_list(h);
    auto addrs = addr_list(h);
    PeerResolver pr(h, &links);
    auto name_of = [&](int idx) -> std::string {
        for (auto& l : links)
            if (l.ifindex == idx) return l.name;
        return idx ? std::to_string(idx) : std::string();
    };
    for (auto& l : links) {
        LinkView v;
        v.name = l.name;
        v.ifindex = l.ifindex;
        v.kind = l.kind;
        v.mac = l.mac;
        v.mtu = l.mtu;
        v.up = l.up;
        v.operstate = l.operstate;
        v.master = l.master ? name_of(l.master) : std::string();
        if (l.kind == "veth" && l.link) v.peer = pr.resolve(l.link_netnsid, l.link);
        ns.links.push_back(std::move(v));
    }
    ns.bridges = bridge_show(h, links, addrs, pr);
    ns.vteps = vtep_show(h, links, pr);
    for (auto& b : ns.bridges) b.netns = ns.label;
    for (auto& v : ns.vteps) v.netns = ns.label;
    ns.interfaces = sbox_interfaces(links, addrs, pr);
    for (auto& a : addrs) ns.addresses.push_back({name_of(a.ifindex), a.ifindex, a.prefix, scope_name(a.scope)});
    std::vector<Route> routes = route_list(h, AF_INET);
    for (auto& r : route_list(h, AF_INET6)) routes.push_back(r);
    for (auto& r : routes) ns.routes.push_back(SandboxRoute::of(r, ns.interfaces));
    if (peers)
        for (auto& v : ns.vteps) ns.peers[v.name] = fdb_show(h, v.name);
    try {
        IpvsHandle ih(nsf.path());
        ns.ipvs = ipvs_list(ih);
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::Runtime || e.err() != ENOENT) throw;
        ns.ipvs_error = e.what();
    }
    try {
        ns.netfilter = Netfilter::parse(ipt_save_all(nsf.path(), {"-c"}));
    } catch (const Error& e) {
        // No iptables binary at all, or one that fails: the rest of the snapshot still stands.
        ns.netfilter_error = e.what();
    }
    try {
        Handle xh(nsf, NETLINK_XFRM);
        ns.xfrm = xfrm_read(xh);
    } catch (const Error& e) {
        // A kernel without CONFIG_XFRM_USER: the rest of the snapshot still stands.
        ns.xfrm_error = e.what();
    }
    read_sysctls(nsf, ns);
    if (ns.netfilter)
        ns.lb_services = lb_rows(ns.netfilter->state, ns.ipvs ? &*ns.ipvs : nullptr, addrs, name_of, ns.label);
}

std::string now_utc() {
    std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa, sb;
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// The published ports of a host namespace: its DNAT rules (ovnet's OVNET-INGRESS, Docker's
// DOCKER-INGRESS) lead to the sandbox that holds the DNAT address.
void place_published(std::map<std::string, NetnsState>& all) {
    for (auto& [label, host] : all) {
        if (!host.netfilter) continue;
        auto& nat = host.netfilter->state.table("nat");
        std::set<std::string> gws;
        for (const char* c : {kIngressChain, kDockerIngressChain})
            for (auto& r : nat.chain_rules(c))
                if (auto d = parse_dnat_rule(r)) gws.insert(d->gw_ip.str());
        if (gws.empty()) continue;
        std::set<std::string> sboxes;
        for (auto& [l2, ns] : all) {
            if (l2 == label) continue;
            for (auto& a : ns.addresses)
                if (gws.count(a.address.addr.str())) sboxes.insert(l2);
        }
        // On one machine holding several nodes (labs, tests) every node's ingress sandbox has the
        // same gateway address (172.18.0.2): the host's own is the one on its bridges (Docker's
        // docker_gwbridge). Without such a sandbox, every one holding the address is kept.
        std::set<std::string> on_host;
        for (auto& br : host.bridges)
            for (auto& port : br.ports)
                if (port.peer && sboxes.count(port.peer->netns)) on_host.insert(port.peer->netns);
        if (!on_host.empty()) sboxes = std::move(on_host);
        for (auto& sb : sboxes) {
            auto& s = all.at(sb);
            if (!s.netfilter) continue;
            for (auto& p : publish_rows(host.netfilter->state, s.netfilter->state, s.ipvs ? &*s.ipvs : nullptr, label, sb))
                host.published.push_back(std::move(p));
        }
    }
}

}  // namespace

Snapshot inspect_node(const InspectOptions& opt) {
    Snapshot snap;
    char hn[256] = {};
    if (::gethostname(hn, sizeof hn - 1) == 0) snap.host = hn;
    snap.time = now_utc();
    std::vector<NetnsInfo> list;
    bool only = !opt.netns.empty() || !opt.names.empty();
    if (only) {
        std::vector<std::string> names = opt.names;
        if (!opt.netns.empty()) names.insert(names.begin(), opt.netns);
        for (auto& n : names) {
            std::string path = netns_resolve(n);
            list.push_back({n, path, netns_source(path), n});
        }
    } else {
        list = netns_list(true);
        // The caller's namespace is read through "" (no setns). It is "root" when it is PID 1's;
        // else (ovnet run inside a container, or PID 1's namespace cannot be opened) it is "self",
        // and PID 1's is read only when it can be opened.
        bool root_is_self = same_file("/proc/self/ns/net", kNetnsRootPath);
        bool listed = false;
        for (auto& n : list) {
            if (n.source == "root") {
                if (root_is_self) n.path.clear(), listed = true;
                continue;
            }
            listed |= same_file(n.path, "/proc/self/ns/net");
        }
        if (!listed) list.insert(list.begin(), NetnsInfo{"self", "", "self", "self"});
    }
    for (auto& info : list) {
        NetnsState ns;
        ns.label = info.label;
        ns.name = info.name;
        ns.path = info.path;
        ns.source = info.source;
        if (info.source == "docker" || info.source == "path") ns.container = docker_container_of(info.path);
        try {
            read_netns(info, ns, opt.peers);
        } catch (const Error& e) {
            if (only) throw;
            // PID 1's namespace is out of reach inside a container (its /proc entry is denied
            // even to root there): the caller's is read as "self" instead.
            if (info.source == "root" && !info.path.empty()) continue;
            if (e.err() == EPERM || e.err() == EACCES) throw;
            continue;   // vanished while read, or not a namespace: left out, as sbox_show does
        }
        snap.netns.emplace(ns.label, std::move(ns));
    }
    place_published(snap.netns);
    snap.networks = networks_view(snap.netns);
    return snap;
}

}  // namespace ovnet
