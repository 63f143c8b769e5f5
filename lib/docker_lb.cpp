// Docker's load-balancing state, read (never written): the rows `ovnet-lb show` and `ovnet-publish
// show` print with owner "docker" (see ovnet/lb.hpp). Pure: iptables-save text (both backends,
// merged by ipt_read_all) and an IPVS listing in, LbService/PublishSpec rows out. Docker writes its
// marks into the built-in chains (mangle PREROUTING/INPUT), never into chains of its own, so the
// rule shapes are matched exactly as Docker (libnetwork, service_linux.go) writes them; anything
// else in those chains is someone else's and ignored.
#include <algorithm>
#include <fmt/format.h>
#include <regex>

#include "lb_internal.hpp"
#include "ovnet/lb.hpp"

namespace ovnet {

using namespace detail;

namespace {

/// The SNAT rules of nat POSTROUTING ("-d NET -m ipvs --ipvs -j SNAT --to-source IP").
std::vector<std::pair<SnatRule, std::string>> snat_rules(const IptState& st) {
    std::vector<std::pair<SnatRule, std::string>> v;
    for (auto& r : st.table("nat").chain_rules("POSTROUTING"))
        if (auto s = parse_snat_rule(r)) v.emplace_back(*s, r);
    return v;
}

void fill_ipvs(const std::vector<IpvsService>* ipvs, uint32_t mark, std::string& sched, std::optional<IpvsService>& sv,
               std::vector<IpAddr>& backends, bool& read) {
    read = ipvs != nullptr;
    sched = "-";
    if (!ipvs || !mark) return;
    if (auto s = find_fwm(*ipvs, mark)) {
        sched = s->scheduler;
        sv = *s;
        backends = dest_addrs(s->dests);
    }
}

/// True when a filter DOCKER-INGRESS rule is about proto/port ("-p tcp ... --dport 30000 ..." or
/// "... --sport 30000 ...").
bool about_port(const std::string& rule, const std::string& proto, uint16_t port) {
    std::string r = " " + rule + " ";
    if (r.find(" -p " + proto + " ") == std::string::npos) return false;
    return r.find(fmt::format(" --dport {} ", port)) != std::string::npos ||
           r.find(fmt::format(" --sport {} ", port)) != std::string::npos;
}

}  // namespace

std::set<uint32_t> docker_used_marks(const IptState& st) {
    std::set<uint32_t> used;
    auto& mg = st.table("mangle");
    for (const char* c : {"PREROUTING", "INPUT", "OUTPUT"})
        for (auto& r : mg.chain_rules(c)) {
            if (auto m = parse_mark_rule(r)) used.insert(m->mark);
            if (auto m = parse_port_mark_rule(r)) used.insert(m->mark);
        }
    return used;
}

std::vector<LbService> docker_lb_services(const IptState& st, const std::vector<IpvsService>* ipvs,
                                          const std::string& netns) {
    std::vector<LbService> out;
    auto snat = snat_rules(st);
    for (const char* chain : {"INPUT", "OUTPUT"})
        for (auto& r : st.table("mangle").chain_rules(chain)) {
            auto m = parse_mark_rule(r);
            if (!m) continue;
            std::string text = fmt::format("mangle {} {}", chain, r);
            auto same = std::find_if(out.begin(), out.end(), [&](const LbService& s) { return s.vip == m->vip; });
            if (same != out.end()) {   // the VIP's OUTPUT twin (older Docker)
                same->rules.insert(same->rules.begin() + 1, text);
                continue;
            }
            LbService s;
            s.owner = kOwnerDocker;
            s.netns = netns;
            s.vip = m->vip;
            s.fwmark = m->mark;
            s.rules.push_back(text);
            for (auto& [sn, sr] : snat)
                if (contains(sn.subnet, s.vip)) {
                    s.subnet = sn.subnet.network();
                    s.lb_ip = sn.lb_ip;
                    s.rules.push_back("nat POSTROUTING " + sr);
                    break;
                }
            fill_ipvs(ipvs, s.fwmark, s.scheduler, s.ipvs, s.backends, s.ipvs_read);
            out.push_back(std::move(s));
        }
    return out;
}

std::vector<PublishSpec> docker_published_ports(const IptState& host, const IptState& sbox,
                                                const std::vector<IpvsService>* ipvs, const std::string& netns,
                                                const std::string& sbox_name) {
    std::vector<PublishSpec> out;
    const std::string where = netns.empty() ? "host" : netns;
    std::string gwbr, masq;
    for (auto& r : host.table("nat").chain_rules("POSTROUTING")) {
        static const std::regex re(R"(^-o (\S+) -m addrtype --src-type LOCAL -j MASQUERADE$)");
        std::smatch m;
        if (gwbr.empty() && std::regex_match(r, m, re)) {
            gwbr = m[1];
            masq = r;
        }
    }
    auto snat = snat_rules(sbox);
    auto& smangle = sbox.table("mangle");
    for (auto& r : host.table("nat").chain_rules(kDockerIngressChain)) {
        auto d = parse_dnat_rule(r);
        if (!d) continue;
        PublishSpec p;
        p.owner = kOwnerDocker;
        p.netns = netns;
        p.sbox = sbox_name;
        p.proto = d->proto;
        p.port = d->port;
        p.gw_ip = d->gw_ip;
        p.gw_bridge = gwbr;
        p.rules.push_back(fmt::format("{}: nat {} {}", where, kDockerIngressChain, r));
        for (auto& fr : host.table("filter").chain_rules(kDockerIngressChain))
            if (about_port(fr, p.proto, p.port))
                p.rules.push_back(fmt::format("{}: filter {} {}", where, kDockerIngressChain, fr));
        if (!masq.empty()) p.rules.push_back(fmt::format("{}: nat POSTROUTING {}", where, masq));
        for (auto& mr : smangle.chain_rules("PREROUTING"))
            if (auto m = parse_port_mark_rule(mr); m && !p.fwmark && m->proto == p.proto && m->port == p.port) {
                p.fwmark = m->mark;
                p.rules.push_back(fmt::format("{}: mangle PREROUTING {}", sbox_name, mr));
            }
        if (p.fwmark)
            for (auto& mr : smangle.chain_rules("INPUT"))
                if (auto m = parse_mark_rule(mr); m && m->mark == p.fwmark && !p.ingress_vip.valid()) {
                    p.ingress_vip = m->vip;
                    p.rules.push_back(fmt::format("{}: mangle INPUT {}", sbox_name, mr));
                }
        fill_ipvs(ipvs, p.fwmark, p.scheduler, p.ipvs, p.backends, p.ipvs_read);
        // The ingress network's SNAT: the rule holding the ingress VIP, else the first backend,
        // else the sandbox's only one.
        const std::pair<SnatRule, std::string>* pick = nullptr;
        for (auto& s : snat) {
            if (pick) break;
            if (p.ingress_vip.valid() ? contains(s.first.subnet, p.ingress_vip)
                                      : !p.backends.empty() && contains(s.first.subnet, p.backends[0]))
                pick = &s;
        }
        if (!pick && snat.size() == 1 && p.fwmark) pick = &snat[0];
        if (pick) {
            p.subnet = pick->first.subnet.network();
            p.lb_ip = pick->first.lb_ip;
            p.rules.push_back(fmt::format("{}: nat POSTROUTING {}", sbox_name, pick->second));
        }
        out.push_back(std::move(p));
    }
    return out;
}

}  // namespace ovnet
