// ovnet-fdb: the peer table of an overlay (what Docker's peerAdd programs on a VTEP).
#include "common.hpp"

using namespace ovnet;
using namespace ovnet::tool;

namespace {

void peer_table(const json& doc) {
    Table t({"MAC", "IP", "VTEP", "STATUS", "FDB", "NEIGH", "FLAGS"});
    for (auto& p : doc) {
        std::string flags;
        if (p.contains("flags"))
            for (auto& f : p["flags"]) flags += (flags.empty() ? "" : ",") + f.get<std::string>();
        t.row({p["mac"].get<std::string>(), cell(p["ip"]), cell(p["vtep"]), p["status"].get<std::string>(),
               cell(p.value("fdb_state", json())), cell(p.value("neigh_state", json())), flags.empty() ? "-" : flags});
    }
    t.print(stdout);
}

// The VTEP to work on: -d, or the only vxlan device of the namespace.
std::string pick_dev(Handle& h, const std::string& dev) {
    if (!dev.empty()) return dev;
    std::vector<std::string> vx;
    for (auto& l : link_list(h))
        if (l.kind == "vxlan") vx.push_back(l.name);
    if (vx.size() == 1) return vx[0];
    throw_input("vtep", "dev", "", vx.empty() ? "no vxlan device in this namespace" : "several vxlan devices: choose one with -d");
}

json changes_json(const std::string& dev, const Changes& ch, const ApplyStats& s) {
    json a = json::array();
    for (auto& c : ch) {
        json o = {{"action", c.action}};
        if (c.detail.is_object())
            for (auto& [k, v] : c.detail.items()) o[k] = v;
        else
            o["object"] = c.object;
        a.push_back(std::move(o));
    }
    return {{"dev", dev},
            {"summary", {{"added", s.added}, {"replaced", s.replaced}, {"removed", s.removed},
                         {"unchanged", s.unchanged}, {"writes", s.writes}}},
            {"changes", std::move(a)}};
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
        std::string d = pick_dev(h, dev);
        json a = json::array();
        for (auto& p : fdb_show(h, d)) a.push_back(p.to_json());
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
            IpAddr a;
            if (!IpAddr::try_parse(ip, a)) throw_input("peer", "ip", ip, "not an IPv4 or IPv6 address");
            if (a.family != AF_INET) throw_input("peer " + ip, "mac", "", "required for IPv6 peers");
            o["mac"] = docker_mac(a).str();
        } else {
            throw_input("peer", "mac", "", "give --mac or --ip");
        }
        if (for_del) o["status"] = o.contains("vtep") ? (o.contains("ip") ? "peer" : "fdb-only") : "neigh-only";
        auto v = peers_from_json({o}, std::nullopt);
        return v.at(0);
    };

    auto* add = app.verb("add", "Program one peer: neighbor ip -> mac and fdb mac -> vtep, both permanent");
    peer_opts(add);
    add->callback([&] {
        if (ip.empty() || vtep.empty()) throw_input("peer", ip.empty() ? "ip" : "vtep", "", "required (--ip and --vtep)");
        auto p = peer_spec(false);
        Handle h(g.netns);
        std::string d = pick_dev(h, dev);
        auto ch = fdb_add(h, d, p);
        report(g, ch, to_json(ch));
    });

    auto* del = app.verb("del", "Remove one peer's entries (by --mac, or the MAC derived from --ip)");
    peer_opts(del);
    del->callback([&] {
        auto p = peer_spec(true);
        Handle h(g.netns);
        std::string d = pick_dev(h, dev);
        auto ch = fdb_del(h, d, p);
        report(g, ch, to_json(ch));
    });

    bool prune = false;
    auto* apply = app.verb("apply", "Converge the VTEP to the set read on stdin in one batched exchange");
    apply->add_option("-d,--dev", dev, "VXLAN device (default: the only one)")->type_name("VTEP");
    apply->add_flag("--prune", prune, "Also remove permanent peers missing from the set");
    apply->add_option("--vtep", vtep, "VTEP for entries that carry none (e.g. endpoints)")->type_name("IP");
    apply->callback([&] {
        std::optional<IpAddr> dv;
        if (!vtep.empty()) {
            IpAddr a;
            if (!IpAddr::try_parse(vtep, a)) throw_input("apply", "vtep", vtep, "not an IPv4 or IPv6 address");
            dv = a;
        }
        auto specs = peers_from_json(read_stdin("stdin"), dv);
        Handle h(g.netns);
        std::string d = pick_dev(h, dev);
        ApplyStats st;
        auto ch = fdb_apply(h, d, specs, prune, &st);
        json doc = changes_json(d, ch, st);
        if (g.json_out()) {
            emit(g, doc, nullptr);
            if (!g.quiet)
                fmt::print(stderr, "ovnet-fdb: {}: {} added, {} replaced, {} removed, {} unchanged{}\n", d, st.added,
                           st.replaced, st.removed, st.unchanged, st.writes ? "" : " (no write issued)");
        } else {
            print_changes(stdout, ch);
            fmt::print("{}: {} added, {} replaced, {} removed, {} unchanged{}\n", d, st.added, st.replaced, st.removed,
                       st.unchanged, st.writes ? "" : " (nothing changed, no write issued)");
        }
    });

    auto* local = app.verb("local", "Export this host's endpoints behind the VTEP as peers for the other hosts");
    local->add_option("-d,--dev", dev, "VXLAN device (default: the only one)")->type_name("VTEP");
    local->add_option("--vtep", vtep, "Underlay address to advertise (default: the VTEP's local address)")->type_name("IP");
    local->callback([&] {
        std::optional<IpAddr> dv;
        if (!vtep.empty()) {
            IpAddr a;
            if (!IpAddr::try_parse(vtep, a)) throw_input("local", "vtep", vtep, "not an IPv4 or IPv6 address");
            dv = a;
        }
        Handle h(g.netns);
        std::string d = pick_dev(h, dev);
        json a = json::array();
        for (auto& p : fdb_local(h, d, dv)) a.push_back(p.to_json());
        emit(g, a, peer_table);
    });

    return app.run(argc, argv);
}
