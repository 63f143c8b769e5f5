// Service load balancing (see ovnet/lb.hpp): one service VIP in a load-balancer namespace. The
// pure pieces (rule text for OVNET-LB and OVNET-LB-SNAT and their parsers, mark allocation,
// lb_chains), the LbService object, lb_add/lb_del/lb_list, and the helpers the routing mesh
// (mesh.cpp) shares with it (lb_internal.hpp). The saved sysctls live in sysctl_store.cpp.
#include "ovnet/lb.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <fmt/format.h>
#include <regex>
#include <thread>

#include "lb_internal.hpp"
#include "ovnet/addr.hpp"
#include "ovnet/error.hpp"
#include "ovnet/link.hpp"
#include "ovnet/netlink.hpp"
#include "ovnet/netns.hpp"
#include "ovnet/schema.hpp"

namespace ovnet {

// ---------------------------------------------------------------- shared with mesh.cpp

namespace detail {

std::string hex(uint32_t m) { return fmt::format("0x{:x}", m); }

std::optional<uint32_t> parse_hex_mark(const std::string& s) {
    try {
        size_t n = 0;
        unsigned long v = std::stoul(s, &n, 16);
        if (n != s.size() || v > 0xffffffffUL) return std::nullopt;
        return uint32_t(v);
    } catch (...) {
        return std::nullopt;
    }
}

Sysctls lb_sysctl_list() {
    return {{"net.ipv4.vs.conntrack", "1"},
            {"net.ipv4.vs.conn_reuse_mode", "0"},
            {"net.ipv4.vs.expire_nodest_conn", "1"},
            {"net.ipv4.vs.expire_quiescent_template", "1"},
            {"net.ipv4.ip_forward", "1"}};
}

void check_backends(const std::string& obj, const std::vector<IpAddr>& backends) {
    if (backends.empty()) throw_input(obj, "backends", "", "at least one --backend is required");
    std::vector<IpAddr> seen;
    for (auto& b : backends) {
        if (b.family != AF_INET) throw_input(obj, "backend", b.str(), "backends are IPv4 addresses");
        if (!is_unicast_host(b)) throw_input(obj, "backend", b.str(), "not a unicast host address");
        if (std::find(seen.begin(), seen.end(), b) != seen.end())
            throw_input(obj, "backend", b.str(), "appears twice");
        seen.push_back(b);
    }
}

void check_drain(const std::string& obj, unsigned drain) {
    if (drain > kMaxDrain) throw_input(obj, "drain", std::to_string(drain), fmt::format("must be at most {} seconds", kMaxDrain));
}

std::vector<IpAddr> dest_addrs(const std::vector<IpvsDest>& ds) {
    std::vector<IpAddr> v;
    for (auto& d : ds) v.push_back(d.addr);
    return v;
}

std::optional<IpvsService> find_fwm(const std::vector<IpvsService>& l, uint32_t mark) {
    for (auto& s : l)
        if (s.protocol == "fwm" && s.fwmark == mark && s.af == AF_INET) return s;
    return std::nullopt;
}

std::set<uint32_t> ipvs_marks(const std::vector<IpvsService>& l) {
    std::set<uint32_t> m;
    for (auto& s : l)
        if (s.protocol == "fwm") m.insert(s.fwmark);
    return m;
}

std::optional<Addr> find_addr(const std::vector<Addr>& addrs, const IpAddr& want, const IpAddr& probe,
                              const std::optional<Prefix>& subnet, const IpAddr& exclude) {
    for (auto& a : addrs) {
        if (a.prefix.addr.family != AF_INET || a.prefix.addr == exclude) continue;
        if (want.valid()) {
            if (a.prefix.addr == want) return a;
            continue;
        }
        if (subnet ? contains(*subnet, a.prefix.addr) : (a.prefix.len < 32 && contains(a.prefix.network(), probe)))
            return a;
    }
    return std::nullopt;
}

std::string ifname_of(Handle& h, int ifindex) {
    auto l = link_get(h, ifindex);
    return l ? l->name : std::to_string(ifindex);
}

void ipvs_converge(IpvsHandle& ih, const std::vector<IpvsService>& services, uint32_t mark, const std::string& sched,
                   const std::vector<IpAddr>& backends, unsigned drain, Changes& ch) {
    auto cur = find_fwm(services, mark);
    std::vector<IpAddr> draining;
    if (cur && drain)
        for (auto& d : cur->dests)
            if (std::find(backends.begin(), backends.end(), d.addr) == backends.end()) draining.push_back(d.addr);
    if (!draining.empty()) {
        auto c1 = ipvs_apply(ih, {lb_ipvs_service(mark, sched, backends, draining)}, false, nullptr, &services);
        for (auto& c : c1) if (c.action != Action::Unchanged) ch.push_back(c);
        std::string who;
        for (auto& d : draining) who += (who.empty() ? "" : " ") + d.str();
        ch.push_back(Change{Action::Changed, fmt::format("fwm {}: {} (weight 0 for {} s)", mark, who, drain), "draining"});
        std::this_thread::sleep_for(std::chrono::seconds(drain));
    }
    // After a drain the kernel's services changed: read again.
    auto c2 = ipvs_apply(ih, {lb_ipvs_service(mark, sched, backends)}, false, nullptr, draining.empty() ? &services : nullptr);
    for (auto& c : c2) ch.push_back(c);
}

void drain_service(IpvsHandle& ih, uint32_t mark, unsigned drain, Changes& ch, const std::string& where) {
    if (!drain) return;
    auto sv = find_fwm(ipvs_list(ih), mark);
    if (!sv || sv->dests.empty()) return;
    auto zero = ipvs_apply(ih, {lb_ipvs_service(mark, sv->scheduler, {}, dest_addrs(sv->dests))}, false);
    for (auto& c : zero)
        if (c.action != Action::Unchanged) ch.push_back(c);
    std::string who;
    for (auto& d : sv->dests) who += (who.empty() ? "" : " ") + d.addr.str();
    ch.push_back(Change{Action::Changed, fmt::format("fwm {}{}: {} (weight 0 for {} s)", mark, where, who, drain), "draining"});
    std::this_thread::sleep_for(std::chrono::seconds(drain));
}

void restore_plan(const std::string& netns_path, const IptPlan& plan, const std::string& where, LbResult& res) {
    if (!plan.payload.empty()) {
        ipt_restore(netns_path, plan.payload);
        res.restores++;
    }
    for (auto c : plan.changes) {
        c.object += where;
        res.changes.push_back(std::move(c));
    }
}

Changes tidy(const Changes& ch, const std::string& object) {
    if (!any_change(ch)) return {Change{Action::Unchanged, object}};
    Changes out;
    for (auto& c : ch)
        if (c.action != Action::Unchanged) out.push_back(c);
    return out;
}

IptChain snat_chain(const IptState& cur, const std::optional<SnatRule>& add, const std::optional<Prefix>& drop) {
    IptChain c{"nat", kLbSnatChain, {}, {{"POSTROUTING", std::string("-j ") + kLbSnatChain}}};
    for (auto& r : cur.table("nat").chain_rules(kLbSnatChain)) {
        auto s = parse_snat_rule(r);
        if (s && add && s->subnet.network() == add->subnet.network()) continue;   // replaced below
        if (s && drop && s->subnet.network() == drop->network()) continue;
        c.rules.push_back(r);
    }
    if (add) c.rules.push_back(lb_snat_rule(add->subnet, add->lb_ip));
    return c;
}

bool subnet_in_use(const std::vector<std::string>& mark_rules, const std::vector<std::string>& port_rules,
                   const Prefix& subnet) {
    for (auto& r : mark_rules)
        if (auto m = parse_mark_rule(r); m && contains(subnet, m->vip)) return true;
    for (auto& r : port_rules)
        if (parse_port_mark_rule(r)) return true;   // the ingress ports balance onto their subnet
    return false;
}

json ipvs_dests_json(const std::optional<IpvsService>& sv) {
    json a = json::array();
    if (sv)
        for (auto& d : sv->dests) a.push_back(d.to_json());
    return a;
}

json ipvs_service_json(const std::optional<IpvsService>& sv, const std::string& netns) {
    if (!sv) return json();
    json j = json::object();
    if (!netns.empty()) j["netns"] = netns;
    json sj = sv->to_json();   // named: items() of a temporary would dangle
    for (auto& [k, v] : sj.items()) j[k] = std::move(v);
    return j;
}

}  // namespace detail

using namespace detail;

// ---------------------------------------------------------------- pure pieces

bool lb_scheduler_known(const std::string& s) {
    auto& l = ipvs_schedulers();
    return std::find(l.begin(), l.end(), s) != l.end();
}

uint32_t lb_parse_fwmark(const std::string& object, const std::string& s) {
    bool hexa = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    std::string digits = hexa ? s.substr(2) : s;
    bool ok = !digits.empty() && digits.size() <= 12;
    for (char c : digits) ok &= hexa ? std::isxdigit((unsigned char)c) != 0 : std::isdigit((unsigned char)c) != 0;
    if (!ok) throw_input(object, "fwmark", s, "not a number (decimal, or hex with 0x)");
    unsigned long long v = std::stoull(digits, nullptr, hexa ? 16 : 10);
    if (v == 0 || v > 0xffffffffULL) throw_input(object, "fwmark", s, "must be in 1..4294967295");
    return uint32_t(v);
}

uint32_t lb_alloc_mark(const std::set<uint32_t>& used) {
    uint32_t m = kFirstFwmark;
    while (used.count(m)) {
        if (m == 0xffffffffu) throw_input({}, "fwmark", "", "no free firewall mark");
        m++;
    }
    return m;
}

std::string lb_mark_rule(const IpAddr& vip, uint32_t mark) {
    return fmt::format("-d {}/32 -j MARK --set-xmark {}/0xffffffff", vip.str(), hex(mark));
}

std::string lb_snat_rule(const Prefix& subnet, const IpAddr& lb_ip) {
    return fmt::format("-d {} -m ipvs --ipvs -j SNAT --to-source {}", subnet.network().str(), lb_ip.str());
}

std::optional<MarkRule> parse_mark_rule(const std::string& spec) {
    static const std::regex re(R"(^-d ([0-9.]+)/32 -j MARK --set-xmark 0x([0-9a-f]+)/0xffffffff$)");
    std::smatch m;
    if (!std::regex_match(spec, m, re)) return std::nullopt;
    MarkRule r;
    auto mk = parse_hex_mark(m[2]);
    if (!IpAddr::try_parse(m[1].str(), r.vip) || !mk) return std::nullopt;
    r.mark = *mk;
    return r;
}

std::optional<SnatRule> parse_snat_rule(const std::string& spec) {
    static const std::regex re(R"(^-d ([0-9.]+(/[0-9]+)?) -m ipvs --ipvs -j SNAT --to-source ([0-9.]+)$)");
    std::smatch m;
    if (!std::regex_match(spec, m, re)) return std::nullopt;
    SnatRule r;
    std::string net = m[1];
    if (net.find('/') == std::string::npos) net += "/32";
    try {
        r.subnet = Prefix::parse(net);
    } catch (const Error&) {
        return std::nullopt;
    }
    if (!IpAddr::try_parse(m[3].str(), r.lb_ip)) return std::nullopt;
    return r;
}

std::set<uint32_t> lb_used_marks(const IptState& st) {
    std::set<uint32_t> used;
    auto& mg = st.table("mangle");
    for (auto& r : mg.chain_rules(kLbMarkChain))
        if (auto m = parse_mark_rule(r)) used.insert(m->mark);
    for (auto& r : mg.chain_rules(kIngressChain))
        if (auto m = parse_port_mark_rule(r)) used.insert(m->mark);
    return used;
}

bool lb_namespace_in_use(const IptState& st) {
    for (auto& r : st.table("mangle").chain_rules(kLbMarkChain))
        if (parse_mark_rule(r)) return true;
    for (auto& r : st.table("mangle").chain_rules(kIngressChain))
        if (parse_port_mark_rule(r)) return true;
    for (auto& r : st.table("nat").chain_rules(kIngressChain))
        if (parse_dnat_rule(r)) return true;
    return false;
}

std::vector<IptChain> lb_chains(const IptState& cur, const LbService& s, bool remove) {
    IptChain mark{"mangle", kLbMarkChain, {},
                  {{"INPUT", std::string("-j ") + kLbMarkChain}, {"OUTPUT", std::string("-j ") + kLbMarkChain}}};
    bool placed = false;
    std::string mine = remove ? std::string() : lb_mark_rule(s.vip, s.fwmark);
    for (auto& r : cur.table("mangle").chain_rules(kLbMarkChain)) {
        auto m = parse_mark_rule(r);
        if (m && m->vip == s.vip) {
            if (!remove && !placed) mark.rules.push_back(mine);   // keep the service's place
            placed = true;
            continue;
        }
        mark.rules.push_back(r);
    }
    if (!remove && !placed) mark.rules.push_back(mine);
    std::optional<Prefix> net = s.subnet;
    if (!net)
        for (auto& r : cur.table("nat").chain_rules(kLbSnatChain))
            if (auto sn = parse_snat_rule(r); sn && contains(sn->subnet, s.vip)) net = sn->subnet;
    std::vector<IptChain> out{mark};
    if (!remove) {
        out.push_back(snat_chain(cur, SnatRule{s.subnet->network(), s.lb_ip}, std::nullopt));
    } else if (net && !subnet_in_use(mark.rules, cur.table("mangle").chain_rules(kIngressChain), *net)) {
        out.push_back(snat_chain(cur, std::nullopt, net));
    } else {
        out.push_back(snat_chain(cur, std::nullopt, std::nullopt));
    }
    return out;
}

IpvsService lb_ipvs_service(uint32_t mark, const std::string& sched, const std::vector<IpAddr>& backends,
                            const std::vector<IpAddr>& draining) {
    IpvsService s;
    s.af = AF_INET;
    s.protocol = "fwm";
    s.fwmark = mark;
    s.scheduler = sched;
    auto add = [&](const IpAddr& a, uint32_t w) {
        IpvsDest d;
        d.addr = a;
        d.port = 0;
        d.fwd = IpvsFwd::Masq;
        d.weight = w;
        s.dests.push_back(d);
    };
    for (auto& b : backends) add(b, 1);
    for (auto& b : draining) add(b, 0);
    return s;
}

// ---------------------------------------------------------------- the service object

void LbService::validate() const {
    std::string obj = "service " + (vip.valid() ? vip.str() : std::string("?"));
    if (vip.family != AF_INET) throw_input(obj, "vip", vip.valid() ? vip.str() : "", "the VIP must be an IPv4 address");
    if (!is_unicast_host(vip)) throw_input(obj, "vip", vip.str(), "not a unicast host address");
    if (!lb_scheduler_known(scheduler)) throw_input(obj, "scheduler", scheduler, "unknown IPVS scheduler");
    check_backends(obj, backends);
    for (auto& b : backends)
        if (b == vip) throw_input(obj, "backend", b.str(), "a backend cannot be the VIP");
    if (subnet) {
        if (subnet->addr.family != AF_INET) throw_input(obj, "subnet", subnet->str(), "the subnet must be IPv4");
        if (subnet->len < 1 || subnet->len > 30) throw_input(obj, "subnet", subnet->str(), "prefix length must be 1..30");
        if (!contains(*subnet, vip)) throw_input(obj, "vip", vip.str(), "not inside subnet " + subnet->network().str());
        for (auto& b : backends)
            if (!contains(*subnet, b)) throw_input(obj, "backend", b.str(), "not inside subnet " + subnet->network().str());
    }
    if (lb_ip.valid()) {
        if (lb_ip.family != AF_INET || !is_unicast_host(lb_ip)) throw_input(obj, "lb_ip", lb_ip.str(), "not a unicast IPv4 address");
        if (lb_ip == vip) throw_input(obj, "lb_ip", lb_ip.str(), "the load balancer's address cannot be the VIP");
        if (subnet && !contains(*subnet, lb_ip)) throw_input(obj, "lb_ip", lb_ip.str(), "not inside subnet " + subnet->network().str());
    }
}

template <class W>
void LbService::fields(W& w) const {
    std::optional<Prefix> net;
    if (subnet) net = subnet->network();
    w("netns", netns, schema::ReadOnly);
    w("owner", owner, schema::ReadOnly);
    w("vip", vip);
    w("fwmark", fwmark);
    w("fwmark_hex", hex(fwmark), schema::ReadOnly);
    w("subnet", net);
    w("lb_ip", lb_ip);
    w("vip_iface", vip_iface.empty() ? std::optional<std::string>() : vip_iface, schema::ReadOnly);
    w("scheduler", scheduler);
    w("backends", ipvs_read ? ipvs_dests_json(ipvs) : json(), schema::ReadOnly);
    w("ipvs", ipvs_service_json(ipvs, netns), schema::ReadOnly);
    w("rules", rules, schema::ReadOnly);
}
OVNET_SCHEMA_FIELDS(LbService)

json LbService::to_json() const { return schema::to_dom(*this); }

// ---------------------------------------------------------------- service plumbing

namespace detail {

std::optional<std::vector<IpvsService>> ipvs_list_if_present(const std::string& netns, std::string& why) {
    try {
        IpvsHandle ih(netns);
        return ipvs_list(ih);
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::Runtime || e.err() != ENOENT) throw;
        why = e.what();
        return std::nullopt;
    }
}

std::optional<std::pair<IpAddr, std::string>> docker_vip(const IptState& all, const IpAddr& vip) {
    for (auto& s : docker_lb_services(all, nullptr, {}))
        if (s.vip == vip) return std::make_pair(s.vip, s.rules[0]);
    return std::nullopt;
}

}  // namespace detail

std::vector<LbService> lb_rows(const IptState& st, const std::vector<IpvsService>* sv, const std::vector<Addr>& addrs,
                               const std::function<std::string(int)>& ifname, const std::string& netns) {
    LbListing out;
    auto& snat = st.table("nat").chain_rules(kLbSnatChain);
    for (auto& r : st.table("mangle").chain_rules(kLbMarkChain)) {
        auto m = parse_mark_rule(r);
        if (!m) continue;
        LbService s;
        s.netns = netns;
        s.vip = m->vip;
        s.fwmark = m->mark;
        s.scheduler = "-";
        s.ipvs_read = sv != nullptr;
        s.rules.push_back(std::string("mangle ") + kLbMarkChain + " " + r);
        for (auto& sr : snat)
            if (auto sn = parse_snat_rule(sr); sn && contains(sn->subnet, s.vip)) {
                s.subnet = sn->subnet.network();
                s.lb_ip = sn->lb_ip;
                s.rules.push_back(std::string("nat ") + kLbSnatChain + " " + sr);
            }
        if (auto f = sv ? find_fwm(*sv, s.fwmark) : std::nullopt) {
            s.scheduler = f->scheduler;
            s.ipvs = *f;
            s.backends = dest_addrs(f->dests);
        }
        out.rows.push_back(std::move(s));
    }
    for (auto& d : docker_lb_services(st, sv, netns)) out.rows.push_back(std::move(d));
    for (auto& s : out.rows)
        for (auto& a : addrs)
            if (a.prefix.addr == s.vip && a.prefix.len == 32) s.vip_iface = ifname(a.ifindex);
    return out.rows;
}

LbListing lb_show(const std::string& netns) {
    Handle h(netns);
    auto st = ipt_read_all(h.netns_path());
    LbListing out;
    auto services = ipvs_list_if_present(netns, out.ipvs_error);
    out.rows = lb_rows(st, services ? &*services : nullptr, addr_list(h), [&](int i) { return ifname_of(h, i); }, netns);
    return out;
}

std::vector<LbService> lb_list(const std::string& netns) { return lb_show(netns).rows; }

namespace {
json lb_doc(const std::string& netns, const IpAddr& vip) {
    for (auto& s : lb_list(netns))
        if (s.vip == vip) return s.to_json();
    return json::object();
}
}  // namespace

LbResult lb_add(const std::string& netns, LbService s, unsigned drain, IptBatch* batch) {
    s.validate();
    std::string obj = "service " + s.vip.str();
    Handle h(netns);
    const std::string& path = h.netns_path();
    // Derive the subnet and the load balancer's address from the namespace's addresses.
    auto addrs = addr_list(h);
    auto a = find_addr(addrs, s.lb_ip, s.vip, s.subnet, s.vip);
    if (!a) {
        if (s.lb_ip.valid())
            throw_input(obj, "lb_ip", s.lb_ip.str(), "not an address of namespace " + (netns.empty() ? "(current)" : netns));
        throw_input(obj, "lb_ip", "", fmt::format("no address of namespace {} on the VIP's network: give --lb-ip",
                                                  netns.empty() ? "(current)" : netns));
    }
    s.lb_ip = a->prefix.addr;
    if (!s.subnet) s.subnet = a->prefix.network();
    s.subnet = s.subnet->network();
    s.validate();   // again, now with subnet and lb_ip
    // Docker's services (either backend) are never taken over, nor their marks handed out.
    IptBoth both = batch ? IptBoth{batch->state(path), batch->state_all(path)} : ipt_read_both(path);
    const IptState &st = both.own, &all = both.all;
    if (auto d = docker_vip(all, s.vip))
        throw_input(obj, "vip", s.vip.str(), "owned by docker (" + d->second + "); ovnet does not change Docker's services");
    auto docker_marks = docker_used_marks(all);
    if (s.fwmark && docker_marks.count(s.fwmark))
        throw_input(obj, "fwmark", std::to_string(s.fwmark), "already used by docker in this namespace");
    IpvsHandle ih(netns);
    auto services = ipvs_list(ih);
    // The mark: the VIP's current one, the one given, or the lowest free one.
    std::optional<uint32_t> have;
    std::set<uint32_t> used = lb_used_marks(st);
    for (auto m : ipvs_marks(services)) used.insert(m);
    for (auto m : docker_marks) used.insert(m);
    for (auto& r : st.table("mangle").chain_rules(kLbMarkChain))
        if (auto m = parse_mark_rule(r); m && m->vip == s.vip) have = m->mark;
    if (have) {
        if (s.fwmark && s.fwmark != *have)
            throw_input(obj, "fwmark", std::to_string(s.fwmark),
                        fmt::format("the service already has fwmark {} ({}); del it first", *have, hex(*have)));
        s.fwmark = *have;
    } else if (s.fwmark) {
        if (used.count(s.fwmark))
            throw_input(obj, "fwmark", std::to_string(s.fwmark), "already used by another service of the namespace");
    } else {
        s.fwmark = lb_alloc_mark(used);
    }
    auto chains = lb_chains(st, s, false);
    auto plan = ipt_plan(st, chains);   // validates the chains
    // Writes: sysctls, IPVS first (a marked packet needs its service), then the rules, then the VIP.
    LbResult res;
    sysctls_apply(path, netns, lb_sysctl_list(), lb_namespace_in_use(st), res.changes, "");
    ipvs_converge(ih, services, s.fwmark, s.scheduler, s.backends, drain, res.changes);
    if (batch) batch->add(path, chains);   // its commit reports the chains
    else restore_plan(path, plan, "", res);
    if (addr_add(h, a->ifindex, Prefix{s.vip, 32}, obj))
        res.changes.push_back(Change{Action::Added, fmt::format("address {}/32 on {}", s.vip.str(), ifname_of(h, a->ifindex))});
    res.changes = tidy(res.changes, obj);
    if (!batch) res.doc = lb_doc(netns, s.vip);
    return res;
}

LbResult lb_del(const std::string& netns, const IpAddr& vip, unsigned drain) {
    std::string obj = "service " + vip.str();
    if (vip.family != AF_INET) throw_input(obj, "vip", vip.valid() ? vip.str() : "", "the VIP must be an IPv4 address");
    check_drain(obj, drain);
    Handle h(netns);
    const std::string& path = h.netns_path();
    auto st = ipt_read(path);
    std::optional<uint32_t> mark;
    for (auto& r : st.table("mangle").chain_rules(kLbMarkChain))
        if (auto m = parse_mark_rule(r); m && m->vip == vip) mark = m->mark;
    LbResult res;
    if (!mark)
        if (auto d = docker_vip(ipt_read_all(path), vip))
            throw_input(obj, "vip", vip.str(), "owned by docker (" + d->second + "); ovnet does not change Docker's services");
    if (!mark) {
        // Nothing of the service left; sysctls still saved (an interrupted del) are restored.
        sysctls_release(path, lb_namespace_in_use(st), res.changes, "");
        res.changes.push_back(Change::with_detail(Action::Unchanged, obj, json{{"reason", "no such service"}}));
        res.changes = tidy(res.changes, obj);
        res.doc = json::object();
        return res;
    }
    LbService s;
    s.vip = vip;
    s.fwmark = *mark;
    IpvsHandle ih(netns);
    auto chains = lb_chains(st, s, true);
    auto plan = ipt_plan(st, chains);
    // Writes: with --drain, weight 0 and the wait first; then as without it.
    drain_service(ih, *mark, drain, res.changes, "");
    restore_plan(path, plan, "", res);
    if (find_fwm(ipvs_list(ih), *mark)) append(res.changes, ipvs_del_service(ih, lb_ipvs_service(*mark, "rr", {})));
    for (auto& a : addr_list(h))
        if (a.prefix.addr == vip && a.prefix.len == 32 && addr_del(h, a.ifindex, a.prefix, obj))
            res.changes.push_back(Change{Action::Removed, fmt::format("address {}/32 on {}", vip.str(), ifname_of(h, a.ifindex))});
    sysctls_release(path, lb_namespace_in_use(ipt_with_chains(st, chains)), res.changes, "");
    res.changes = tidy(res.changes, obj);
    res.doc = json{{"netns", netns}, {"vip", vip.str()}, {"fwmark", *mark}, {"fwmark_hex", hex(*mark)}};
    return res;
}

}  // namespace ovnet
