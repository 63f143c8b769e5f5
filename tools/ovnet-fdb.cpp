// ovnet-fdb: the peer table of an overlay (what Docker's peerAdd programs on a VTEP).
#include <exception>
#include <iostream>
#include <optional>

#include "common.hpp"

using namespace ovnet;
using namespace ovnet::tool;

namespace {

void peer_table(const json& doc) {
    Table t({"MAC", "IP", "VTEP", "STATUS", "FDB", "NEIGH", "FLAGS"});
    for (auto& p : doc) {
        std::string flags;
        if (p.contains("flags") && p["flags"].is_array())
            for (auto& f : p["flags"]) flags += (flags.empty() ? "" : ",") + f.get<std::string>();
        t.row({p["mac"].get<std::string>(), cell(p["ip"]), cell(p["vtep"]), p["status"].get<std::string>(),
               cell(p.value("fdb_state", json())), cell(p.value("neigh_state", json())), flags.empty() ? "-" : flags});
    }
    t.print(stdout);
}


}  // namespace

int main(int argc, char** argv) {
    App app("ovnet-fdb", "The peer table of an overlay: permanent neighbor (ip -> mac) and fdb (mac -> vtep) entries.");
    auto& g = app.g;
    std::string dev, ip, mac, vtep;

    auto* show = app.verb("show", "Join the VTEP's fdb and neighbor entries into peers (and flag the rest)");
    show->add_option("-d,--dev", dev, "VXLAN device (default: the only one)")->type_name("VTEP");
    show->callback([&] {
        Handle h(g.netns);
        std::string d = fdb_pick_dev(h, dev);
        auto peers = fdb_show(h, d);
        if (g.json_out() && !g.pretty) {
            // 100,000 peers: written straight out (to_json's bytes), no DOM.
            std::string out;
            write_json(out, peers);
            out += '\n';
            std::fwrite(out.data(), 1, out.size(), stdout);
            std::fflush(stdout);
            return;
        }
        json a = json::array();
        for (auto& p : peers) a.push_back(p.to_json());
        emit(g, a, peer_table);
    });

    auto peer_opts = [&](CLI::App* v) {
        v->add_option("-d,--dev", dev, "VXLAN device (default: the only one)")->type_name("VTEP");
        v->add_option("--ip", ip, "The peer's overlay address")->type_name("IP");
        v->add_option("--mac", mac, "The peer's MAC (default: Docker's 02:42:<IPv4 bytes>)")->type_name("MAC");
        v->add_option("--vtep", vtep, "Underlay address of the peer's host")->type_name("IP");
    };
    auto peer_spec = [&](bool for_del) {
        json o = json::object();
        if (!ip.empty()) o["ip"] = ip;
        if (!vtep.empty()) o["vtep"] = vtep;
        if (!mac.empty()) o["mac"] = mac;
        else if (!ip.empty()) {
            IpAddr a = arg_ip("peer", "ip", ip);
            if (a.family != AF_INET) throw_input("peer " + ip, "mac", "", "required for IPv6 peers");
            o["mac"] = docker_mac(a).str();
        } else {
            throw_input("peer", "mac", "", "give --mac or --ip");
        }
        if (for_del && !o.contains("ip") && !o.contains("vtep")) {
            // del --mac alone: every entry of that MAC (no set entry can say "mac only").
            PeerSpec p;
            p.mac = *opt_mac(o, "mac", "peer");
            if (p.mac.is_zero() || p.mac.is_multicast())
                throw_input("peer", "mac", p.mac.str(), "a peer MAC must be unicast and non-zero");
            return p;
        }
        if (for_del) o["status"] = o.contains("vtep") ? (o.contains("ip") ? "peer" : "fdb-only") : "neigh-only";
        auto v = peers_from_json({o}, std::nullopt);
        return v.at(0);
    };

    auto* add = app.verb("add", "Program one peer: neighbor ip -> mac and fdb mac -> vtep, both permanent", VerbKind::Mutating);
    peer_opts(add);
    add->callback([&] {
        if (ip.empty() || vtep.empty()) throw_input("peer", ip.empty() ? "ip" : "vtep", "", "required (--ip and --vtep)");
        auto p = peer_spec(false);
        Handle h(g.netns);
        std::string d = fdb_pick_dev(h, dev);
        auto ch = fdb_add(h, d, p);
        report(g, ch, to_json(ch));
    });

    auto* del = app.verb("del", "Remove one peer's entries (by --mac, or the MAC derived from --ip)", VerbKind::Mutating);
    peer_opts(del);
    del->callback([&] {
        auto p = peer_spec(true);
        Handle h(g.netns);
        std::string d = fdb_pick_dev(h, dev);
        auto ch = fdb_del(h, d, p);
        report(g, ch, to_json(ch));
    });

    bool prune = false, allow_empty = false;
    auto* apply = app.verb("apply", "Converge the VTEP to the set read on stdin in one batched exchange", VerbKind::Mutating);
    apply->add_option("-d,--dev", dev, "VXLAN device (default: the only one)")->type_name("VTEP");
    apply->add_flag("--prune", prune, "Also remove permanent peers missing from the set");
    apply->add_flag("--allow-empty", allow_empty, "With --prune, accept an empty set (remove every peer)");
    apply->add_option("--vtep", vtep, "VTEP for entries that carry none (e.g. endpoints)")->type_name("IP");
    apply->callback([&] {
        auto dv = arg_opt_ip("apply", "vtep", vtep);
        ChangeStats st;
        std::string d;
        auto ch = fdb_apply_read(g.netns, dev, std::cin, dv, prune, &st, &d, [&](auto& set, auto& vtep_dev) {
            check_prune_set(set.size(), prune, allow_empty, "every peer of " + vtep_dev);
        });
        report_set(g, d, "replaced", {{"dev", json(d).dump()}}, ch, st);
    });

    auto* local = app.verb("local", "Export this host's endpoints behind the VTEP as peers for the other hosts");
    local->add_option("-d,--dev", dev, "VXLAN device (default: the only one)")->type_name("VTEP");
    local->add_option("--vtep", vtep, "Underlay address to advertise (default: the VTEP's local address, else the source of the route toward its peers in the namespace of its socket)")->type_name("IP");
    local->callback([&] {
        auto dv = arg_opt_ip("local", "vtep", vtep);
        Handle h(g.netns);
        std::string d = fdb_pick_dev(h, dev);
        json a = json::array();
        for (auto& p : fdb_local(h, d, dv)) a.push_back(p.to_json());
        emit(g, a, peer_table);
    });

    return app.run(argc, argv);
}
