// The options ovnet-lb and ovnet-publish share: the network, the SNAT source, the backends, the
// mark, the scheduler and the drain time of one IPVS firewall-mark service.
#pragma once
#include "common.hpp"
#include "ovnet/lb.hpp"

namespace ovnet::tool {

struct BalanceOpts {
    std::string subnet, lb_ip, fwmark, scheduler = "rr";
    std::vector<std::string> backends;
    unsigned drain = 0;

    void add(CLI::App* v, const std::string& subnet_help, const std::string& lb_ip_help,
             const std::string& backend_help) {
        v->add_option("--subnet", subnet, subnet_help)->type_name("CIDR");
        v->add_option("--lb-ip", lb_ip, lb_ip_help)->type_name("IP");
        v->add_option("--backend", backends, backend_help)->required()->type_name("IP");
        v->add_option("--fwmark", fwmark, "Firewall mark (default: the lowest free from 256 = 0x100)")->type_name("MARK");
        v->add_option("--scheduler", scheduler, "IPVS scheduler (default rr)")->type_name("SCHED");
        v->add_option("--drain", drain, "Removed backends get weight 0 for SECONDS before they are deleted")
            ->type_name("SECONDS");
    }

    /// Fills an LbService or a PublishSpec; errors name `obj`.
    template <class Spec>
    void fill(Spec& s, const std::string& obj) const {
        if (!subnet.empty()) s.subnet = arg_prefix(obj, "subnet", subnet);
        if (!lb_ip.empty()) s.lb_ip = arg_ip(obj, "lb_ip", lb_ip);
        for (auto& b : backends) s.backends.push_back(arg_ip(obj, "backend", b));
        if (!fwmark.empty()) s.fwmark = lb_parse_fwmark(obj, fwmark);
        s.scheduler = scheduler;
        if (drain > kMaxDrain)
            throw_input(obj, "drain", std::to_string(drain), fmt::format("must be at most {} seconds", kMaxDrain));
    }
};

/// del's --drain: every destination gets weight 0 for SECONDS before the service is removed.
inline void add_del_drain(CLI::App* v, unsigned& drain) {
    v->add_option("--drain", drain, "Every backend gets weight 0 for SECONDS before the service is removed")
        ->type_name("SECONDS");
}

/// The one stderr line of a show that could not read IPVS (it still prints the iptables half).
inline void ipvs_unavailable(const Global& g, const std::string& why) {
    fmt::print(stderr, "{}: IPVS is unavailable ({}): ipvs and backends are null\n", g.name, why);
}

/// "10.0.0.7:0/w1 10.0.0.8:0/w1" for the BACKENDS column ("?" when IPVS could not be read).
inline std::string backends_cell(const json& b) {
    if (b.is_null()) return "?";
    std::string s;
    for (auto& d : b)
        s += (s.empty() ? "" : " ") +
             fmt::format("{}:{}/w{}", d["address"].get<std::string>(), d["port"].get<int>(), d["weight"].get<uint32_t>());
    return s.empty() ? "-" : s;
}

}  // namespace ovnet::tool
