// ovnet/sbox.hpp - sandboxes: namespaces joined to bridges by veth pairs (containers, ingress_sbox).
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>
#include "ovnet/addr.hpp"
#include "ovnet/json.hpp"
#include "ovnet/schema.hpp"

namespace ovnet {
class Handle;

/// Where an endpoint's veth peer is: Endpoint's "peer" object.
struct EndpointPeer {
    std::string netns;           ///< namespace name (netns_label), "" = the sandbox itself
    int ifindex = 0;
    std::string ifname;
    std::string bridge;          ///< the peer's bridge, "" if none
    template <class W> void fields(W& w) const {
        w("netns", netns, schema::ReadOnly);
        w("ifindex", ifindex, schema::ReadOnly);
        w("ifname", ifname, schema::ReadOnly);
        w("bridge", bridge, schema::ReadOnly);
    }
};

/// One interface inside a sandbox, with its host-side peer.
struct Endpoint {
    std::string ifname;
    int ifindex = 0;
    std::string kind;
    Mac mac;
    uint32_t mtu = 0;
    bool up = false;
    std::vector<Prefix> addresses;
    std::string host_netns;      ///< where the peer is ("h1", "root"), "" if not a veth
    std::string host_ifname;
    int host_ifindex = 0;
    std::string bridge;          ///< the peer's bridge, "" if none
    /// The JSON form (schema.hpp); what `show` finds, never input (ConnectSpec is the input).
    template <class W> void fields(W& w) const {
        w("ifname", ifname, schema::ReadOnly);
        w("ifindex", ifindex, schema::ReadOnly);
        w("kind", kind, schema::ReadOnly);
        w("mac", mac, schema::ReadOnly);
        w("mtu", mtu, schema::ReadOnly);
        w("state", up ? "up" : "down", schema::ReadOnly);
        w("addresses", addresses, schema::ReadOnly);
        // null: not a veth
        w("peer", !host_ifname.empty() || host_ifindex != 0
                      ? std::optional<EndpointPeer>(EndpointPeer{host_netns, host_ifindex, host_ifname, bridge})
                      : std::nullopt, schema::ReadOnly);
    }
    json to_json() const { return schema::to_dom(*this); }
};

/// A route of a sandbox as shown: "default" or the network, the gateway and the interface's name
/// when known.
struct SandboxRoute {
    std::string dst;
    IpAddr gateway;               ///< unset for on-link routes (then written null)
    std::string dev;              ///< "" when the route leaves through no listed interface (null)
    template <class W> void fields(W& w) const {
        w("dst", dst, schema::ReadOnly);
        w("gateway", gateway, schema::ReadOnly);   // null: on-link
        w("dev", dev.empty() ? std::optional<std::string_view>() : dev, schema::ReadOnly);
    }
    /// The view of `r` with the names of `interfaces`.
    static SandboxRoute of(const Route& r, const std::vector<Endpoint>& interfaces);
};

struct Sandbox {
    std::string name;
    std::string path;
    std::string source;           ///< "netns", "docker" or "path"
    /// The Docker container whose sandbox this is (its name, no leading '/'), from the state of a
    /// running daemon (docker_container_of()); null when none is known.
    std::optional<std::string> container;
    std::vector<Endpoint> interfaces;
    std::vector<Route> routes;    ///< IPv4 main table
    /// The routes as shown (SandboxRoute::of each).
    std::vector<SandboxRoute> route_views() const;
    /// The JSON form (schema.hpp); what `show` finds, never input.
    template <class W> void fields(W& w) const {
        w("name", name, schema::ReadOnly);
        w("path", path, schema::ReadOnly);
        w("source", source, schema::ReadOnly);
        w("container", container, schema::ReadOnly);
        w("interfaces", interfaces, schema::ReadOnly);
        w("routes", route_views(), schema::ReadOnly);
    }
    json to_json() const { return schema::to_dom(*this); }
};

/// Joining a sandbox to a bridge of the host namespace.
struct ConnectSpec {
    std::string sandbox;          ///< namespace name
    std::string bridge;           ///< bridge in the handle's namespace
    std::optional<Prefix> ip;     ///< address inside, e.g. 10.0.0.2/24
    std::optional<Mac> mac;       ///< default: Docker's 02:42:<IPv4 bytes>
    std::string ifname;           ///< default: next free ethN
    std::string host_ifname;      ///< default: "veth" + 7 hex digits derived from sandbox+bridge
    std::optional<IpAddr> gateway;///< default route via this address
    std::optional<uint32_t> mtu;  ///< default: the bridge's MTU
    std::vector<std::pair<std::string, std::string>> sysctls;
    /// The one JSON form of an endpoint to connect: from_json reads exactly these keys.
    template <class W> void fields(W& w) const {
        w("sandbox", sandbox);
        w("bridge", bridge);
        w.opt("ip", ip.has_value(), ip);
        w.opt("mac", mac.has_value(), mac);
        w.opt("ifname", !ifname.empty(), ifname);
        w.opt("host_ifname", !host_ifname.empty(), host_ifname);
        w.opt("gateway", gateway.has_value(), gateway);
        w.opt("mtu", mtu.has_value(), mtu);
        w.opt("sysctls", !sysctls.empty(), sysctls_json());
    }
    json sysctls_json() const;   ///< {"key": "value", ...} in order
    json to_json() const { return schema::to_dom(*this); }
    static ConnectSpec from_json(const json& j);
    void validate() const;
};

/// Creates the namespace (if needed), brings lo up and applies sysctls.
Changes sbox_add(const std::string& name,
                 const std::vector<std::pair<std::string, std::string>>& sysctls = {});
/// Connects a sandbox to a bridge of `host` (creates the sandbox first if needed). Idempotent: an
/// existing veth from this sandbox to this bridge with the same settings is left unchanged.
Changes sbox_connect(Handle& host, const ConnectSpec& spec);
Changes sbox_disconnect(Handle& host, const std::string& sandbox, const std::string& bridge);
/// Deletes the namespace; its veth pairs go with it.
Changes sbox_del(const std::string& name);
/// Deletes several sandboxes; every name is validated first.
Changes sbox_del(const std::vector<std::string>& names);
class PeerResolver;
struct Link;
/// A namespace's interfaces as a sandbox shows them (loopback left out), from its links and
/// addresses already dumped, veth peers resolved by `pr` (made on the handle they were dumped through).
std::vector<Endpoint> sbox_interfaces(const std::vector<Link>& links, const std::vector<Addr>& addrs, PeerResolver& pr);
/// Sandboxes (all named namespaces, those of every Docker directory included, when name is empty).
std::vector<Sandbox> sbox_show(const std::string& name = {});

}  // namespace ovnet
