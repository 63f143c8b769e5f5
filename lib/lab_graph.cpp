// ovnet-lab graph and capture hops: the plan drawn as Graphviz DOT (a traced journey over it), and
// a hop name resolved to a namespace and an interface. Pure.
#include "ovnet/lab_graph.hpp"

#include <fmt/format.h>

#include <map>
#include <set>

#include "ovnet/error.hpp"
#include "ovnet/trace.hpp"

namespace ovnet {

namespace {

// A DOT string: quoted, with " and \ escaped; "\n" in `s` (a real newline) becomes a label break.
std::string q(const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
        if (c == '\n') { o += "\\n"; continue; }
        if (c == '"' || c == '\\') o += '\\';
        o += c;
    }
    return o + "\"";
}

}  // namespace

std::string lab_graph_id(const std::string& netns, const std::string& dev) { return q(netns + "/" + dev); }

std::string lab_graph_dot(const LabPlan& p, const LabGraphLive& live, const json& trace) {
    if (!trace.is_null()) {
        if (!trace.is_object() || !trace.contains("schema") || trace["schema"] != kTraceSchema)
            throw_input("trace", "schema", trace.is_object() && trace.contains("schema") ? trace["schema"].dump() : "",
                        std::string("expected an ") + kTraceSchema + " document (ovnet-trace -j)");
        if (!trace.contains("paths") || !trace["paths"].is_array())
            throw_input("trace", "paths", "", "missing: expected the paths of an " + std::string(kTraceSchema) + " document");
    }
    std::set<std::string> ids;   // the device nodes drawn, for the trace
    std::map<std::string, std::set<std::string>> adj;   // devices joined by a veth or a port
    auto join = [&](const std::string& a, const std::string& b) { adj[a].insert(b), adj[b].insert(a); };
    std::string out;
    out += "digraph " + q("ovnet-lab " + p.prefix) + " {\n";
    out += "  graph [rankdir=LR, compound=true, fontname=\"Helvetica\", fontsize=12, labelloc=t, label=" +
           q("ovnet-lab " + p.prefix + ": " + p.topology.name) + "];\n";
    out += "  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n";
    out += "  edge [fontname=\"Helvetica\", fontsize=9, dir=none];\n";
    auto dev = [&](const std::string& indent, const std::string& ns, const std::string& name, const std::string& label,
                   const std::string& attrs) {
        ids.insert(ns + "/" + name);
        out += indent + lab_graph_id(ns, name) + " [label=" + q(label) + (attrs.empty() ? "" : ", " + attrs) + "];\n";
    };

    // The underlay.
    out += "  subgraph " + q("cluster_" + p.underlay_netns) + " {\n";
    out += "    label=" + q("underlay (" + p.underlay_netns + ")") + ";\n    style=filled; color=\"#eeeeee\";\n";
    dev("    ", p.underlay_netns, "ul0",
        "ul0\n" + p.topology.underlay.str() + (p.client.valid() ? "\nclient " + p.client.str() : std::string()),
        "shape=box, style=rounded");
    out += "  }\n";

    std::string edges;
    for (auto& n : p.nodes) {
        out += "  subgraph " + q("cluster_" + n.netns) + " {\n";
        out += "    label=" + q(n.name + " (" + n.netns + ")") + ";\n    style=rounded; color=\"#4477aa\";\n";
        dev("    ", n.netns, "eth0", "eth0\n" + n.underlay.str(), "shape=box");
        dev("    ", n.netns, "docker_gwbridge", "docker_gwbridge\n" + p.topology.gwbridge.str(), "shape=box, style=rounded");
        for (auto& o : n.overlays) {
            dev("    ", n.netns, o.bridge, o.bridge + "\nbridge " + o.network + " MTU " + std::to_string(o.mtu),
                "shape=box, style=rounded");
            dev("    ", n.netns, o.vtep,
                o.vtep + "\nVTEP VNI " + std::to_string(o.vni) + " MTU " + std::to_string(o.mtu) + (o.encrypted ? "\nencrypted" : ""),
                "shape=hexagon");
            edges += "  " + lab_graph_id(n.netns, o.vtep) + " -> " + lab_graph_id(n.netns, o.bridge) + " [label=\"port\"];\n";
            join(n.netns + "/" + o.vtep, n.netns + "/" + o.bridge);
        }
        for (auto& s : p.sandboxes) {
            if (s.node != n.name) continue;
            std::string title = s.role == "task" ? s.task : s.role;
            out += "    subgraph " + q("cluster_" + s.netns) + " {\n";
            out += "      label=" + q(title + (s.scaled ? " (after scale)" : "") + "\n" + s.netns) + ";\n";
            out += "      style=" + std::string(s.scaled ? "dashed" : "solid") + "; color=\"#228833\";\n";
            for (auto& e : s.endpoints) {
                dev("      ", s.netns, e.ifname, e.ifname + " " + e.network + "\n" + e.ip.str() + "\n" + e.mac.str(), "shape=ellipse");
                auto hv = live.host_veth.find({s.netns, e.ifname});
                std::string label = hv == live.host_veth.end() ? "veth" : hv->second;
                edges += "  " + lab_graph_id(s.netns, e.ifname) + " -> " + lab_graph_id(n.netns, e.bridge) +
                         " [label=" + q(label) + "];\n";
                join(s.netns + "/" + e.ifname, n.netns + "/" + e.bridge);
            }
            out += "    }\n";
        }
        out += "  }\n";
        edges += "  " + lab_graph_id(n.netns, "eth0") + " -> " + lab_graph_id(p.underlay_netns, "ul0") + " [label=\"veth\"];\n";
        join(n.netns + "/eth0", p.underlay_netns + "/ul0");
    }
    // The overlays: one dashed edge per VNI between the VTEPs of every two nodes.
    for (size_t i = 0; i < p.nodes.size(); i++)
        for (size_t j = i + 1; j < p.nodes.size(); j++)
            for (auto& a : p.nodes[i].overlays)
                for (auto& b : p.nodes[j].overlays) {
                    if (a.vni != b.vni) continue;
                    edges += "  " + lab_graph_id(p.nodes[i].netns, a.vtep) + " -> " + lab_graph_id(p.nodes[j].netns, b.vtep) +
                             " [style=dashed, color=\"#4477aa\", constraint=false, label=" + q("VNI " + std::to_string(a.vni)) +
                             "];\n";
                }
    out += edges;

    // The journey: each path's hops that name a device of the plan, joined in order.
    if (!trace.is_null()) {
        static const char* colors[] = {"#cc3311", "#ee7733", "#aa3377", "#009988"};
        size_t pi = 0;
        for (auto& path : trace["paths"]) {
            const char* color = colors[pi++ % 4];
            if (!path.is_object() || !path.contains("hops") || !path["hops"].is_array()) continue;
            std::string prev;
            size_t num = 0;
            for (auto& h : path["hops"]) {
                ++num;
                if (!h.is_object()) continue;
                std::string ns = h.value("netns", std::string()), obj = h.value("object", std::string());
                // A snapshot trace labels namespaces "host:label" when two hosts share a label.
                if (auto c = ns.find(':'); c != std::string::npos && !ids.count(ns + "/" + obj)) ns = ns.substr(c + 1);
                std::string key = ns + "/" + obj;
                if (!ids.count(key)) {
                    auto sp = obj.find(' ');   // "eth0 -> veth..." or "vx-... fdb": the first word
                    key = ns + "/" + obj.substr(0, sp);
                }
                // A hop naming no device (a route, a socket) in a namespace the journey just
                // entered: the device it entered by, the one joined to the previous hop's.
                if (!ids.count(key) && !prev.empty() && prev.compare(0, ns.size() + 1, ns + "/") != 0) {
                    for (auto& d : adj[prev])
                        if (d.compare(0, ns.size() + 1, ns + "/") == 0) { key = d; break; }
                }
                if (!ids.count(key) || key == prev) continue;
                if (!prev.empty())
                    out += "  " + q(prev) + " -> " + q(key) + " [dir=forward, constraint=false, color=\"" + color +
                           "\", fontcolor=\"" + color + "\", penwidth=2.5, label=" + q(std::to_string(num)) + "];\n";
                prev = key;
            }
        }
    }
    return out + "}\n";
}

LabHop lab_hop_resolve(const LabPlan& p, const std::string& hop) {
    auto fail = [&](const std::string& why) -> LabHop { throw_input("hop", "", hop, why); };
    std::string node, rest = hop;
    if (auto s = hop.find('/'); s != std::string::npos) node = hop.substr(0, s), rest = hop.substr(s + 1);
    if (rest.empty()) return fail("names no interface (NODE/IF, NODE/TASK:IF, TASK:IF)");
    if (node == "ul" || node == p.underlay_netns) return {"", p.underlay_netns, rest, "underlay " + rest};
    const LabNode* n = nullptr;
    if (!node.empty()) {
        for (auto& x : p.nodes)
            if (x.name == node || x.netns == node) n = &x;
        if (!n) {
            std::string names;
            for (auto& x : p.nodes) names += (names.empty() ? "" : ", ") + x.name;
            return fail("no node " + node + " in the lab (" + names + ", or ul)");
        }
    }
    if (auto c = rest.find(':'); c != std::string::npos) {
        std::string who = rest.substr(0, c), ifname = rest.substr(c + 1);
        for (auto& s : p.sandboxes) {
            bool match = s.role == "task" ? s.task == who : s.role == who;
            if (!match || (n && s.node != n->name) || (!n && s.role != "task")) continue;
            if (s.scaled && !p.scaled) return fail(s.task + " exists only after scale");
            for (auto& e : s.endpoints)
                if (e.ifname == ifname)
                    return {s.node, s.netns, ifname, (s.role == "task" ? "task " + s.task : s.role) + " " + ifname + " (" + e.network + ")"};
            std::string ifs;
            for (auto& e : s.endpoints) ifs += (ifs.empty() ? "" : ", ") + e.ifname;
            return fail(who + " has no " + ifname + " (" + ifs + ")");
        }
        if (n) {
            for (auto& s : p.sandboxes)
                if (s.role == "task" && s.task == who) return fail(who + " runs on " + s.node + ", not on " + n->name);
            return fail("no task or sandbox " + who + " on " + n->name);
        }
        return fail("no task " + who + " in the lab");
    }
    if (!n) return fail("names no node: NODE/" + rest + " (e.g. " + (p.nodes.empty() ? std::string("swarm-01") : p.nodes[0].name) + "/" + rest + ")");
    for (auto& o : n->overlays) {
        if (o.vtep == rest) return {n->name, n->netns, rest, "VTEP " + rest + " (VNI " + std::to_string(o.vni) + ")"};
        if (o.bridge == rest) return {n->name, n->netns, rest, "bridge " + rest + " (" + o.network + ")"};
    }
    if (rest == "eth0") return {n->name, n->netns, rest, "underlay eth0 (" + n->underlay.str() + ")"};
    if (rest.size() > 15) return fail("is not an interface name (at most 15 bytes)");
    return {n->name, n->netns, rest, rest + " on " + n->name};
}

}  // namespace ovnet
