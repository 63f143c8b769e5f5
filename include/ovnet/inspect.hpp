// ovnet/inspect.hpp - one JSON snapshot of a node's whole overlay state (ovnet-inspect).
//
// The snapshot is the contract later tools (diff, audit, the packet tracer) read, so it is keyed
// for diffing by identity: namespaces by label, links/bridges/VTEPs by name, peers by VTEP then
// MAC, IPVS services by key, netfilter rules by table, chain and position (and spec text),
// sysctls by name. Every per-object part is written by the object's own fields() (schema.hpp), so
// a part is what the object's tool prints: `.netns["h1"].peers["vxlan0"]` is `ovnet-fdb show -j`
// output (valid `ovnet-fdb apply` input), `.netns[X].bridges` is `ovnet-bridge show -j`'s, and
// `.netns[X].ipvs` is `ovnet-ipvs show -j`'s without the "netns" member.
//
//   {"schema": "ovnet-inspect/1", "host": ..., "time": ..., "netns": {LABEL: {...}}, "networks": [...]}
//
// schema/inspect.schema.json describes the document.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ovnet/bridge.hpp"
#include "ovnet/fdb.hpp"
#include "ovnet/ipvs.hpp"
#include "ovnet/json.hpp"
#include "ovnet/lb.hpp"
#include "ovnet/link.hpp"
#include "ovnet/sbox.hpp"
#include "ovnet/schema.hpp"
#include "ovnet/vtep.hpp"

struct nlmsghdr;

namespace ovnet {

inline constexpr const char* kInspectSchema = "ovnet-inspect/1";

/// Any link of a namespace, read-only: name, kind, state, master and (veth) where its peer is.
struct LinkView {
    std::string name;
    int ifindex = 0;
    std::string kind;                 ///< "bridge", "vxlan", "veth", "" for a device
    Mac mac;
    uint32_t mtu = 0;
    bool up = false;
    std::string operstate;
    std::string master;               ///< bridge name, "" = none (null)
    std::optional<PeerRef> peer;      ///< veth only
    template <class W> void fields(W& w) const {
        using schema::ReadOnly;
        w("name", name, ReadOnly);
        w("ifindex", ifindex, ReadOnly);
        w("kind", kind, ReadOnly);
        w("mac", mac, ReadOnly);
        w("mtu", mtu, ReadOnly);
        w("state", up ? "up" : "down", ReadOnly);
        w("operstate", operstate, ReadOnly);
        w("master", master.empty() ? std::optional<std::string_view>() : master, ReadOnly);
        w("peer", peer, ReadOnly);
    }
};

/// An address of a namespace (RTM_GETADDR), with its interface's name.
struct AddrView {
    std::string ifname;
    int ifindex = 0;
    Prefix address;
    std::string scope;                ///< "global", "link", "host", or the number
    template <class W> void fields(W& w) const {
        w("ifname", ifname, schema::ReadOnly);
        w("ifindex", ifindex, schema::ReadOnly);
        w("address", address, schema::ReadOnly);
        w("scope", scope, schema::ReadOnly);
    }
};

/// One rule of the netfilter tables, structured. Identity: table, chain, position (1-based, in
/// the merged order of both backends) and spec (iptables-save's text after "-A CHAIN ").
struct NfRule {
    std::string table, chain;
    int position = 0;
    std::string spec;
    std::string target;               ///< after -j (or -g), "" when the rule has none (null)
    std::string protocol, source, destination, in_iface, out_iface;   ///< "" = not matched (null)
    std::vector<std::string> matches; ///< the match modules (-m NAME), in order
    std::optional<uint64_t> packets, bytes;   ///< null when the backend printed no counters
    std::string backend;              ///< the save binary that printed it first
    template <class W> void fields(W& w) const {
        using schema::ReadOnly;
        using Sv = std::optional<std::string_view>;
        auto o = [](const std::string& s) { return s.empty() ? Sv() : Sv(s); };
        w("table", table, ReadOnly);
        w("chain", chain, ReadOnly);
        w("position", position, ReadOnly);
        w("spec", spec, ReadOnly);
        w("target", o(target), ReadOnly);
        w("protocol", o(protocol), ReadOnly);
        w("source", o(source), ReadOnly);
        w("destination", o(destination), ReadOnly);
        w("in_iface", o(in_iface), ReadOnly);
        w("out_iface", o(out_iface), ReadOnly);
        w("matches", matches, ReadOnly);
        w("packets", packets, ReadOnly);
        w("bytes", bytes, ReadOnly);
        w("backend", backend, ReadOnly);
    }
    /// Fills target, protocol..out_iface and matches from spec (iptables-save's normalised form).
    void parse_spec();
};

/// A chain of a table: its policy (built-in chains) and the policy's counters.
struct NfChain {
    std::string table, name;
    std::string policy;               ///< "ACCEPT", "DROP"; "" for a user chain (null)
    std::optional<uint64_t> packets, bytes;
    template <class W> void fields(W& w) const {
        using schema::ReadOnly;
        w("table", table, ReadOnly);
        w("chain", name, ReadOnly);
        w("policy", policy.empty() ? std::optional<std::string_view>() : policy, ReadOnly);
        w("packets", packets, ReadOnly);
        w("bytes", bytes, ReadOnly);
    }
};

/// The raw, mangle, nat and filter tables of a namespace, both backends merged (ipt_read_all).
struct Netfilter {
    std::vector<std::string> backends;   ///< the save binaries that ran, in order
    std::vector<NfChain> chains;
    std::vector<NfRule> rules;
    std::map<std::string, std::string> text;   ///< backend -> its iptables-save -c output
    IptState state;                      ///< the merged state (not written; lb/publish rows use it)
    template <class W> void fields(W& w) const {
        using schema::ReadOnly;
        w("backends", backends, ReadOnly);
        w("chains", chains, ReadOnly);
        w("rules", rules, ReadOnly);
        w("text", text, ReadOnly);
    }
    /// Builds the structure from save outputs (with or without -c), in backend order; only the
    /// raw, mangle, nat and filter tables are kept. Pure. Error(Runtime) on unreadable text.
    static Netfilter parse(const std::vector<IptSaveText>& outputs);
};

/// An algorithm of an xfrm state. The key itself is never written: its length and a fingerprint
/// (the first 16 hex digits of its SHA-256), equal on both ends of an SA.
struct XfrmAlg {
    std::string kind;                 ///< "aead", "crypt", "auth", "comp"
    std::string name;                 ///< "rfc4106(gcm(aes))"
    uint32_t key_bits = 0;
    std::string key_fingerprint;      ///< "" for no key (null)
    uint32_t icv_bits = 0;            ///< aead: ICV length; auth (truncated): the truncation
    template <class W> void fields(W& w) const {
        using schema::ReadOnly;
        w("kind", kind, ReadOnly);
        w("name", name, ReadOnly);
        w("key_bits", key_bits, ReadOnly);
        w("key_fingerprint", key_fingerprint.empty() ? std::optional<std::string_view>() : key_fingerprint, ReadOnly);
        w("icv_bits", icv_bits, ReadOnly);
    }
};

/// An xfrm state (SA). Identity: dst, proto, spi (and mark).
struct XfrmState {
    IpAddr src, dst;
    std::string proto;                ///< "esp", "ah", "comp", or the number
    uint32_t spi = 0;                 ///< host order, written "0x%08x"
    uint32_t reqid = 0;
    std::string mode;                 ///< "transport", "tunnel", "ro", "in_trigger", "beet", or the number
    uint32_t mark = 0, mark_mask = 0;
    std::vector<XfrmAlg> algs;
    template <class W> void fields(W& w) const;
};

/// A template of an xfrm policy.
struct XfrmTmpl {
    IpAddr src, dst;                  ///< null when the template leaves them to the SA (0.0.0.0)
    std::string proto, mode;
    uint32_t spi = 0, reqid = 0;
    template <class W> void fields(W& w) const;
};

/// An xfrm policy. Identity: dir, selector, mark (and index).
struct XfrmPolicy {
    std::string dir;                  ///< "in", "out", "fwd", or the number
    Prefix src, dst;                  ///< the selector's
    int proto = 0;                    ///< the selector's IP protocol, 0 = any
    uint16_t sport = 0, dport = 0;    ///< the selector's ports, 0 = any
    uint32_t mark = 0, mark_mask = 0;
    uint32_t priority = 0, index = 0;
    std::string action;               ///< "allow", "block"
    std::vector<XfrmTmpl> templates;
    template <class W> void fields(W& w) const;
};

/// A namespace's xfrm tables.
struct Xfrm {
    std::vector<XfrmState> states;
    std::vector<XfrmPolicy> policies;
    template <class W> void fields(W& w) const {
        w("states", states, schema::ReadOnly);
        w("policies", policies, schema::ReadOnly);
    }
};

/// Parse one XFRM_MSG_NEWSA / XFRM_MSG_NEWPOLICY message (false when it is not one). Pure.
bool xfrm_state_parse(const nlmsghdr* h, XfrmState& out);
bool xfrm_policy_parse(const nlmsghdr* h, XfrmPolicy& out);
/// Dumps the xfrm states and policies through `h` (a NETLINK_XFRM handle).
Xfrm xfrm_read(Handle& h);
/// The first 16 hex digits of the SHA-256 of `key`. Pure.
std::string key_fingerprint(const uint8_t* key, size_t len);
/// "0x%08x": how SPIs, reqids and marks are written. Pure.
std::string hex32(uint32_t v);

/// One namespace of the node, as read.
struct NetnsState {
    std::string label;                ///< the key in "netns" (NetnsInfo::label; "root" for PID 1's)
    std::string name, path, source;   ///< as netns_list() gives them ("self": the caller's, unnamed)
    std::optional<std::string> container;   ///< Docker container whose sandbox it is
    std::vector<LinkView> links;
    std::vector<Bridge> bridges;
    std::vector<Vtep> vteps;
    std::vector<Endpoint> interfaces; ///< as ovnet-sbox shows a sandbox's
    std::vector<AddrView> addresses;
    std::vector<SandboxRoute> routes; ///< main table, IPv4 then IPv6
    std::map<std::string, std::vector<PeerEntry>> peers;   ///< VTEP name -> ovnet-fdb show rows
    std::optional<std::vector<IpvsService>> ipvs;          ///< nullopt: no IPVS (ipvs_error says why)
    std::string ipvs_error;
    std::optional<Netfilter> netfilter;                    ///< nullopt: not readable (netfilter_error)
    std::string netfilter_error;
    std::optional<Xfrm> xfrm;                              ///< nullopt: not readable (xfrm_error)
    std::string xfrm_error;
    std::map<std::string, std::optional<std::string>> sysctls;   ///< null: absent in this namespace
    std::vector<LbService> lb_services;                    ///< lb_rows of this namespace
    std::vector<PublishSpec> published;                    ///< publish_rows, this namespace as host

    template <class W> void fields(W& w) const {
        using schema::ReadOnly;
        using Sv = std::optional<std::string_view>;
        w("label", label, ReadOnly);
        w("name", name, ReadOnly);
        w("path", path, ReadOnly);
        w("source", source, ReadOnly);
        w("container", container, ReadOnly);
        w("links", links, ReadOnly);
        w("bridges", bridges, ReadOnly);
        w("vteps", vteps, ReadOnly);
        w("interfaces", interfaces, ReadOnly);
        w("addresses", addresses, ReadOnly);
        w("routes", routes, ReadOnly);
        w("peers", peers, ReadOnly);
        w("ipvs", ipvs, ReadOnly);
        w("ipvs_error", ipvs_error.empty() ? Sv() : Sv(ipvs_error), ReadOnly);
        w("netfilter", netfilter, ReadOnly);
        w("netfilter_error", netfilter_error.empty() ? Sv() : Sv(netfilter_error), ReadOnly);
        w("xfrm", xfrm, ReadOnly);
        w("xfrm_error", xfrm_error.empty() ? Sv() : Sv(xfrm_error), ReadOnly);
        w("sysctls", sysctls, ReadOnly);
        w("lb_services", lb_services, ReadOnly);
        w("published", published, ReadOnly);
    }
};

/// A local endpoint of an overlay: a veth port of its bridge and the sandbox end.
struct NetworkEndpoint {
    std::string sandbox;              ///< the sandbox's namespace label ("" unknown: null)
    std::optional<std::string> container;
    std::string ifname;               ///< inside the sandbox ("" unknown: null)
    std::string host_ifname;          ///< the bridge port
    Mac mac;                          ///< zero when the sandbox was not read (null)
    std::vector<Prefix> addresses;
    template <class W> void fields(W& w) const {
        using schema::ReadOnly;
        using Sv = std::optional<std::string_view>;
        w("sandbox", sandbox.empty() ? Sv() : Sv(sandbox), ReadOnly);
        w("container", container, ReadOnly);
        w("ifname", ifname.empty() ? Sv() : Sv(ifname), ReadOnly);
        w("host_ifname", host_ifname, ReadOnly);
        w("mac", mac.is_zero() ? std::optional<Mac>() : mac, ReadOnly);
        w("addresses", addresses, ReadOnly);
    }
};

/// One overlay of the node, in the shape of `docker network inspect`: a bridge with a VXLAN port.
/// Identity: netns and bridge.
struct Network {
    std::optional<std::string> id;    ///< Docker's network id (prefix) from the names, null if none
    std::string netns;                ///< the namespace label of the bridge
    std::string bridge, vtep;
    uint32_t vni = 0;
    uint32_t mtu = 0;                 ///< the bridge's
    uint16_t port = 0;                ///< VXLAN data port
    IpAddr local;                     ///< the VTEP's local address (null when unset)
    /// Docker's mark rule for the VNI's VXLAN packets (mangle MARK 0xd0c4e3, the xfrm policies'
    /// mark) in the namespace of the VTEP's socket; null when that namespace's rules were not read.
    std::optional<bool> encrypted;
    std::vector<Prefix> subnets;      ///< networks of the bridge's and endpoints' addresses
    std::vector<NetworkEndpoint> endpoints;
    std::vector<PeerEntry> peers;     ///< the VTEP's rows, "local" ones left out
    std::vector<IpAddr> peer_hosts;   ///< distinct VTEP addresses of the peers (Docker's "Peers")
    /// lb rows of a namespace attached to the overlay (an endpoint's sandbox, or the bridge's own)
    /// whose VIP is in one of the subnets
    std::vector<LbService> services;
    /// published ports whose ingress sandbox is attached and whose backends or lb_ip are in the subnets
    std::vector<PublishSpec> published;
    template <class W> void fields(W& w) const {
        using schema::ReadOnly;
        w("id", id, ReadOnly);
        w("netns", netns, ReadOnly);
        w("bridge", bridge, ReadOnly);
        w("vtep", vtep, ReadOnly);
        w("vni", vni, ReadOnly);
        w("mtu", mtu, ReadOnly);
        w("port", port, ReadOnly);
        w("local", local, ReadOnly);
        w("encrypted", encrypted, ReadOnly);
        w("subnets", subnets, ReadOnly);
        w("endpoints", endpoints, ReadOnly);
        w("peers", peers, ReadOnly);
        w("peer_hosts", peer_hosts, ReadOnly);
        w("services", services, ReadOnly);
        w("published", published, ReadOnly);
    }
};

/// A node's snapshot.
struct Snapshot {
    std::string host;                 ///< hostname
    std::string time;                 ///< UTC, RFC 3339 ("2026-11-26T00:30:00Z")
    std::map<std::string, NetnsState> netns;
    std::vector<Network> networks;
    template <class W> void fields(W& w) const {
        using schema::ReadOnly;
        w("schema", kInspectSchema, ReadOnly);
        w("host", host, ReadOnly);
        w("time", time, ReadOnly);
        w("netns", netns, ReadOnly);
        w("networks", networks, ReadOnly);
    }
    json to_json() const { return schema::to_dom(*this); }
};

/// Docker's network id in a device or namespace name: "ov-001001-3x1kq" and "vx-001001-3x1kq"
/// give "3x1kq" (the id's first 5 characters), "1-3x1kqjqsbz" gives "3x1kqjqsbz"; nullopt
/// otherwise. Pure.
std::optional<std::string> docker_network_id(const std::string& name);

/// The networks view of the namespaces' state: one Network per bridge that has a VXLAN port (or
/// a VTEP whose master it is), in namespace-label then bridge order. Pure.
std::vector<Network> networks_view(const std::map<std::string, NetnsState>& netns);

/// The one-machine form (a lab, the netns tests: hosts are namespaces): splits a snapshot of the
/// whole machine into one snapshot per node. Every namespace whose label starts with `prefix` is a
/// node's host namespace (the node's `host` is that label). A namespace joins a node when one of
/// its veths has its peer as a port of a bridge in a namespace of the node (containers, Docker's
/// lb_<id> and ingress_sbox), or when one of its VTEPs has its socket (link_netns) in a namespace
/// of the node (Docker's 1-<id>); transitively, never through another node's host namespace.
/// Namespaces in no node (the underlay) are left out, and so is one that two nodes would claim (a
/// shared segment belongs to neither). Each snapshot keeps the machine's time, the namespaces'
/// labels (so `-n LABEL` reaches them) and has the networks view of its own namespaces only.
/// In node-name order. Error(Input) naming the prefix when no namespace's label starts with it.
/// Pure.
std::vector<Snapshot> split_nodes(const Snapshot& machine, const std::string& prefix);

/// What inspect_node reads.
struct InspectOptions {
    /// "" = every namespace of the node (the caller's, /run/netns, every Docker netns directory,
    /// those given to docker_netns_dirs_add); else only this one (a -n argument).
    std::string netns;
    /// These namespaces as well (with `netns`, or alone): one snapshot of several named
    /// namespaces, with the views that join them (published ports, networks), e.g. a lab's node.
    std::vector<std::string> names;
    /// false: the VTEPs' fdb and neighbor tables are not dumped (`peers` stays empty); the live
    /// tracer asks for the one entry it needs instead (fdb_lookup).
    bool peers = true;
};

/// The sysctls a snapshot reads in every namespace (route_localnet also per bridge).
const std::vector<std::string>& inspect_sysctls();

/// Reads the node. Namespaces that vanish while being read are left out; lacking the privilege
/// to read one is Error(Runtime).
Snapshot inspect_node(const InspectOptions& opt);

}  // namespace ovnet
