// ovnet-sbox: sandboxes (containers, ingress_sbox): namespaces joined to bridges by veth pairs.
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common.hpp"
#include "ovnet/crypt.hpp"

using namespace ovnet;
using namespace ovnet::tool;

namespace {

void sbox_table(const json& doc) {
    // The seed's correlation: "16: eth0 <===> 17: veth4dd295a (ov-001001-7672d)".
    Table t({"SANDBOX", "INTERFACE", "MAC", "MTU", "ADDRESSES", "PEER", "BRIDGE"});
    for (auto& s : doc) {
        bool first = true;
        std::string sname = s["name"].get<std::string>();
        // "073823c14fcf (docker: c1)": Docker's sandbox of container c1.
        if (s["container"].is_string()) sname += " (docker: " + s["container"].get<std::string>() + ")";
        else if (s["source"] == "docker") sname += " (docker)";
        for (auto& e : s["interfaces"]) {
            std::string addrs;
            for (auto& a : e["addresses"]) addrs += (addrs.empty() ? "" : ",") + a.get<std::string>();
            std::string peer = "-", bridge = "-";
            if (e.contains("peer") && e["peer"].is_object()) {
                auto& p = e["peer"];
                std::string ns = p["netns"].get<std::string>();
                std::string ifn = p["ifname"].get<std::string>();
                peer = fmt::format("<===> {}{}: {}", ns.empty() ? "" : ns + " ", p["ifindex"].get<int>(), ifn.empty() ? "?" : ifn);
                bridge = cell(p["bridge"]);
            }
            t.row({first ? sname : "", fmt::format("{}: {}", e["ifindex"].get<int>(), e["ifname"].get<std::string>()),
                   e["mac"].get<std::string>(), std::to_string(e["mtu"].get<int>()), addrs.empty() ? "-" : addrs, peer, bridge});
            first = false;
        }
        if (first) t.row({sname, "-", "-", "-", "-", "-", "-"});
    }
    t.print(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    App app("ovnet-sbox", "Create sandboxes (network namespaces) and connect them to bridges with veth pairs.\n"
                          "-n selects the namespace holding the bridges (the host).");
    auto& g = app.g;

    std::string name;
    auto* show = app.verb("show", "List sandboxes (ours and Docker's) with interfaces, host-side peers and bridges");
    show->add_option("name", name, "Only this sandbox (a name or a path; default: the -n namespace, else all)")
        ->type_name("SANDBOX");
    show->callback([&] {
        // -n names the namespace to show when no SANDBOX is given; both must agree.
        if (!g.netns.empty()) {
            if (name.empty()) name = g.netns;
            else if (netns_resolve(name) != netns_resolve(g.netns))
                throw_input({}, "netns", g.netns, "-n and SANDBOX name different namespaces (" + name + "): give one");
        }
        json a = json::array();
        for (auto& s : sbox_show(name)) a.push_back(s.to_json());
        emit(g, a, sbox_table);
    });

    std::string bridge, ip, mac, gw, ifname, host_ifname;
    std::optional<uint64_t> mtu;
    bool encrypted = false;
    std::vector<std::string> sysctls;
    auto connect_opts = [&](CLI::App* v, bool bridge_required) {
        auto* b = v->add_option("--bridge", bridge, "Bridge in the host namespace to connect to")->type_name("BRIDGE");
        if (bridge_required) b->required();
        v->add_option("--ip", ip, "Address inside the sandbox, CIDR")->type_name("CIDR");
        v->add_option("--mac", mac, "MAC inside (default: Docker's 02:42:<IPv4 bytes>)")->type_name("MAC");
        v->add_option("--gw", gw, "Default route via this address")->type_name("IP");
        v->add_option("--ifname", ifname, "Name inside (default: the next free ethN)")->type_name("IFNAME");
        v->add_option("--host-ifname", host_ifname, "Host-side name (default: veth + 7 hex digits)")->type_name("IFNAME");
        auto* m = v->add_option("--mtu", mtu, "MTU of both ends (default: the bridge's)")->type_name("MTU");
        v->add_flag("--encrypted", encrypted, "The bridge is an encrypted overlay's (ovnet-crypt): MTU 1424")->excludes(m);
        v->add_option("--sysctl", sysctls, "KEY=VALUE set inside the sandbox (repeatable)")->type_name("KEY=VALUE");
    };
    auto spec_json = [&]() {
        json o = {{"sandbox", name}, {"bridge", bridge}};
        if (!ip.empty()) o["ip"] = ip;
        if (!mac.empty()) o["mac"] = mac;
        if (!gw.empty()) o["gateway"] = gw;
        if (!ifname.empty()) o["ifname"] = ifname;
        if (!host_ifname.empty()) o["host_ifname"] = host_ifname;
        if (mtu) o["mtu"] = *mtu;
        if (encrypted) {
            o["mtu"] = kEncryptedOverlayMtu;
            if (!g.quiet)
                fmt::print(stderr, "{}: encrypted overlay: MTU {} (1500 - 50 VXLAN - 26 ESP, a multiple of 4)\n", g.name,
                           kEncryptedOverlayMtu);
        }
        json s = json::object();
        for (auto& [k, v] : parse_kv(sysctls, "sysctl")) s[k] = v;
        if (!s.empty()) o["sysctls"] = s;
        return o;
    };

    auto* add = app.verb("add", "Create a sandbox; with --bridge also connect it", VerbKind::Mutating);
    add->add_option("name", name, "Sandbox name (a file in /run/netns)")->required()->type_name("SANDBOX");
    connect_opts(add, false);
    add->callback([&] {
        validate_netns_name(name);
        Changes ch;
        if (bridge.empty()) {
            if (!ip.empty() || !mac.empty() || !gw.empty() || !ifname.empty() || !host_ifname.empty() || mtu || encrypted)
                throw_input("sandbox " + name, "bridge", "", "interface options need --bridge");
            ch = sbox_add(name, parse_kv(sysctls, "sysctl"));
        } else {
            auto spec = ConnectSpec::from_json(spec_json());
            Handle h(g.netns);
            ch = sbox_connect(h, spec);
        }
        report(g, ch, sbox_show(name).at(0).to_json());
    });

    auto* conn = app.verb("connect", "Connect a sandbox to a bridge with a veth pair (creates the sandbox if needed)", VerbKind::Mutating);
    conn->add_option("name", name, "Sandbox name")->required()->type_name("SANDBOX");
    connect_opts(conn, true);
    conn->callback([&] {
        auto spec = ConnectSpec::from_json(spec_json());
        Handle h(g.netns);
        auto ch = sbox_connect(h, spec);
        report(g, ch, sbox_show(name).at(0).to_json());
    });

    auto* disc = app.verb("disconnect", "Remove the veth pair(s) joining a sandbox to a bridge", VerbKind::Mutating);
    disc->add_option("name", name, "Sandbox name")->required()->type_name("SANDBOX");
    disc->add_option("--bridge", bridge, "Bridge in the host namespace")->required()->type_name("BRIDGE");
    disc->callback([&] {
        Handle h(g.netns);
        auto ch = sbox_disconnect(h, name, bridge);
        report(g, ch, to_json(ch));
    });

    auto* apply = app.verb("apply", "Connect every endpoint object read on stdin ({sandbox, bridge, ip, ...})", VerbKind::MutatingFromStdin);
    apply->callback([&] {
        std::vector<ConnectSpec> specs;
        for (auto& o : read_stdin("stdin")) specs.push_back(ConnectSpec::from_json(o));
        Handle h(g.netns);
        for (auto& s : specs) {
            auto b = link_get(h, s.bridge);
            if (!b || b->kind != "bridge")
                throw_input("sandbox " + s.sandbox, "bridge", s.bridge, b ? "is not a bridge" : "no such bridge");
        }
        Changes ch;
        for (auto& s : specs) {
            auto c = sbox_connect(h, s);
            ch.insert(ch.end(), c.begin(), c.end());
        }
        report(g, ch, to_json(ch));
    });

    std::vector<std::string> names;
    auto* del = app.verb("del", "Delete sandboxes with their veth pairs", VerbKind::Mutating);
    del->add_option("name", names, "Sandbox names")->required()->type_name("SANDBOX");
    del->callback([&] {
        auto ch = sbox_del(names);
        report(g, ch, to_json(ch));
    });

    std::vector<std::string> cmd;
    auto* ex = app.verb("exec", "Run a command inside a sandbox (instead of nsenter or ip netns exec)");
    ex->add_option("name", name, "Sandbox name (or Docker's, or a path)")->required()->type_name("SANDBOX");
    ex->add_option("command", cmd, "Command and arguments, after --")->required()->type_name("COMMAND");
    ex->callback([&] {
        NetnsFile ns = netns_open(name);
        if (ns.fd() >= 0 && ::setns(ns.fd(), CLONE_NEWNET) < 0) {
            int e = errno;
            std::string m = e == EPERM ? missing_capability(CAP_SYS_ADMIN, "entering namespace " + shown_text(name)) : "";
            if (!m.empty()) throw Error(ErrorKind::Runtime, m, e);
            throw_sys(e, "enter " + ns.path(), {}, "sandbox " + name);
        }
        std::vector<char*> argv2;
        for (auto& c : cmd) argv2.push_back(c.data());
        argv2.push_back(nullptr);
        ::execvp(argv2[0], argv2.data());
        int e = errno;
        throw Error(ErrorKind::Runtime, fmt::format("exec {}: {}", cmd[0], std::strerror(e)), e);
    });

    return app.run(argc, argv);
}
