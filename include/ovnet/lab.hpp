// ovnet/lab.hpp - ovnet-lab: the deep dive's cluster, described by a topology file, planned purely
// (every name, address, MAC, mark and peer computed from the topology alone), then built in network
// namespaces with the library. The plan is what the tour, the checks, the break scenarios and the
// graph read: nothing about a lab is ever guessed from names in /run/netns.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>
#include "ovnet/addr.hpp"
#include "ovnet/json.hpp"

namespace ovnet {

// ---------------------------------------------------------------- topology (the input)

/// One service of the topology ("docker service create --name NAME --network NET --replicas N").
struct LabServiceSpec {
    std::string name;                 ///< [a-z0-9-]{1,15}
    std::string network;              ///< an overlay of the topology
    unsigned replicas = 1;
    std::optional<unsigned> scale;    ///< the tour's "docker service scale NAME=N" (N > replicas)
    std::vector<uint16_t> ports;      ///< ports the tasks listen on (the lab's responder answers there)
    std::optional<uint16_t> publish;  ///< published through the routing mesh (ingress), e.g. 30000
    std::optional<IpAddr> vip;        ///< default: next free address of the network
    std::optional<uint32_t> fwmark;   ///< default: next free mark from 256, in service order
    std::optional<uint32_t> ingress_fwmark;   ///< default: allocated just before fwmark
    std::optional<IpAddr> ingress_vip;        ///< the service's VIP on the ingress network
    /// Task placement, one node per task slot (slot i+1 on nodes[i]); missing slots are spread
    /// (the node with the fewest tasks, ties in node order), as Swarm's default scheduler does.
    std::vector<std::string> nodes;
    /// Task addresses per slot on the service's network (missing: next free); ingress likewise.
    std::vector<IpAddr> ips;
    std::vector<IpAddr> ingress_ips;
    template <class W> void fields(W& w) const;   ///< the JSON form (schema.hpp; lib/lab.cpp)
};

/// One overlay network ("docker network create -d overlay [--opt encrypted] NAME").
struct LabNetworkSpec {
    std::string name;
    std::string id;                   ///< Docker's 25-char network id (its first 5 name the links)
    uint32_t vni = 0;
    Prefix subnet;
    bool encrypted = false;
    std::optional<uint32_t> mtu;      ///< default 1450, 1424 when encrypted
    template <class W> void fields(W& w) const;   ///< the JSON form (schema.hpp; lib/lab.cpp)
};

/// The whole cluster. Read from YAML (tools/lab_cli.hpp) or JSON (from_json); the one schema
/// is schema/lab-topology.schema.json.
struct LabTopology {
    std::string name;                 ///< e.g. "deep-dive"
    Prefix underlay;                  ///< node i (1-based) gets host .10+i; the outside client .100
    std::vector<std::string> nodes;   ///< e.g. swarm-01..03
    Prefix gwbridge;                  ///< docker_gwbridge, .1 on every node, sandboxes from .2
    LabNetworkSpec ingress;           ///< VNI 4096, 10.255.0.0/16; ingress_sbox .2.. per node
    std::vector<LabNetworkSpec> networks;
    std::vector<LabServiceSpec> services;

    template <class W> void fields(W& w) const;   ///< the JSON form (schema.hpp; lib/lab.cpp)
    json to_json() const;
    static LabTopology from_json(const json& j);   ///< Input error naming the key/value on bad input
    void validate() const;                          ///< whole-topology checks (before any write)
};

// The YAML reader lives with the tool (tools/lab_cli.hpp: yaml-cpp is a dependency of ovnet-lab
// only, not of libovnet): YAML -> the JSON form -> LabTopology::from_json.
/// `nodes` first nodes only (--nodes N): services placed on dropped nodes are re-spread.
LabTopology lab_topology_with_nodes(const LabTopology& t, unsigned nodes);

// ---------------------------------------------------------------- plan (pure)

/// One interface of a sandbox, joined to a bridge of its node's host namespace.
struct LabEndpoint {
    std::string ifname;               ///< eth0, eth1, ... in Docker's order
    std::string network;              ///< "ingress", "docker_gwbridge" or an overlay's name
    std::string bridge;               ///< the bridge in the node namespace
    Prefix ip;                        ///< with the network's prefix length
    Mac mac;                          ///< 02:42:<IPv4>
    uint32_t mtu = 0;
    std::optional<IpAddr> gateway;    ///< docker_gwbridge endpoints: 172.18.0.1
    template <class W> void fields(W& w) const;   ///< the JSON form (schema.hpp; lib/lab.cpp)
};

/// A network namespace of the lab: a node's host, its ingress_sbox, a task's container.
struct LabSandbox {
    std::string netns;                ///< the namespace's name in /run/netns (prefixed)
    std::string node;                 ///< "swarm-01"
    std::string role;                 ///< "ingress_sbox" or "task"
    std::string service, task;        ///< task: "redis", "redis.1"
    unsigned slot = 0;
    bool scaled = false;              ///< exists only after `scale` (slot > replicas)
    std::vector<LabEndpoint> endpoints;
    std::vector<uint16_t> listen;     ///< ports the lab's responder answers on
    template <class W> void fields(W& w) const;   ///< the JSON form (schema.hpp; lib/lab.cpp)
};

/// One overlay on one node: its bridge and VTEP in the node's namespace (the seed's layout).
struct LabOverlay {
    std::string network;              ///< "ingress", "mynet0", "vote"
    std::string bridge, vtep;         ///< ov-%06x-<id5>, vx-%06x-<id5>
    uint32_t vni = 0;
    uint32_t mtu = 0;
    bool encrypted = false;
    template <class W> void fields(W& w) const;   ///< the JSON form (schema.hpp; lib/lab.cpp)
};

/// A service's load balancing, as the plan programs it (ovnet-lb in every task sandbox of the
/// service's network, ovnet-publish for published ports).
struct LabLbService {
    std::string service, network;
    IpAddr vip;
    uint32_t fwmark = 0;
    std::vector<IpAddr> backends;     ///< the tasks' addresses on `network` (scaled ones included only after scale)
    std::optional<uint16_t> publish;
    uint32_t ingress_fwmark = 0;      ///< 0 when not published
    IpAddr ingress_vip;
    std::vector<IpAddr> ingress_backends;
    template <class W> void fields(W& w) const;   ///< the JSON form (schema.hpp; lib/lab.cpp)
};

struct LabNode {
    std::string name;                 ///< "swarm-01"
    std::string netns;                ///< prefixed host namespace
    Prefix underlay;                  ///< 192.0.2.11/24 on eth0
    std::vector<LabOverlay> overlays; ///< ingress first, then every network with a task here (and all on nodes of the seed: managers have them all)
    /// The overlay of `network` on this node; nullptr when none.
    const LabOverlay* overlay(const std::string& network) const {
        for (auto& o : overlays)
            if (o.network == network) return &o;
        return nullptr;
    }
    template <class W> void fields(W& w) const;   ///< the JSON form (schema.hpp; lib/lab.cpp)
};

/// Everything `up` builds, computed from the topology and the prefix alone.
struct LabPlan {
    std::string prefix;               ///< e.g. "lab": namespaces are "lab-swarm-01", ...
    LabTopology topology;
    bool scaled = false;              ///< plan after `scale` (scaled tasks included)
    std::string underlay_netns;       ///< "<prefix>-ul": bridge ul0, the outside client's address
    IpAddr client;                    ///< 192.0.2.100 (on ul0 in underlay_netns)
    std::vector<LabNode> nodes;
    std::vector<LabSandbox> sandboxes;
    std::vector<LabLbService> services;

    template <class W> void fields(W& w) const;   ///< the JSON form (schema.hpp; lib/lab.cpp)
    json to_json() const;
    /// Reads prefix, topology and scaled and recomputes the rest with lab_plan (the plan is pure:
    /// the other members are written for readers of plan.json and are not taken on input).
    static LabPlan from_json(const json& j);
    /// Lookups used by tour, check, break and graph; nullptr when absent.
    const LabNode* node(const std::string& name) const;
    const LabSandbox* sandbox_of_task(const std::string& task) const;
    const LabSandbox* sandbox_of_netns(const std::string& netns) const;
    const LabSandbox* ingress_sbox(const std::string& node) const;
    const LabLbService* service(const std::string& name) const;
    const LabNetworkSpec* network(const std::string& name) const;   ///< "ingress" or an overlay
    /// Every namespace the lab owns, in deletion order (sandboxes, nodes, underlay).
    std::vector<std::string> namespaces() const;
};

/// The pure plan. Input error on a topology that cannot be built (address pool exhausted, a node
/// named twice, a service on an unknown network...).
LabPlan lab_plan(const LabTopology& t, const std::string& prefix, bool scaled = false);

// ---------------------------------------------------------------- execution

/// What this kernel can do for the lab (probed, never assumed).
struct LabCaps {
    bool ipvs = false;                ///< /proc/net/ip_vs after modprobe-free probing
    bool gcm = false;                 ///< rfc4106(gcm(aes)) usable for ESP
    std::string ipvs_why, gcm_why;    ///< one line each when missing
};
LabCaps lab_caps();

/// /run/ovnet/lab-<prefix> ($OVNET_STATE_DIR/lab-<prefix>): plan.json (written before the first
/// change), keys (0600), pids, skipped.
std::string lab_state_dir(const std::string& prefix);
/// Error(Input) unless `prefix` is [A-Za-z0-9_-], 1..32 characters (it names namespaces and a directory).
void lab_validate_prefix(const std::string& prefix);

struct LabResult {
    Changes changes;                  ///< every change made, for the report
    std::vector<std::string> skipped; ///< "IPVS services: no IPVS in this kernel", ...
    /// Where the time went (up and scale): {"nodes", ms}, {"sandboxes", ms}, ..., in order.
    std::vector<std::pair<std::string, double>> phases;
    size_t restores = 0;              ///< iptables-restore processes run (one per namespace at most)
};

/// Builds the plan (idempotent: a second up changes nothing). Records the plan first, so that
/// `lab_down` removes everything also after a crash halfway.
LabResult lab_up(const LabPlan& plan, const LabCaps& caps);
/// `docker service scale SERVICE=N`: the new tasks, their peers on every other node, the LB backends.
LabResult lab_scale(const std::string& prefix, const std::string& service, unsigned replicas);
/// Removes every namespace, process and state file of the lab; idempotent; works from the recorded
/// plan, and without one from the namespaces named "<prefix>-*" the lab's marker file lists.
LabResult lab_down(const std::string& prefix);
/// The recorded plan, or nullopt when no lab of that prefix exists.
std::optional<LabPlan> lab_load(const std::string& prefix);

/// One thing the plan says exists: a namespace, a link in it, a task's responder.
struct LabStatusItem {
    std::string kind;                 ///< "namespace", "link", "responder"
    std::string netns, name;
    bool present = false;
    std::string detail;               ///< "node swarm-01", "vote vni 4098", "pid 1234", ...
    template <class W> void fields(W& w) const {
        w("kind", kind);
        w("netns", netns);
        w("name", name);
        w("present", present);
        w("detail", detail);
    }
};
/// What of a recorded lab exists (`ovnet-lab status`); exists false when no lab has that prefix.
struct LabStatus {
    bool exists = false;
    size_t present = 0, missing = 0;
    std::vector<LabStatusItem> items;
    std::vector<std::string> skipped; ///< what up could not build on this kernel
};
LabStatus lab_status(const std::string& prefix);

}  // namespace ovnet
