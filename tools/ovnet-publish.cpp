// ovnet-publish: the routing mesh. Publishing a port on a node: the host's nat OVNET-INGRESS chain
// (Docker's DOCKER-INGRESS) DNATs it to the ingress sandbox, which marks it and balances it with
// IPVS over the ingress overlay's tasks.
#include "balance.hpp"

using namespace ovnet;
using namespace ovnet::tool;

namespace {

uint16_t parse_port(const std::string& s) {
    bool ok = !s.empty() && s.size() <= 6;
    for (char c : s) ok &= c >= '0' && c <= '9';
    unsigned long v = ok ? std::stoul(s) : 0;
    if (!ok) throw_input("port", "port", s, "not a number");
    if (v == 0 || v > 65535) throw_input("port " + s, "port", s, "must be in 1..65535");
    return uint16_t(v);
}

void publish_table(const json& doc) {
    Table t({"PORT", "GW-IP", "GW-BRIDGE", "FWMARK", "SUBNET", "LB-IP", "SCHED", "BACKENDS", "OWNER"});
    for (auto& p : doc)
        t.row({fmt::format("{}/{}", p["port"].get<int>(), p["proto"].get<std::string>()), cell(p["gw_ip"]), cell(p["gw_bridge"]),
               p["fwmark"].get<uint32_t>() ? fmt::format("{} ({})", p["fwmark"].get<uint32_t>(), p["fwmark_hex"].get<std::string>()) : "-",
               cell(p["subnet"]), cell(p["lb_ip"]), cell(p["scheduler"]), backends_cell(p["backends"]), cell(p["owner"])});
    t.print(stdout);
    for (auto& p : doc) {
        fmt::print("\nrules of {}/{}:\n", p["port"].get<int>(), p["proto"].get<std::string>());
        for (auto& r : p["rules"]) fmt::print("  {}\n", r.get<std::string>());
    }
}

}  // namespace

int main(int argc, char** argv) {
    App app("ovnet-publish", "The routing mesh: publish a port on a node (host DNAT, ingress sandbox mark, IPVS, SNAT).");
    auto& g = app.g;
    std::string port, proto = "tcp", sbox = "ingress_sbox", gw_ip, gw_bridge;
    BalanceOpts bo;

    auto* show = app.verb("show", "List the published ports of the node, ovnet's and Docker's (-n: the host namespace)");
    show->add_option("--ingress-sbox", sbox, "The ingress sandbox's namespace (default ingress_sbox)")->type_name("NETNS");
    show->callback([&] {
        json a = json::array();
        auto l = publish_show(g.netns, sbox);
        if (!l.ipvs_error.empty()) ipvs_unavailable(g, l.ipvs_error);
        for (auto& p : l.rows) a.push_back(p.to_json());
        emit(g, a, publish_table);
    });

    auto* add = app.verb("add", "Publish a port, or converge it (scaling: run again with another --backend list)", VerbKind::Mutating);
    add->add_option("--port", port, "The published port, 1..65535")->required()->type_name("PORT");
    add->add_option("--proto", proto, "tcp (default), udp or sctp")->type_name("PROTO");
    add->add_option("--ingress-sbox", sbox, "The ingress sandbox's namespace (default ingress_sbox)")->type_name("NETNS");
    add->add_option("--gw-ip", gw_ip, "The ingress sandbox's address on the gwbridge (172.18.0.2)")->required()->type_name("IP");
    add->add_option("--gw-bridge", gw_bridge, "The host's bridge on that network (default: derived, docker_gwbridge)")->type_name("IFNAME");
    bo.add(add, "The ingress network (default: derived from the sandbox's addresses)",
           "The sandbox's ingress address, SNAT source (default: derived)", "A task's ingress address (repeatable)");
    add->callback([&] {
        PublishSpec p;
        p.port = parse_port(port);
        p.proto = proto;
        p.sbox = sbox;
        std::string obj = fmt::format("port {}/{}", port, proto);
        p.gw_ip = arg_ip(obj, "gw_ip", gw_ip);
        p.gw_bridge = gw_bridge;
        bo.fill(p, obj);
        auto r = publish_add(g.netns, p, bo.drain);
        report(g, r.changes, r.doc);
    });

    auto* del = app.verb("del", "Unpublish a port: exactly the rules, IPVS service and sysctls add created", VerbKind::Mutating);
    del->add_option("--port", port, "The published port")->required()->type_name("PORT");
    del->add_option("--proto", proto, "tcp (default), udp or sctp")->type_name("PROTO");
    del->add_option("--ingress-sbox", sbox, "The ingress sandbox's namespace (default ingress_sbox)")->type_name("NETNS");
    add_del_drain(del, bo.drain);
    del->callback([&] {
        PublishSpec p;
        p.port = parse_port(port);
        p.proto = proto;
        p.sbox = sbox;
        auto r = publish_del(g.netns, p, bo.drain);
        report(g, r.changes, r.doc);
    });

    return app.run(argc, argv);
}
