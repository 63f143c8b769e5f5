// ovnet/sbox.hpp - sandboxes: namespaces joined to bridges by veth pairs (containers, ingress_sbox).
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>
#include "ovnet/addr.hpp"
#include "ovnet/json.hpp"

namespace ovnet {
class Handle;

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
    json to_json() const;
};

struct Sandbox {
    std::string name;
    std::string path;
    std::string source;           ///< "netns" or "docker"
    std::vector<Endpoint> interfaces;
    std::vector<Route> routes;    ///< IPv4 main table
    json to_json() const;
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
/// Sandboxes (all named namespaces, Docker's included, when name is empty).
std::vector<Sandbox> sbox_show(const std::string& name = {});

}  // namespace ovnet
