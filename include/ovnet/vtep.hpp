// ovnet/vtep.hpp - VXLAN tunnel endpoints.
#pragma once
#include <optional>
#include <string>
#include <vector>
#include "ovnet/json.hpp"
#include "ovnet/link.hpp"

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
    json to_json() const;
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
    static VtepSpec from_json(const json& j);
    void validate() const;
};

/// Docker's device names: vx-%06x-<netid[:5]> and ov-%06x-<netid[:5]>.
std::string docker_vxlan_name(uint32_t vni, const std::string& netid);
std::string docker_bridge_name(uint32_t vni, const std::string& netid);

std::vector<Vtep> vtep_show(Handle& h, const std::string& name = {});
/// Creates the VTEP up, or finds it equal (unchanged). A VTEP that exists with another VNI, port
/// or local address is an error: those cannot change in place. MTU and master are converged.
Changes vtep_add(Handle& h, const VtepSpec& spec);
Changes vtep_apply(Handle& h, const std::vector<VtepSpec>& specs);
/// Deletes VTEPs (links_del: all names checked first).
Changes vtep_del(Handle& h, const std::vector<std::string>& names);

}  // namespace ovnet
