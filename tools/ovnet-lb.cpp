// ovnet-lb: service load balancing in one load-balancer namespace (Docker's lb_<netid>): the VIP's
// mangle mark, the IPVS firewall-mark service and its backends, the -m ipvs SNAT, the sysctls.
#include "common.hpp"
#include "ovnet/lb.hpp"

using namespace ovnet;
using namespace ovnet::tool;

namespace {

IpAddr parse_ip(const std::string& obj, const std::string& field, const std::string& s) {
    IpAddr a;
    if (!IpAddr::try_parse(s, a)) throw_input(obj, field, s, "not an IP address");
    return a;
}

std::string backends_cell(const json& b) {
    std::string s;
    for (auto& d : b) s += (s.empty() ? "" : " ") + fmt::format("{}:{}/w{}", d["ip"].get<std::string>(), d["port"].get<int>(), d["weight"].get<uint32_t>());
    return s.empty() ? "-" : s;
}

void lb_table(const json& doc) {
    Table t({"VIP", "FWMARK", "SUBNET", "LB-IP", "SCHED", "BACKENDS"});
    for (auto& s : doc)
        t.row({s["vip"].get<std::string>(), fmt::format("{} ({})", s["fwmark"].get<uint32_t>(), s["fwmark_hex"].get<std::string>()),
               cell(s["subnet"]), cell(s["lb_ip"]), cell(s["scheduler"]), backends_cell(s["backends"])});
    t.print(stdout);
    for (auto& s : doc) {
        fmt::print("\nrules of {}:\n", s["vip"].get<std::string>());
        for (auto& r : s["rules"]) fmt::print("  {}\n", r.get<std::string>());
    }
}

}  // namespace

int main(int argc, char** argv) {
    App app("ovnet-lb", "Service load balancing in a load-balancer namespace: VIP mark, IPVS firewall-mark service, SNAT.");
    auto& g = app.g;
    std::string vip, subnet, lb_ip, fwmark, sched = "rr";
    std::vector<std::string> backends;
    unsigned drain = 0;

    auto* show = app.verb("show", "List the namespace's services: VIP, mark, backends, rules");
    show->add_option("--vip", vip, "Only this service")->type_name("IP");
    show->callback([&] {
        std::optional<IpAddr> only;
        if (!vip.empty()) only = parse_ip("service", "vip", vip);
        json a = json::array();
        for (auto& s : lb_list(g.netns))
            if (!only || s.vip == *only) a.push_back(s.to_json());
        emit(g, a, lb_table);
    });

    auto* add = app.verb("add", "Add a service, or converge it (scaling: run again with another --backend list)");
    add->add_option("--vip", vip, "The service's virtual IP (IPv4)")->required()->type_name("IP");
    add->add_option("--subnet", subnet, "The service network (default: the namespace's network holding the VIP)")->type_name("CIDR");
    add->add_option("--lb-ip", lb_ip, "The namespace's address on that network, SNAT source (default: derived)")->type_name("IP");
    add->add_option("--backend", backends, "A task's address (repeatable)")->required()->type_name("IP");
    add->add_option("--fwmark", fwmark, "Firewall mark (default: the lowest free from 256 = 0x100)")->type_name("MARK");
    add->add_option("--scheduler", sched, "IPVS scheduler (default rr)")->type_name("SCHED");
    add->add_option("--drain", drain, "Removed backends get weight 0 for SECONDS before they are deleted")->type_name("SECONDS");
    add->callback([&] {
        LbService s;
        s.vip = parse_ip("service", "vip", vip);
        std::string obj = "service " + vip;
        if (!subnet.empty()) {
            Prefix p;
            try {
                p = Prefix::parse(subnet);
            } catch (const Error&) {
                throw_input(obj, "subnet", subnet, "not a network in CIDR notation");
            }
            s.subnet = p;
        }
        if (!lb_ip.empty()) s.lb_ip = parse_ip(obj, "lb_ip", lb_ip);
        for (auto& b : backends) s.backends.push_back(parse_ip(obj, "backend", b));
        if (!fwmark.empty()) s.fwmark = lb_parse_fwmark(obj, fwmark);
        s.scheduler = sched;
        if (drain > 86400) throw_input(obj, "drain", std::to_string(drain), "must be at most 86400 seconds");
        auto r = lb_add(g.netns, s, drain);
        report(g, r.changes, r.doc);
    });

    auto* del = app.verb("del", "Remove a service: its mark rule, IPVS service and VIP address (SNAT when unused)");
    del->add_option("--vip", vip, "The service's virtual IP")->required()->type_name("IP");
    del->callback([&] {
        auto r = lb_del(g.netns, parse_ip("service", "vip", vip));
        report(g, r.changes, r.doc);
    });

    return app.run(argc, argv);
}
