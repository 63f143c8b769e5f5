// ovnet-lb: service load balancing in one load-balancer namespace (Docker's lb_<netid>): the VIP's
// mangle mark, the IPVS firewall-mark service and its backends, the -m ipvs SNAT, the sysctls.
#include "balance.hpp"

using namespace ovnet;
using namespace ovnet::tool;

namespace {

void lb_table(const json& doc) {
    Table t({"VIP", "FWMARK", "SUBNET", "LB-IP", "SCHED", "BACKENDS", "OWNER"});
    for (auto& s : doc)
        t.row({s["vip"].get<std::string>(), fmt::format("{} ({})", s["fwmark"].get<uint32_t>(), s["fwmark_hex"].get<std::string>()),
               cell(s["subnet"]), cell(s["lb_ip"]), cell(s["scheduler"]), backends_cell(s["backends"]), cell(s["owner"])});
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
    std::string vip;
    BalanceOpts bo;

    auto* show = app.verb("show", "List the namespace's services (ovnet's and Docker's): VIP, owner, mark, backends, rules");
    show->add_option("--vip", vip, "Only this service")->type_name("IP");
    show->callback([&] {
        std::optional<IpAddr> only;
        if (!vip.empty()) only = arg_ip("service", "vip", vip);
        json a = json::array();
        auto l = lb_show(g.netns);
        if (!l.ipvs_error.empty()) ipvs_unavailable(g, l.ipvs_error);
        for (auto& s : l.rows)
            if (!only || s.vip == *only) a.push_back(s.to_json());
        emit(g, a, lb_table);
    });

    auto* add = app.verb("add", "Add a service, or converge it (scaling: run again with another --backend list)", VerbKind::Mutating);
    add->add_option("--vip", vip, "The service's virtual IP (IPv4)")->required()->type_name("IP");
    bo.add(add, "The service network (default: the namespace's network holding the VIP)",
           "The namespace's address on that network, SNAT source (default: derived)", "A task's address (repeatable)");
    add->callback([&] {
        LbService s;
        s.vip = arg_ip("service", "vip", vip);
        bo.fill(s, "service " + vip);
        auto r = lb_add(g.netns, s, bo.drain);
        report(g, r.changes, r.doc);
    });

    auto* del = app.verb("del", "Remove a service: its mark rule, IPVS service and VIP address (SNAT when unused; "
                                "sysctls restored when it was the last)", VerbKind::Mutating);
    del->add_option("--vip", vip, "The service's virtual IP")->required()->type_name("IP");
    add_del_drain(del, bo.drain);
    del->callback([&] {
        auto r = lb_del(g.netns, arg_ip("service", "vip", vip), bo.drain);
        report(g, r.changes, r.doc);
    });

    return app.run(argc, argv);
}
