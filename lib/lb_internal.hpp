// lib/lb_internal.hpp (private) - what service load balancing (lb.cpp) and the routing mesh
// (mesh.cpp) share: address and mark helpers, the IPVS side of one firewall-mark service (converge
// with drain, graceful removal), the OVNET-LB-SNAT chain, and the JSON of the IPVS objects a
// service or published port shows.
#pragma once
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ovnet/addr.hpp"
#include "ovnet/lb.hpp"
#include "sysctl_store.hpp"

namespace ovnet::detail {

/// True when `a` is inside the network of `net` (same family).
inline bool contains(const Prefix& net, const IpAddr& a) {
    if (!a.valid() || a.family != net.addr.family) return false;
    return Prefix{a, net.len}.network().addr == net.network().addr;
}
/// "0x100".
std::string hex(uint32_t m);
/// "0x102" in iptables-save's rule text -> 258 (nullopt when not a 32-bit hex number).
std::optional<uint32_t> parse_hex_mark(const std::string& s);

/// The sysctls Docker sets in a load-balancer namespace (and ovnet in the ingress sandbox).
Sysctls lb_sysctl_list();

/// Input checks shared by LbService and PublishSpec; errors name `obj`.
void check_backends(const std::string& obj, const std::vector<IpAddr>& backends);
void check_drain(const std::string& obj, unsigned drain);

std::vector<IpAddr> dest_addrs(const std::vector<IpvsDest>& ds);
/// The IPv4 firewall-mark service `mark` of a listing.
std::optional<IpvsService> find_fwm(const std::vector<IpvsService>& l, uint32_t mark);
/// Marks of every firewall-mark service of a listing.
std::set<uint32_t> ipvs_marks(const std::vector<IpvsService>& l);
/// The namespace address `want` (if valid) or the one whose network contains `probe` (inside
/// `subnet` when given); never `exclude`.
std::optional<Addr> find_addr(const std::vector<Addr>& addrs, const IpAddr& want, const IpAddr& probe,
                              const std::optional<Prefix>& subnet, const IpAddr& exclude);
/// The interface's name, or its index as text when it is gone.
std::string ifname_of(Handle& h, int ifindex);

/// Converges IPVS service `mark` to `backends`; with drain > 0, destinations that go first get
/// weight 0 for `drain` seconds ("draining"). `services`: the namespace's IPVS services as just
/// read (ipvs_list on `ih`, nothing written since), not read again.
void ipvs_converge(IpvsHandle& ih, const std::vector<IpvsService>& services, uint32_t mark, const std::string& sched,
                   const std::vector<IpAddr>& backends, unsigned drain, Changes& ch);
/// Graceful removal: every destination of service `mark` gets weight 0, then `drain` seconds pass.
void drain_service(IpvsHandle& ih, uint32_t mark, unsigned drain, Changes& ch, const std::string& where);

inline void append(Changes& into, const Changes& from) { into.insert(into.end(), from.begin(), from.end()); }
/// Keeps "unchanged" entries only when nothing at all changed (then one, for `object`, is enough).
Changes tidy(const Changes& ch, const std::string& object);
/// Runs a planned payload (when anything differs; res.restores counts it) and reports the plan's
/// changes, each object followed by `where` (" in SBOX", or "").
void restore_plan(const std::string& netns_path, const IptPlan& plan, const std::string& where, LbResult& res);

/// The OVNET-LB-SNAT chain after ensuring the SNAT rule `add` (replacing its subnet's rule) and/or
/// dropping the rule of subnet `drop`; other rules stay in place.
IptChain snat_chain(const IptState& cur, const std::optional<SnatRule>& add, const std::optional<Prefix>& drop);
/// True when a remaining ovnet rule of the namespace still needs the subnet's SNAT.
bool subnet_in_use(const std::vector<std::string>& mark_rules, const std::vector<std::string>& port_rules,
                   const Prefix& subnet);

/// The JSON of a service's IPVS side, in ovnet-ipvs's schema: `backends` is the destinations
/// (IpvsDest::to_json each), `ipvs` the whole service as `ovnet-ipvs -n NETNS show -j` prints it
/// ("netns" first when set; null when there is no service), so it can be fed to `ovnet-ipvs apply`.
json ipvs_dests_json(const std::optional<IpvsService>& sv);
json ipvs_service_json(const std::optional<IpvsService>& sv, const std::string& netns);

/// The namespace's IPVS services, or nullopt (with `why` set) when the kernel has no IPVS there:
/// shows then print the iptables half only.
std::optional<std::vector<IpvsService>> ipvs_list_if_present(const std::string& netns, std::string& why);
/// Docker's service of `vip` in a namespace whose rules (both backends) are `all`: the VIP and
/// its mark rule ("INPUT -d ... -j MARK ..."), nullopt when Docker has none.
std::optional<std::pair<IpAddr, std::string>> docker_vip(const IptState& all, const IpAddr& vip);

}  // namespace ovnet::detail
