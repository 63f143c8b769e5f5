// ovnet/vtep.hpp - VXLAN tunnel endpoints.
#pragma once
#include <optional>
#include <string>
#include <vector>
#include "ovnet/json.hpp"
#include "ovnet/link.hpp"
#include "ovnet/schema.hpp"

namespace ovnet {
class Handle;

inline constexpr uint32_t kVniMax = 16777215;
inline constexpr uint16_t kVxlanPort = 4789;
inline constexpr uint32_t kOverlayMtu = 1450;   ///< 1500 - 50 bytes of VXLAN over IPv4

/// A VXLAN device as shown; to_json() is also valid input for VtepSpec::from_json.
struct Vtep {
    std::string netns;           ///< the -n argument it was read through ("" = current)
    std::string name;
    int ifindex = 0;
    Mac mac;
    uint32_t mtu = 0;
    bool up = false;
    std::string master;          ///< bridge name, "" if none
    std::string dev;             ///< underlay device name, "" if none
    VxlanInfo vxlan;
    int link_netnsid = -1;       ///< IFLA_LINK_NETNSID: namespace of the UDP socket, -1 = its own
    /// That namespace's label (netns_list: its name, "root" for PID 1's, "nsid:N" when no named
    /// namespace has that id); "" when the socket is in the VTEP's own namespace.
    std::string link_netns;
    /// The one JSON form of a VTEP, output and input: VtepSpec::from_json accepts these keys and
    /// reads the ones not marked read-only ("kind" must be "vxlan", "group" and "remote" must be
    /// absent or null). Every key is always written (null when the kernel did not report it),
    /// except "group", written only for a VTEP with a multicast group or remote ("remote" has it
    /// too). ageing..label are creation settings: apply creates with them and refuses an existing
    /// VTEP whose values differ, like vni.
    template <class W> void fields(W& w) const {
        w("netns", netns, schema::ReadOnly);
        w("name", name);
        w("kind", "vxlan");
        w("ifindex", ifindex, schema::ReadOnly);
        w("mac", mac, schema::ReadOnly);
        w("mtu", mtu);
        w("state", up ? "up" : "down", schema::ReadOnly);
        w("master", master);
        w("vni", vxlan.vni);
        w("port", vxlan.port);
        w("local", vxlan.local.str());   // "" rather than null when unset
        w("dev", dev);
        w("learning", vxlan.learning);
        w("proxy", vxlan.proxy);
        w("l2miss", vxlan.l2miss);
        w("l3miss", vxlan.l3miss);
        w("ttl", vxlan.ttl);
        w.opt("group", vxlan.group.valid(), vxlan.group);
        w("ageing", vxlan.ageing);
        w("udp_csum", vxlan.udp_csum);
        w("udp6_zero_csum_tx", vxlan.udp6_zero_csum_tx);
        w("udp6_zero_csum_rx", vxlan.udp6_zero_csum_rx);
        w("src_port_min", vxlan.src_port_min);
        w("src_port_max", vxlan.src_port_max);
        w("tos", vxlan.tos);
        w("df", vxlan.df ? std::optional<std::string>(vxlan_df_name(*vxlan.df)) : std::nullopt);
        w("label", vxlan.label);
        w("remote", vxlan.group, schema::ReadOnly);
        w("external", vxlan.external, schema::ReadOnly);
        w("link_netnsid", link_netnsid >= 0 ? std::optional<int>(link_netnsid) : std::nullopt, schema::ReadOnly);
        w("link_netns", link_netns.empty() ? std::optional<std::string>() : link_netns, schema::ReadOnly);
    }
    json to_json() const { return schema::to_dom(*this); }
};

/// A desired VTEP.
///
/// Defaults follow Docker's overlay driver (port 4789, proxy, l2miss, l3miss, ttl 0, MTU 1450)
/// except learning, which is off: with learning on, a learned fdb entry for a MAC makes the later
/// permanent peer entry for that MAC fail with EEXIST or go stale (moby/moby #31588, #35401).
/// Peers are programmed explicitly by ovnet-fdb, so nothing needs learning.
struct VtepSpec {
    std::string name;
    uint32_t vni = 0;
    uint16_t port = kVxlanPort;
    IpAddr local;
    std::string dev;             ///< underlay device, alternative or complement to local
    bool learning = false;
    bool proxy = true;
    bool l2miss = true;
    bool l3miss = true;
    uint8_t ttl = 0;
    uint32_t mtu = kOverlayMtu;
    std::string master;          ///< bridge to attach to
    // Creation settings (see VxlanInfo); nullopt: the kernel's default, and any value accepted
    // on an existing VTEP.
    std::optional<uint32_t> ageing;
    std::optional<bool> udp_csum, udp6_zero_csum_tx, udp6_zero_csum_rx;
    std::optional<uint16_t> src_port_min, src_port_max;
    std::optional<uint8_t> tos, df;
    std::optional<uint32_t> label;
    /// The input form (a subset of Vtep's keys, checked by a unit test): the spec as JSON.
    template <class W> void fields(W& w) const {
        w("name", name);
        w("vni", vni);
        w("port", port);
        w("local", local.str());
        w("dev", dev);
        w("learning", learning);
        w("proxy", proxy);
        w("l2miss", l2miss);
        w("l3miss", l3miss);
        w("ttl", ttl);
        w("mtu", mtu);
        w("master", master);
        w("ageing", ageing);
        w("udp_csum", udp_csum);
        w("udp6_zero_csum_tx", udp6_zero_csum_tx);
        w("udp6_zero_csum_rx", udp6_zero_csum_rx);
        w("src_port_min", src_port_min);
        w("src_port_max", src_port_max);
        w("tos", tos);
        w("df", df ? std::optional<std::string>(vxlan_df_name(*df)) : std::nullopt);
        w("label", label);
    }
    static VtepSpec from_json(const json& j);
    void validate() const;
};

/// Docker's device names: vx-%06x-<netid[:5]> and ov-%06x-<netid[:5]>.
std::string docker_vxlan_name(uint32_t vni, const std::string& netid);
std::string docker_bridge_name(uint32_t vni, const std::string& netid);

std::vector<Vtep> vtep_show(Handle& h, const std::string& name = {});
class PeerResolver;
/// The same from the namespace's links already dumped through `h`, link_netns named by `resolver`
/// (made on the same handle).
std::vector<Vtep> vtep_show(Handle& h, const std::vector<Link>& links, PeerResolver& resolver);
/// Creates the VTEP up, or finds it equal (unchanged). A VTEP that exists with another VNI, port
/// or local address is an error: those cannot change in place. MTU and master are converged.
Changes vtep_add(Handle& h, const VtepSpec& spec);
Changes vtep_apply(Handle& h, const std::vector<VtepSpec>& specs);
/// Deletes VTEPs (links_del: all names checked first).
Changes vtep_del(Handle& h, const std::vector<std::string>& names);

}  // namespace ovnet
