// ovnet/bridge.hpp - Linux bridges with their ports, and veth peer correlation.
#pragma once
#include <optional>
#include <string>
#include <vector>
#include "ovnet/json.hpp"
#include "ovnet/link.hpp"
#include "ovnet/schema.hpp"
#include "ovnet/types.hpp"

namespace ovnet {
class Handle;

/// Where the other end of a veth lives: the seed's "16: eth0 <===> 17: veth4dd295a".
struct PeerRef {
    std::string netns;     ///< namespace label ("c1", "ingress_sbox", "root", a path when two dirs hold the name), "" = same namespace
    int ifindex = 0;
    std::string ifname;    ///< "" when the namespace is not a named one we can open
    std::string master;    ///< the peer's bridge, "" if none
    /// The JSON form (schema.hpp); what `show` finds, never input.
    template <class W> void fields(W& w) const {
        w("netns", netns, schema::ReadOnly);
        w("ifindex", ifindex, schema::ReadOnly);
        w("ifname", ifname, schema::ReadOnly);
        w("master", master.empty() ? std::optional<std::string_view>() : master, schema::ReadOnly);  // null: none
    }
    json to_json() const { return schema::to_dom(*this); }
};

struct BridgePort {
    std::string name;
    int ifindex = 0;
    std::string kind;      ///< "veth", "vxlan", "" for a physical device, ...
    Mac mac;
    uint32_t mtu = 0;
    bool up = false;
    std::optional<PeerRef> peer;   ///< veth ports only
    /// The JSON form; on input only "name" is read (BridgeSpec::ports).
    template <class W> void fields(W& w) const {
        w("name", name);
        w("ifindex", ifindex, schema::ReadOnly);
        w("kind", kind, schema::ReadOnly);
        w("mac", mac, schema::ReadOnly);
        w("mtu", mtu, schema::ReadOnly);
        w("state", up ? "up" : "down", schema::ReadOnly);
        w("peer", peer, schema::ReadOnly);   // null: not a veth
    }
    json to_json() const { return schema::to_dom(*this); }
};

/// A bridge as shown; to_json() is also valid input for BridgeSpec::from_json.
struct Bridge {
    std::string netns;     ///< the -n argument it was read through ("" = current)
    std::string name;
    int ifindex = 0;
    Mac mac;
    uint32_t mtu = 0;
    bool up = false;
    std::vector<Prefix> addresses;
    std::vector<BridgePort> ports;
    /// The one JSON form of a bridge, output and input: BridgeSpec::from_json accepts these keys
    /// (and "kind"), reading the ones not marked read-only.
    template <class W> void fields(W& w) const {
        w("netns", netns, schema::ReadOnly);
        w("name", name);
        w("ifindex", ifindex, schema::ReadOnly);
        w("mac", mac);
        w("mtu", mtu);
        w("state", up ? "up" : "down", schema::ReadOnly);
        w("addresses", addresses);
        w("ports", ports);
    }
    json to_json() const { return schema::to_dom(*this); }
};

/// A desired bridge. Ports listed must exist; they are attached, never detached by add.
struct BridgeSpec {
    std::string name;
    std::optional<uint32_t> mtu;     ///< 68..65535
    std::optional<Mac> mac;          ///< unicast
    std::vector<Prefix> addresses;
    std::vector<std::string> ports;
    /// The input form (a subset of Bridge's keys, checked by a unit test): the spec as JSON.
    template <class W> void fields(W& w) const {
        w("name", name);
        w.opt("mtu", mtu.has_value(), mtu);
        w.opt("mac", mac.has_value(), mac);
        w("addresses", addresses);
        w("ports", ports);
    }
    /// Accepts Bridge::to_json output (ports as objects) or {"name","mtu","mac","addresses","ports"}.
    static BridgeSpec from_json(const json& j);
    void validate() const;
};

/// Bridges of the handle's namespace (only `name` if not empty; Error(Input) if it is missing).
std::vector<Bridge> bridge_show(Handle& h, const std::string& name = {});
class PeerResolver;
struct Addr;
/// The same from a namespace's links and addresses already dumped (link_list, addr_list through
/// `h`), peers resolved by `resolver` (made on the same handle): what ovnet-inspect uses to read a
/// namespace with one dump per kind.
std::vector<Bridge> bridge_show(Handle& h, const std::vector<Link>& links, const std::vector<Addr>& addrs,
                                PeerResolver& resolver);
/// Creates the bridge or converges an existing one (MTU, MAC, addresses, ports). Idempotent.
Changes bridge_add(Handle& h, const BridgeSpec& spec);
/// add() for every spec, after all of them validated and their ports checked.
Changes bridge_apply(Handle& h, const std::vector<BridgeSpec>& specs);
/// Deletes bridges (links_del: all names checked first). Ports are released by the kernel.
Changes bridge_del(Handle& h, const std::vector<std::string>& names);
Changes bridge_attach(Handle& h, const std::string& bridge, const std::vector<std::string>& ports);
Changes bridge_detach(Handle& h, const std::string& bridge, const std::vector<std::string>& ports);

/// Resolves IFLA_LINK_NETNSID of links seen through `h` to namespace names and opens them to
/// read the peer's name. Used by bridge and sandbox views.
class PeerResolver {
public:
    /// `links`, when the caller already dumped the handle's namespace, saves dumping it again.
    explicit PeerResolver(Handle& h, const std::vector<Link>* links = nullptr);
    ~PeerResolver();
    PeerRef resolve(int link_netnsid, int peer_ifindex);
    /// The label of the namespace with this id as seen through `h` (netns_list(true): its label,
    /// "root" for PID 1's), or netns_label_nsid(nsid) when no listed namespace has that id.
    std::string netns_label(int nsid);
    /// That namespace's file, "" when no listed namespace has that id.
    std::string netns_path(int nsid);
    PeerResolver(const PeerResolver&) = delete;
    PeerResolver& operator=(const PeerResolver&) = delete;
private:
    struct Impl;
    Impl* impl_;
};

}  // namespace ovnet
