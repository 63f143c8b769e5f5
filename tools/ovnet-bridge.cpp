// ovnet-bridge: Linux bridges, their ports and where each veth port leads.
#include "common.hpp"

using namespace ovnet;
using namespace ovnet::tool;

namespace {

std::string port_cell(const json& p) {
    std::string s = fmt::format("{}: {}", p["ifindex"].get<int>(), p["name"].get<std::string>());
    if (p.contains("peer") && p["peer"].is_object()) {
        auto& r = p["peer"];
        std::string ns = r["netns"].get<std::string>();
        std::string ifn = r["ifname"].get<std::string>();
        s += fmt::format(" <===> {}{}: {}", ns.empty() ? "" : ns + " ", r["ifindex"].get<int>(), ifn.empty() ? "?" : ifn);
    } else if (!p["kind"].get<std::string>().empty()) {
        s += " (" + p["kind"].get<std::string>() + ")";
    }
    return s;
}

void bridge_table(const json& doc) {
    Table t({"BRIDGE", "MAC", "MTU", "STATE", "ADDRESSES", "PORTS"});
    for (auto& b : doc) {
        std::string addrs;
        for (auto& a : b["addresses"]) addrs += (addrs.empty() ? "" : ",") + a.get<std::string>();
        std::vector<std::string> first = {b["name"].get<std::string>(), b["mac"].get<std::string>(),
                                          std::to_string(b["mtu"].get<int>()), b["state"].get<std::string>(),
                                          addrs.empty() ? "-" : addrs, "-"};
        if (b["ports"].empty()) { t.row(first); continue; }
        bool top = true;
        for (auto& p : b["ports"]) {
            if (top) { first[5] = port_cell(p); t.row(first); top = false; }
            else t.row({"", "", "", "", "", port_cell(p)});
        }
    }
    t.print(stdout);
}

json shown(Handle& h, const std::string& name) {
    json a = json::array();
    for (auto& b : bridge_show(h, name)) a.push_back(b.to_json());
    return a;
}

}  // namespace

int main(int argc, char** argv) {
    App app("ovnet-bridge", "Create, inspect and wire Linux bridges (brctl show with veth correlation).");
    auto& g = app.g;

    std::string name;
    auto* show = app.verb("show", "List bridges with their ports and, for veth ports, the peer's namespace and name");
    show->add_option("name", name, "Only this bridge")->type_name("BRIDGE");
    show->callback([&] {
        Handle h(g.netns);
        emit(g, shown(h, name), bridge_table);
    });

    std::optional<uint32_t> mtu;
    std::string mac;
    std::vector<std::string> addrs, ports;
    auto* add = app.verb("add", "Create a bridge, or converge an existing one (reads bridge objects on stdin without NAME)", VerbKind::MutatingFromStdin);
    add->add_option("name", name, "Bridge name (at most 15 bytes)")->type_name("BRIDGE");
    add->add_option("--mtu", mtu, "MTU (68..65535)")->type_name("MTU");
    add->add_option("--mac", mac, "MAC address of the bridge")->type_name("MAC");
    add->add_option("--addr", addrs, "Address to add, CIDR (repeatable)")->type_name("CIDR");
    add->add_option("--port", ports, "Existing interface to attach (repeatable)")->type_name("IFNAME");
    add->callback([&] {
        std::vector<BridgeSpec> specs;
        std::string ns = g.netns;
        if (name.empty()) {
            if (!stdin_has_data()) throw_input("usage: ovnet-bridge add NAME [options], or bridge objects on stdin");
            auto objs = read_stdin("stdin");
            ns = netns_for(g, objs);
            for (auto& o : objs) specs.push_back(BridgeSpec::from_json(o));
        } else {
            json o = {{"name", name}};
            if (mtu) o["mtu"] = *mtu;
            if (!mac.empty()) o["mac"] = mac;
            o["addresses"] = addrs;
            o["ports"] = ports;
            specs.push_back(BridgeSpec::from_json(o));
        }
        lock_netns(ns);
        Handle h(ns);
        auto ch = bridge_apply(h, specs);
        json out = json::array();
        for (auto& s : specs) out.push_back(bridge_show(h, s.name).at(0).to_json());
        report(g, ch, specs.size() == 1 ? out[0] : out);
    });

    auto* apply = app.verb("apply", "Create or converge every bridge object read on stdin (ovnet-bridge show -j output)", VerbKind::MutatingFromStdin);
    apply->callback([&] {
        std::vector<BridgeSpec> specs;
        auto objs = read_stdin("stdin");
        for (auto& o : objs) specs.push_back(BridgeSpec::from_json(o));
        Handle h(netns_for(g, objs));
        auto ch = bridge_apply(h, specs);
        report(g, ch, to_json(ch));
    });

    std::vector<std::string> names;
    auto* del = app.verb("del", "Delete bridges (their ports are detached by the kernel)", VerbKind::Mutating);
    del->add_option("name", names, "Bridge names")->required()->type_name("BRIDGE");
    del->callback([&] {
        Handle h(g.netns);
        auto ch = bridge_del(h, names);
        report(g, ch, to_json(ch));
    });

    std::string bname;
    std::vector<std::string> pnames;
    auto* attach = app.verb("attach", "Attach interfaces to a bridge", VerbKind::Mutating);
    attach->add_option("bridge", bname, "Bridge")->required()->type_name("BRIDGE");
    attach->add_option("ports", pnames, "Interfaces")->required()->type_name("IFNAME");
    attach->callback([&] {
        Handle h(g.netns);
        auto ch = bridge_attach(h, bname, pnames);
        report(g, ch, shown(h, bname).at(0));
    });
    auto* detach = app.verb("detach", "Detach interfaces from a bridge", VerbKind::Mutating);
    detach->add_option("bridge", bname, "Bridge")->required()->type_name("BRIDGE");
    detach->add_option("ports", pnames, "Interfaces")->required()->type_name("IFNAME");
    detach->callback([&] {
        Handle h(g.netns);
        auto ch = bridge_detach(h, bname, pnames);
        report(g, ch, shown(h, bname).at(0));
    });

    return app.run(argc, argv);
}
