// The routing mesh (see ovnet/lb.hpp): a published port. The host side (nat OVNET-INGRESS DNAT
// to the ingress sandbox, OVNET-INGRESS-POST masquerade, filter OVNET-INGRESS accepts) and the
// sandbox side (mangle OVNET-INGRESS port mark, the IPVS firewall-mark service and its SNAT, shared
// with service load balancing through lb_internal.hpp): the rule text and parsers,
// publish_sbox_chains/publish_host_chains, the PublishSpec object, publish_add/del/list.
#include <algorithm>
#include <fmt/format.h>
#include <regex>

#include "lb_internal.hpp"
#include "ovnet/addr.hpp"
#include "ovnet/error.hpp"
#include "ovnet/lb.hpp"
#include "ovnet/link.hpp"
#include "ovnet/netlink.hpp"
#include "ovnet/netns.hpp"
#include "ovnet/schema.hpp"

namespace ovnet {

using namespace detail;

// ---------------------------------------------------------------- pure pieces

std::string lb_port_mark_rule(const std::string& proto, uint16_t port, uint32_t mark) {
    return fmt::format("-p {0} -m {0} --dport {1} -j MARK --set-xmark {2}/0xffffffff", proto, port, hex(mark));
}

std::string ingress_dnat_rule(const std::string& proto, uint16_t port, const IpAddr& gw_ip) {
    return fmt::format("-p {0} -m {0} --dport {1} -j DNAT --to-destination {2}:{1}", proto, port, gw_ip.str());
}

std::string ingress_masq_rule(const std::string& gw_bridge) {
    return fmt::format("-o {} -m addrtype --src-type LOCAL -j MASQUERADE", gw_bridge);
}

std::vector<std::string> ingress_accept_rules(const std::string& proto, uint16_t port) {
    return {fmt::format("-p {0} -m {0} --dport {1} -j ACCEPT", proto, port),
            fmt::format("-p {0} -m conntrack --ctstate RELATED,ESTABLISHED -m {0} --sport {1} -j ACCEPT", proto, port)};
}

std::optional<PortMarkRule> parse_port_mark_rule(const std::string& spec) {
    static const std::regex re(R"(^-p (tcp|udp|sctp) -m (tcp|udp|sctp) --dport ([0-9]{1,5}) -j MARK --set-xmark 0x([0-9a-f]+)/0xffffffff$)");
    std::smatch m;
    if (!std::regex_match(spec, m, re) || m[1] != m[2]) return std::nullopt;
    auto mk = parse_hex_mark(m[4]);
    unsigned long port = std::stoul(m[3]);
    if (!mk || port == 0 || port > 65535) return std::nullopt;
    return PortMarkRule{m[1], uint16_t(port), *mk};
}

std::optional<DnatRule> parse_dnat_rule(const std::string& spec) {
    static const std::regex re(R"(^-p (tcp|udp|sctp) -m (tcp|udp|sctp) --dport ([0-9]{1,5}) -j DNAT --to-destination ([0-9.]+):([0-9]{1,5})$)");
    std::smatch m;
    if (!std::regex_match(spec, m, re) || m[1] != m[2] || m[3] != m[5]) return std::nullopt;
    DnatRule r;
    r.proto = m[1];
    unsigned long port = std::stoul(m[3]);
    if (port == 0 || port > 65535 || !IpAddr::try_parse(m[4].str(), r.gw_ip)) return std::nullopt;
    r.port = uint16_t(port);
    return r;
}

std::vector<IptChain> publish_sbox_chains(const IptState& cur, const PublishSpec& p, bool remove) {
    IptChain mark{"mangle", kIngressChain, {}, {{"PREROUTING", std::string("-j ") + kIngressChain}}};
    bool placed = false;
    for (auto& r : cur.table("mangle").chain_rules(kIngressChain)) {
        auto m = parse_port_mark_rule(r);
        if (m && m->proto == p.proto && m->port == p.port) {
            if (!remove && !placed) mark.rules.push_back(lb_port_mark_rule(p.proto, p.port, p.fwmark));
            placed = true;
            continue;
        }
        mark.rules.push_back(r);
    }
    if (!remove && !placed) mark.rules.push_back(lb_port_mark_rule(p.proto, p.port, p.fwmark));
    std::vector<IptChain> out{mark};
    if (!remove) {
        out.push_back(snat_chain(cur, SnatRule{p.subnet->network(), p.lb_ip}, std::nullopt));
    } else {
        std::optional<Prefix> net = p.subnet;
        if (!net) {
            auto& sn = cur.table("nat").chain_rules(kLbSnatChain);
            // the ingress subnet: the SNAT rule no VIP of OVNET-LB claims
            for (auto& r : sn) {
                auto s = parse_snat_rule(r);
                if (!s) continue;
                bool vip = false;
                for (auto& mr : cur.table("mangle").chain_rules(kLbMarkChain))
                    if (auto m = parse_mark_rule(mr); m && contains(s->subnet, m->vip)) vip = true;
                if (!vip) net = s->subnet;
            }
        }
        if (net && !subnet_in_use(cur.table("mangle").chain_rules(kLbMarkChain), mark.rules, *net))
            out.push_back(snat_chain(cur, std::nullopt, net));
        else
            out.push_back(snat_chain(cur, std::nullopt, std::nullopt));
    }
    return out;
}

std::vector<IptChain> publish_host_chains(const IptState& cur, const PublishSpec& p, bool remove) {
    std::string hook = std::string("-m addrtype --dst-type LOCAL -j ") + kIngressChain;
    IptChain dnat{"nat", kIngressChain, {}, {{"PREROUTING", hook}, {"OUTPUT", hook}}};
    bool placed = false;
    std::string mine = remove ? std::string() : ingress_dnat_rule(p.proto, p.port, p.gw_ip);
    for (auto& r : cur.table("nat").chain_rules(kIngressChain)) {
        if (r == "-j RETURN") continue;   // re-added last
        auto d = parse_dnat_rule(r);
        if (d && d->proto == p.proto && d->port == p.port) {
            if (!remove && !placed) dnat.rules.push_back(mine);
            placed = true;
            continue;
        }
        dnat.rules.push_back(r);
    }
    if (!remove && !placed) dnat.rules.push_back(mine);
    bool empty = dnat.rules.empty();
    if (!empty) dnat.rules.push_back("-j RETURN");   // as the seed's DOCKER-INGRESS
    IptChain post{"nat", kIngressPostChain, {}, {{"POSTROUTING", std::string("-j ") + kIngressPostChain}}};
    if (!empty) {
        post.rules = cur.table("nat").chain_rules(kIngressPostChain);
        if (!remove && !p.gw_bridge.empty()) {
            auto m = ingress_masq_rule(p.gw_bridge);
            if (std::find(post.rules.begin(), post.rules.end(), m) == post.rules.end()) post.rules.push_back(m);
        }
    }
    // filter: Docker's DOCKER-INGRESS, for hosts whose FORWARD policy is DROP; mirrors the DNATs.
    IptChain accept{"filter", kIngressChain, {}, {{"FORWARD", std::string("-j ") + kIngressChain}}};
    for (auto& r : dnat.rules)
        if (auto d = parse_dnat_rule(r))
            for (auto& a : ingress_accept_rules(d->proto, d->port)) accept.rules.push_back(a);
    if (!accept.rules.empty()) accept.rules.push_back("-j RETURN");
    return {dnat, post, accept};
}

// ---------------------------------------------------------------- the published port object

void PublishSpec::validate() const {
    std::string obj = fmt::format("port {}/{}", port, proto);
    if (proto != "tcp" && proto != "udp" && proto != "sctp") throw_input(obj, "proto", proto, "must be tcp, udp or sctp");
    if (port == 0) throw_input(obj, "port", "0", "must be in 1..65535");
    validate_netns_name(sbox);
    if (gw_ip.family != AF_INET || !is_unicast_host(gw_ip))
        throw_input(obj, "gw_ip", gw_ip.valid() ? gw_ip.str() : "", "the ingress sandbox's gwbridge address (IPv4) is required");
    if (!gw_bridge.empty()) validate_ifname(gw_bridge, obj, "gw_bridge");
    if (!lb_scheduler_known(scheduler)) throw_input(obj, "scheduler", scheduler, "unknown IPVS scheduler");
    check_backends(obj, backends);
    if (subnet) {
        if (subnet->addr.family != AF_INET || subnet->len < 1 || subnet->len > 30)
            throw_input(obj, "subnet", subnet->str(), "must be an IPv4 network with prefix length 1..30");
        for (auto& b : backends)
            if (!contains(*subnet, b)) throw_input(obj, "backend", b.str(), "not inside subnet " + subnet->network().str());
    }
    if (lb_ip.valid() && (lb_ip.family != AF_INET || !is_unicast_host(lb_ip)))
        throw_input(obj, "lb_ip", lb_ip.str(), "not a unicast IPv4 address");
    if (lb_ip.valid() && subnet && !contains(*subnet, lb_ip))
        throw_input(obj, "lb_ip", lb_ip.str(), "not inside subnet " + subnet->network().str());
}

template <class W>
void PublishSpec::fields(W& w) const {
    std::optional<Prefix> net;
    if (subnet) net = subnet->network();
    w("netns", netns, schema::ReadOnly);
    w("owner", owner, schema::ReadOnly);
    w("proto", proto);
    w("port", port);
    w("ingress_sbox", sbox);
    w("gw_ip", gw_ip);
    w("gw_bridge", gw_bridge.empty() ? std::optional<std::string>() : gw_bridge);
    w("fwmark", fwmark);
    w("fwmark_hex", hex(fwmark), schema::ReadOnly);
    w("ingress_vip", ingress_vip, schema::ReadOnly);
    w("subnet", net);
    w("lb_ip", lb_ip);
    w("scheduler", scheduler);
    w("backends", ipvs_read ? ipvs_dests_json(ipvs) : json(), schema::ReadOnly);
    w("ipvs", ipvs_service_json(ipvs, sbox), schema::ReadOnly);
    w("rules", rules, schema::ReadOnly);
}
OVNET_SCHEMA_FIELDS(PublishSpec)

json PublishSpec::to_json() const { return schema::to_dom(*this); }

// ---------------------------------------------------------------- routing mesh plumbing

namespace {
/// Docker's DNAT of proto/port in the host's nat DOCKER-INGRESS (either backend), or "".
std::string docker_port_rule(const IptState& all, const std::string& proto, uint16_t port) {
    for (auto& r : all.table("nat").chain_rules(kDockerIngressChain))
        if (auto d = parse_dnat_rule(r); d && d->proto == proto && d->port == port)
            return fmt::format("nat {} {}", kDockerIngressChain, r);
    return {};
}
}  // namespace

std::vector<PublishSpec> publish_rows(const IptState& hst, const IptState& sst, const std::vector<IpvsService>* sv,
                                      const std::string& netns, const std::string& sbox) {
    PublishListing out;
    std::string gwbr;
    for (auto& r : hst.table("nat").chain_rules(kIngressPostChain)) {
        static const std::regex re(R"(^-o (\S+) -m addrtype --src-type LOCAL -j MASQUERADE$)");
        std::smatch m;
        if (std::regex_match(r, m, re)) gwbr = m[1];
    }
    for (auto& r : hst.table("nat").chain_rules(kIngressChain)) {
        auto d = parse_dnat_rule(r);
        if (!d) continue;
        PublishSpec p;
        p.netns = netns;
        p.proto = d->proto;
        p.port = d->port;
        p.sbox = sbox;
        p.gw_ip = d->gw_ip;
        p.gw_bridge = gwbr;
        p.scheduler = "-";
        p.ipvs_read = sv != nullptr;
        p.rules.push_back(fmt::format("{}: nat {} {}", netns.empty() ? "host" : netns, kIngressChain, r));
        auto acc = ingress_accept_rules(p.proto, p.port);
        for (auto& fr : hst.table("filter").chain_rules(kIngressChain))
            if (std::find(acc.begin(), acc.end(), fr) != acc.end())
                p.rules.push_back(fmt::format("{}: filter {} {}", netns.empty() ? "host" : netns, kIngressChain, fr));
        for (auto& mr : sst.table("mangle").chain_rules(kIngressChain))
            if (auto m = parse_port_mark_rule(mr); m && m->proto == p.proto && m->port == p.port) {
                p.fwmark = m->mark;
                p.rules.push_back(fmt::format("{}: mangle {} {}", sbox, kIngressChain, mr));
            }
        if (auto f = p.fwmark && sv ? find_fwm(*sv, p.fwmark) : std::nullopt) {
            p.scheduler = f->scheduler;
            p.ipvs = *f;
            p.backends = dest_addrs(f->dests);
        }
        // The SNAT rule of the backends' network (without IPVS: the one no ovnet VIP claims).
        for (auto& sr : sst.table("nat").chain_rules(kLbSnatChain)) {
            auto sn = parse_snat_rule(sr);
            if (!sn || !p.fwmark) continue;
            bool mine = false;
            if (p.ipvs) {
                mine = !p.ipvs->dests.empty() && contains(sn->subnet, p.ipvs->dests[0].addr);
            } else if (!sv) {
                mine = true;
                for (auto& mr : sst.table("mangle").chain_rules(kLbMarkChain))
                    if (auto m = parse_mark_rule(mr); m && contains(sn->subnet, m->vip)) mine = false;
            }
            if (mine) {
                p.subnet = sn->subnet.network();
                p.lb_ip = sn->lb_ip;
                p.rules.push_back(fmt::format("{}: nat {} {}", sbox, kLbSnatChain, sr));
            }
        }
        out.rows.push_back(std::move(p));
    }
    for (auto& d : docker_published_ports(hst, sst, sv, netns, sbox)) out.rows.push_back(std::move(d));
    return out.rows;
}

PublishListing publish_show(const std::string& netns, const std::string& sbox) {
    Handle hh(netns);
    auto hst = ipt_read_all(hh.netns_path());
    PublishListing out;
    Handle sh(sbox);
    auto sst = ipt_read_all(sh.netns_path());
    auto services = ipvs_list_if_present(sbox, out.ipvs_error);
    out.rows = publish_rows(hst, sst, services ? &*services : nullptr, netns, sbox);
    return out;
}

std::vector<PublishSpec> publish_list(const std::string& netns, const std::string& sbox) {
    return publish_show(netns, sbox).rows;
}

namespace {
json publish_doc(const std::string& netns, const PublishSpec& p) {
    for (auto& x : publish_list(netns, p.sbox))
        if (x.proto == p.proto && x.port == p.port) return x.to_json();
    return json::object();
}
}  // namespace

LbResult publish_add(const std::string& netns, PublishSpec p, unsigned drain, IptBatch* batch) {
    p.validate();
    std::string obj = fmt::format("port {}/{}", p.port, p.proto);
    Handle hh(netns);
    Handle sh(p.sbox);
    const std::string hpath = hh.netns_path(), spath = sh.netns_path();
    if (hpath == spath)
        throw_input(obj, "ingress_sbox", p.sbox, "the ingress sandbox must be another namespace than the host's");
    // The sandbox: its gwbridge address, its address on the ingress network.
    auto saddrs = addr_list(sh);
    if (!find_addr(saddrs, p.gw_ip, {}, std::nullopt, {}))
        throw_input(obj, "gw_ip", p.gw_ip.str(), "not an address of the ingress sandbox " + p.sbox);
    auto a = find_addr(saddrs, p.lb_ip, p.backends[0], p.subnet, p.gw_ip);
    if (!a) {
        if (p.lb_ip.valid()) throw_input(obj, "lb_ip", p.lb_ip.str(), "not an address of the ingress sandbox " + p.sbox);
        throw_input(obj, "backend", p.backends[0].str(),
                    "the ingress sandbox " + p.sbox + " has no address on this backend's network: give --lb-ip");
    }
    p.lb_ip = a->prefix.addr;
    if (!p.subnet) p.subnet = a->prefix.network();
    p.subnet = p.subnet->network();
    p.validate();
    // The host's bridge towards the sandbox (docker_gwbridge).
    if (p.gw_bridge.empty()) {
        for (auto& ha : addr_list(hh))
            if (ha.prefix.addr.family == AF_INET && ha.prefix.len < 32 && contains(ha.prefix.network(), p.gw_ip))
                p.gw_bridge = ifname_of(hh, ha.ifindex);
        if (p.gw_bridge.empty())
            throw_input(obj, "gw_ip", p.gw_ip.str(), "no interface of the host namespace is on this network: give --gw-bridge");
    } else if (!link_get(hh, p.gw_bridge)) {
        throw_input(obj, "gw_bridge", p.gw_bridge, "no such interface in the host namespace");
    }
    IptBoth hb = batch ? IptBoth{batch->state(hpath), batch->state_all(hpath)} : ipt_read_both(hpath);
    IptBoth sb = batch ? IptBoth{batch->state(spath), batch->state_all(spath)} : ipt_read_both(spath);
    const IptState &hst = hb.own, &sst = sb.own;
    // Docker's published ports are never taken over, nor the sandbox's Docker marks handed out.
    if (auto d = docker_port_rule(hb.all, p.proto, p.port); !d.empty())
        throw_input(obj, "port", std::to_string(p.port), "owned by docker (" + d + "); ovnet does not change Docker's published ports");
    auto docker_marks = docker_used_marks(sb.all);
    IpvsHandle ih(p.sbox);
    auto services = ipvs_list(ih);
    std::optional<uint32_t> have;
    std::set<uint32_t> used = lb_used_marks(sst);
    for (auto m : ipvs_marks(services)) used.insert(m);
    for (auto m : docker_marks) used.insert(m);
    for (auto& r : sst.table("mangle").chain_rules(kIngressChain))
        if (auto m = parse_port_mark_rule(r); m && m->proto == p.proto && m->port == p.port) have = m->mark;
    if (have) {
        if (p.fwmark && p.fwmark != *have)
            throw_input(obj, "fwmark", std::to_string(p.fwmark),
                        fmt::format("the port already has fwmark {} ({}); del it first", *have, hex(*have)));
        p.fwmark = *have;
    } else if (p.fwmark) {
        // Another port of the same service may share the mark (Docker: one mark per service).
        bool shared = false;
        for (auto& r : sst.table("mangle").chain_rules(kIngressChain))
            if (auto m = parse_port_mark_rule(r); m && m->mark == p.fwmark) shared = true;
        if (docker_marks.count(p.fwmark))
            throw_input(obj, "fwmark", std::to_string(p.fwmark), "already used by docker in the ingress sandbox");
        if (used.count(p.fwmark) && !shared)
            throw_input(obj, "fwmark", std::to_string(p.fwmark), "already used by a service VIP of the sandbox");
    } else {
        p.fwmark = lb_alloc_mark(used);
    }
    auto schains = publish_sbox_chains(sst, p, false);
    auto hchains = publish_host_chains(hst, p, false);
    auto splan = ipt_plan(sst, schains);   // validates the chains
    auto hplan = ipt_plan(hst, hchains);
    LbResult res;
    // Sandbox first (sysctls, IPVS, mark + SNAT), then the host's DNAT that sends traffic there.
    sysctls_apply(spath, p.sbox, lb_sysctl_list(), lb_namespace_in_use(sst), res.changes, " in " + p.sbox);
    ipvs_converge(ih, services, p.fwmark, p.scheduler, p.backends, drain, res.changes);
    if (batch) batch->add(spath, schains);
    else restore_plan(spath, splan, " in " + p.sbox, res);
    sysctls_apply(hpath, netns, {{"net.ipv4.ip_forward", "1"}, {"net.ipv4.conf." + p.gw_bridge + ".route_localnet", "1"}},
                  lb_namespace_in_use(hst), res.changes, "");
    if (batch) batch->add(hpath, hchains);
    else restore_plan(hpath, hplan, "", res);
    res.changes = tidy(res.changes, obj);
    if (!batch) res.doc = publish_doc(netns, p);
    return res;
}

LbResult publish_del(const std::string& netns, PublishSpec p, unsigned drain) {
    std::string obj = fmt::format("port {}/{}", p.port, p.proto);
    if (p.proto != "tcp" && p.proto != "udp" && p.proto != "sctp") throw_input(obj, "proto", p.proto, "must be tcp, udp or sctp");
    if (p.port == 0) throw_input(obj, "port", "0", "must be in 1..65535");
    check_drain(obj, drain);
    validate_netns_name(p.sbox);
    Handle hh(netns);
    Handle sh(p.sbox);
    const std::string hpath = hh.netns_path(), spath = sh.netns_path();
    auto hst = ipt_read(hpath);
    auto sst = ipt_read(spath);
    std::optional<uint32_t> mark;
    for (auto& r : sst.table("mangle").chain_rules(kIngressChain))
        if (auto m = parse_port_mark_rule(r); m && m->proto == p.proto && m->port == p.port) mark = m->mark;
    bool ours = false;
    for (auto& r : hst.table("nat").chain_rules(kIngressChain))
        if (auto d = parse_dnat_rule(r); d && d->proto == p.proto && d->port == p.port) ours = true;
    if (!ours && !mark)
        if (auto d = docker_port_rule(ipt_read_all(hpath), p.proto, p.port); !d.empty())
            throw_input(obj, "port", std::to_string(p.port), "owned by docker (" + d + "); ovnet does not change Docker's published ports");
    LbResult res;
    IpvsHandle ih(p.sbox);
    auto hchains = publish_host_chains(hst, p, true);
    auto hplan = ipt_plan(hst, hchains);
    auto schains = publish_sbox_chains(sst, p, true);
    auto splan = ipt_plan(sst, schains);
    bool still = false;   // another port (or VIP) keeps using the mark
    if (mark) {
        for (auto& r : schains[0].rules)
            if (auto m = parse_port_mark_rule(r); m && m->mark == *mark) still = true;
        for (auto& r : sst.table("mangle").chain_rules(kLbMarkChain))
            if (auto m = parse_mark_rule(r); m && m->mark == *mark) still = true;
    }
    // With --drain, the IPVS service that goes gets weight 0 on every destination first, and the
    // wait; the port stays published meanwhile, so established connections carry on.
    if (mark && !still) drain_service(ih, *mark, drain, res.changes, " in " + p.sbox);
    // Host first: stop sending traffic to the sandbox, then take the sandbox's part down.
    restore_plan(hpath, hplan, "", res);
    restore_plan(spath, splan, " in " + p.sbox, res);
    if (mark && !still && find_fwm(ipvs_list(ih), *mark))
        append(res.changes, ipvs_del_service(ih, lb_ipvs_service(*mark, "rr", {})));
    sysctls_release(hpath, lb_namespace_in_use(ipt_with_chains(hst, hchains)), res.changes, "");
    sysctls_release(spath, lb_namespace_in_use(ipt_with_chains(sst, schains)), res.changes, " in " + p.sbox);
    res.changes = tidy(res.changes, obj);
    res.doc = json{{"netns", netns}, {"proto", p.proto}, {"port", p.port}, {"ingress_sbox", p.sbox},
                   {"fwmark", mark ? json(*mark) : json(nullptr)}};
    return res;
}

}  // namespace ovnet
