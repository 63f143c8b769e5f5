// ovnet-inspect: one JSON snapshot of a node's whole overlay state (every namespace: links,
// bridges, VTEPs, peers, addresses, routes, IPVS, netfilter rules, sysctls) and the networks view
// assembled from it; on a terminal, a summary per network.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

#include "common.hpp"

using namespace ovnet;
using namespace ovnet::tool;

namespace {

std::string join(const json& a, const char* sep = ", ") {
    std::string s;
    for (auto& x : a) s += (s.empty() ? "" : sep) + (x.is_string() ? x.get<std::string>() : x.dump());
    return s.empty() ? "-" : s;
}

void summary(const json& doc) {
    auto& nets = doc["networks"];
    fmt::print("host {} at {}: {} namespaces, {} overlay networks\n", doc["host"].get<std::string>(),
               doc["time"].get<std::string>(), doc["netns"].size(), nets.size());
    for (auto& n : nets) {
        fmt::print("\nnetwork {} (vni {}) in {}: bridge {}, vtep {}, mtu {}, port {}, local {}, encrypted {}\n",
                   cell(n["id"]), n["vni"].get<uint32_t>(), n["netns"].get<std::string>(), n["bridge"].get<std::string>(),
                   n["vtep"].get<std::string>(), n["mtu"].get<uint32_t>(), n["port"].get<int>(), cell(n["local"]),
                   n["encrypted"].is_null() ? "unknown" : n["encrypted"].get<bool>() ? "yes" : "no");
        fmt::print("subnets: {}\n", join(n["subnets"]));
        if (!n["endpoints"].empty()) {
            fmt::print("endpoints:\n");
            Table t({"  SANDBOX", "CONTAINER", "IFNAME", "MAC", "ADDRESSES", "HOST-IFNAME"});
            for (auto& e : n["endpoints"])
                t.row({"  " + cell(e["sandbox"]), cell(e["container"]), cell(e["ifname"]), cell(e["mac"]),
                       join(e["addresses"]), e["host_ifname"].get<std::string>()});
            t.print(stdout);
        }
        fmt::print("peer hosts: {}\n", join(n["peer_hosts"]));
        if (!n["peers"].empty()) {
            Table t({"  IP", "MAC", "VTEP", "STATUS"});
            for (auto& p : n["peers"])
                t.row({"  " + cell(p["ip"]), p["mac"].get<std::string>(), cell(p["vtep"]), p["status"].get<std::string>()});
            t.print(stdout);
        }
        for (auto& s : n["services"]) {
            json b = json::array();
            if (s["backends"].is_array())
                for (auto& d : s["backends"]) b.push_back(d["address"]);
            fmt::print("service {} fwmark {} in {}: backends {}\n", s["vip"].get<std::string>(), s["fwmark"].get<uint32_t>(),
                       cell(s["netns"]), join(b));
        }
        for (auto& p : n["published"])
            fmt::print("published {}/{} (host {}, sandbox {})\n", p["port"].get<int>(), p["proto"].get<std::string>(),
                       cell(p["netns"]), cell(p["ingress_sbox"]));
    }
}

}  // namespace

int main(int argc, char** argv) {
    App app("ovnet-inspect", "One JSON snapshot of the node's whole overlay state, with a networks view.");
    auto& g = app.g;
    std::vector<std::string> netns_dirs;
    std::string host_prefix;
    app.cli.require_subcommand(0, 0);
    app.cli.add_option("--netns-dir", netns_dirs,
                       "Also read the namespaces in DIR (repeatable): a Docker exec-root's netns directory, "
                       "/proc/PID/root/var/run/docker/netns")
        ->type_name("DIR")
        ->allow_extra_args(false)
        ->check([](const std::string& v) {
            struct stat st;
            return !v.empty() && ::stat(v.c_str(), &st) == 0 && S_ISDIR(st.st_mode)
                       ? std::string()
                       : "netns-dir \"" + v + "\": no such directory";
        });
    app.cli.add_option("--host-prefix", host_prefix,
                       "One machine, several nodes: one snapshot per namespace whose name starts with PFX "
                       "(a node's host), with the namespaces attached to it")
        ->type_name("PFX")
        ->allow_extra_args(false);
    app.cli.callback([&] {
        for (auto& d : netns_dirs) docker_netns_dirs_add(d);
        InspectOptions opt;
        opt.netns = g.netns;
        // Compact JSON is streamed from the objects (schema::to_file, the bytes of the DOM's
        // dump()): a DOM of 100,000 peers would take several times the output's size.
        auto out = [&](const Snapshot& snap) {
            if (g.json_out() && !g.pretty) {
                bool ok = schema::to_file(stdout, snap) && std::fputc('\n', stdout) != EOF && std::fflush(stdout) == 0;
                if (!ok) throw_sys(errno, "write the snapshot to stdout");
            } else {
                emit(g, snap.to_json(), summary);
            }
        };
        if (app.cli.count("--host-prefix")) {
            if (!g.netns.empty()) throw_input("--host-prefix reads every namespace: it takes no -n (\"" + g.netns + "\")");
            if (host_prefix.empty()) throw_input("host-prefix \"\": empty (every namespace would be a node)");
            auto nodes = split_nodes(inspect_node(opt), host_prefix);
            // JSON: the documents one after the other (one a line unless -p), what ovnet-audit reads.
            bool first = true;
            for (auto& n : nodes) {
                if (!g.json_out()) fmt::print("{}== node {}\n", first ? "" : "\n", n.host);
                first = false;
                out(n);
            }
            return;
        }
        out(inspect_node(opt));
    });
    return app.run(argc, argv);
}
