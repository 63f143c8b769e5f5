// ovnet/lab_graph.hpp - the lab drawn and watched: its topology as Graphviz DOT (with a traced
// journey over it), and the resolution of a capture hop ("swarm-01/redis.2:eth0") to a namespace
// and an interface. Pure: everything is computed from the plan (include/ovnet/lab.hpp), the live
// names the caller read, and an ovnet-trace JSON document.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ovnet/json.hpp"
#include "ovnet/lab.hpp"

namespace ovnet {

/// What the graph adds from the live lab (all optional): the host-side veth of a sandbox's
/// interface, keyed by (sandbox netns, ifname), e.g. ("lab-swarm-01-redis.2", "eth0") -> "veth3a1f".
struct LabGraphLive {
    std::map<std::pair<std::string, std::string>, std::string> host_veth;
};

/// The lab's topology as a DOT digraph: the underlay namespace (ul0, the outside client), one
/// cluster per node (eth0, docker_gwbridge, each overlay's bridge and VTEP) holding one
/// sub-cluster per sandbox (its interfaces, addresses, MACs); veth pairs as edges from a sandbox's
/// interface to its bridge, each node's eth0 to ul0, and per overlay one dashed edge "VNI N"
/// between the VTEPs of every two nodes. With `trace` (an ovnet-trace/1 document, null for none)
/// the journey of each path is drawn over it: highlighted edges numbered by hop, between the
/// devices its hops name; a hop naming no device ("kernel" routes, a socket) in a namespace the
/// journey just entered is drawn at the device it entered by (joined to the previous hop's: the
/// node's eth0 from ul0, a task's interface from its bridge); other hops ("nat PREROUTING") keep
/// their number but draw no edge. Error(Input) when `trace` is not an ovnet-trace document. Pure.
std::string lab_graph_dot(const LabPlan& plan, const LabGraphLive& live = {}, const json& trace = json());

/// A DOT node id for a device in a namespace ("lab-swarm-01", "eth0" -> "\"lab-swarm-01/eth0\"").
std::string lab_graph_id(const std::string& netns, const std::string& dev);

/// A capture point of the lab.
struct LabHop {
    std::string node;                 ///< "swarm-01" ("" for the underlay namespace)
    std::string netns;                ///< the namespace to capture in
    std::string ifname;               ///< the interface there
    std::string what;                 ///< "task redis.2 eth0 (vote)", "VTEP vx-001002-7672d (VNI 4098)", "underlay eth0"
};

/// Resolves HOP against the plan: "NODE/TASK:IF" or "TASK:IF" (a task's interface, e.g.
/// "swarm-01/redis.2:eth0"), "NODE/ingress_sbox:IF", "NODE/DEV" (any device of the node's host
/// namespace: "eth0" the underlay, a VTEP, a bridge, a host-side veth), "ul/ul0" (the underlay
/// bridge). Error(Input) naming the hop and what exists when it names nothing of the plan. Pure
/// (a device of a node's host namespace is taken as given: the capture says when it is absent).
LabHop lab_hop_resolve(const LabPlan& plan, const std::string& hop);

}  // namespace ovnet
