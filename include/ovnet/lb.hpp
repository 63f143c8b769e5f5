// ovnet/lb.hpp - Docker Swarm's service load balancing (one service VIP in a load-balancer
// namespace) and routing mesh (a published port: host DNAT into ingress_sbox, IPVS there).
//
// What is programmed, and where (all rules in OVNET-* chains, see iptables.hpp):
//
//   load-balancer namespace (lb_<netid>, or ingress_sbox):
//     mangle OVNET-LB       <- INPUT, OUTPUT   -d VIP/32 -j MARK --set-xmark 0x100/0xffffffff
//     mangle OVNET-INGRESS  <- PREROUTING      -p tcp -m tcp --dport 30000 -j MARK --set-xmark 0x102/...
//     nat    OVNET-LB-SNAT  <- POSTROUTING     -d SUBNET -m ipvs --ipvs -j SNAT --to-source LB-IP
//     IPVS   FWM <mark> rr, destinations <backend>:0 masq weight 1
//     sysctls net.ipv4.vs.conntrack=1 conn_reuse_mode=0 expire_nodest_conn=1
//             expire_quiescent_template=1, net.ipv4.ip_forward=1
//     the VIP as a /32 on the interface that holds LB-IP (service VIPs only)
//   host namespace (routing mesh):
//     nat    OVNET-INGRESS  <- PREROUTING, OUTPUT (-m addrtype --dst-type LOCAL)
//                              -p tcp -m tcp --dport 30000 -j DNAT --to-destination 172.18.0.2:30000
//                              ... -j RETURN
//     nat    OVNET-INGRESS-POST <- POSTROUTING -o docker_gwbridge -m addrtype --src-type LOCAL -j MASQUERADE
//     filter OVNET-INGRESS  <- FORWARD         -p tcp -m tcp --dport 30000 -j ACCEPT
//                              -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -m tcp --sport 30000 -j ACCEPT
//                              ... -j RETURN   (Docker's filter DOCKER-INGRESS, for FORWARD policy DROP)
//     sysctls net.ipv4.ip_forward=1, net.ipv4.conf.docker_gwbridge.route_localnet=1
//
// Sysctls are restored on del: before ovnet changes one in a namespace it saves the value it
// found in $OVNET_STATE_DIR/sysctl-<dev>-<ino>.json (default /run/ovnet; the namespace file's
// st_dev and st_ino, plus its SO_NETNS_COOKIE, which the kernel never reuses, to detect a reused
// inode), written atomically (temporary file + rename) under flock. A saved value is never
// overwritten (a second add keeps the original). When the last ovnet service or publication of
// the namespace goes (no OVNET-LB mark, no OVNET-INGRESS port mark, no OVNET-INGRESS DNAT left),
// every saved sysctl that still has ovnet's value gets its original back ("restored"), and the
// file is removed.
//
// Firewall marks are allocated as Docker does, from 256 (0x100) up: the lowest mark no ovnet rule
// and no IPVS firewall-mark service of the namespace uses.
//
// Docker's own state is read too (never written): in a load-balancer namespace its VIPs are
// mangle INPUT (and OUTPUT) "-d VIP/32 -j MARK" rules plus one nat POSTROUTING "-m ipvs --ipvs
// -j SNAT" per network; a published port is the host's nat DOCKER-INGRESS DNAT (with filter
// DOCKER-INGRESS and the nat POSTROUTING "-o docker_gwbridge ... MASQUERADE"), and in the ingress
// sandbox a mangle PREROUTING port mark, the ingress VIP's INPUT mark and the SNAT. Both iptables
// backends are read (ipt_read_all). Such rows carry owner "docker"; add and del refuse them.
//
// One header, four files: lib/lb.cpp (service load balancing, the OVNET-LB/OVNET-LB-SNAT rules),
// lib/mesh.cpp (the routing mesh, the OVNET-INGRESS rules), lib/docker_lb.cpp (Docker's rows), and
// lib/sysctl_store.cpp (the saved sysctls).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ovnet/addr.hpp"
#include "ovnet/iptables.hpp"
#include "ovnet/ipvs.hpp"
#include "ovnet/json.hpp"
#include "ovnet/types.hpp"

namespace ovnet {

inline constexpr uint32_t kFirstFwmark = 256;   ///< Docker's first service mark (0x100)
inline constexpr const char* kLbMarkChain = "OVNET-LB";
inline constexpr const char* kLbSnatChain = "OVNET-LB-SNAT";
inline constexpr const char* kIngressChain = "OVNET-INGRESS";
inline constexpr const char* kIngressPostChain = "OVNET-INGRESS-POST";
/// Docker's host chain of the routing mesh (nat and filter).
inline constexpr const char* kDockerIngressChain = "DOCKER-INGRESS";
/// Who programmed a row (the "owner" key): ovnet's OVNET-* chains, or Docker's rules.
inline constexpr const char* kOwnerOvnet = "ovnet";
inline constexpr const char* kOwnerDocker = "docker";

/// One service in a load-balancer namespace.
struct LbService {
    IpAddr vip;                        ///< IPv4
    uint32_t fwmark = 0;               ///< 0 = allocate
    std::optional<Prefix> subnet;      ///< network of the service (host bits cleared); derived if unset
    IpAddr lb_ip;                      ///< the namespace's address on that network; derived if unset
    std::vector<IpAddr> backends;
    std::string scheduler = "rr";
    // read-only (show)
    std::string netns;
    std::string owner = kOwnerOvnet;   ///< kOwnerOvnet or kOwnerDocker
    std::string vip_iface;
    std::optional<IpvsService> ipvs;   ///< the firewall-mark service in the kernel, if any
    bool ipvs_read = true;             ///< false: IPVS could not be read (no IPVS): backends, ipvs null
    std::vector<std::string> rules;    ///< "mangle OVNET-LB -d ...", as iptables-save prints them

    /// The JSON form, in one list (schema.hpp): {netns, owner, vip, fwmark, fwmark_hex, subnet,
    /// lb_ip, vip_iface, scheduler, backends, ipvs, rules}. `backends` are the IPVS service's destinations
    /// and `ipvs` the whole service, both in ovnet-ipvs's schema (IpvsDest/IpvsService::to_json;
    /// `ipvs` as `ovnet-ipvs -n NETNS show -j` prints it, null without a service), so that
    /// `ovnet-lb show -j | jq '[.[].ipvs]' | ovnet-ipvs apply` changes nothing; both null when
    /// IPVS cannot be read. Read-only: netns, owner, fwmark_hex, vip_iface, backends, ipvs, rules (there is no apply for services: add takes
    /// the input fields from the command line).
    template <class W>
    void fields(W& w) const;
    json to_json() const;
    /// Checks what can be checked without the kernel (IPv4, fwmark, scheduler, backends unique,
    /// backends and lb_ip inside subnet when given). Errors name "service VIP".
    void validate() const;
};

/// One published port of the routing mesh.
struct PublishSpec {
    std::string proto = "tcp";         ///< tcp, udp, sctp
    uint16_t port = 0;                 ///< published port 1..65535
    std::string sbox = "ingress_sbox"; ///< the ingress sandbox's namespace
    IpAddr gw_ip;                      ///< the sandbox's address on the gwbridge (172.18.0.2)
    std::string gw_bridge;             ///< host bridge holding the gw network; derived if empty
    std::optional<Prefix> subnet;      ///< ingress network (10.255.0.0/16); derived if unset
    IpAddr lb_ip;                      ///< the sandbox's ingress address; derived if unset
    std::vector<IpAddr> backends;
    uint32_t fwmark = 0;               ///< 0 = allocate
    std::string scheduler = "rr";
    // read-only
    std::string netns;
    std::string owner = kOwnerOvnet;   ///< kOwnerOvnet or kOwnerDocker
    IpAddr ingress_vip;                ///< Docker's ingress VIP (the sandbox's INPUT mark rule), if any
    std::optional<IpvsService> ipvs;   ///< the port's firewall-mark service in the sandbox, if any
    bool ipvs_read = true;             ///< false: IPVS could not be read (no IPVS): backends, ipvs null
    std::vector<std::string> rules;    ///< "host: nat OVNET-INGRESS -p tcp ...", "<sbox>: mangle ..."

    /// The JSON form, in one list (schema.hpp): {netns, owner, proto, port, ingress_sbox, gw_ip,
    /// gw_bridge, fwmark, fwmark_hex, ingress_vip, subnet, lb_ip, scheduler, backends, ipvs, rules};
    /// `backends` and `ipvs` as for LbService (`ipvs` carries the sandbox as its "netns").
    /// Read-only: netns, owner, fwmark_hex, ingress_vip, backends, ipvs, rules.
    template <class W>
    void fields(W& w) const;
    json to_json() const;
    void validate() const;
};

// ---- pure pieces (no kernel; unit-tested) ----

/// Parses a firewall mark given by a user: decimal (258) or hex (0x102), 1..4294967295.
uint32_t lb_parse_fwmark(const std::string& object, const std::string& s);
/// Lowest mark >= 256 not in `used`.
uint32_t lb_alloc_mark(const std::set<uint32_t>& used);
/// Rule specs exactly as iptables-save prints them.
std::string lb_mark_rule(const IpAddr& vip, uint32_t mark);
std::string lb_port_mark_rule(const std::string& proto, uint16_t port, uint32_t mark);
std::string lb_snat_rule(const Prefix& subnet, const IpAddr& lb_ip);
std::string ingress_dnat_rule(const std::string& proto, uint16_t port, const IpAddr& gw_ip);
std::string ingress_masq_rule(const std::string& gw_bridge);
/// The filter OVNET-INGRESS rules of one published port (Docker's DOCKER-INGRESS in filter):
/// new connections to the port, and the answers from it.
std::vector<std::string> ingress_accept_rules(const std::string& proto, uint16_t port);
/// Parsers for the same rules (nullopt when a spec is not one of ovnet's).
struct MarkRule { IpAddr vip; uint32_t mark = 0; };
struct PortMarkRule { std::string proto; uint16_t port = 0; uint32_t mark = 0; };
struct SnatRule { Prefix subnet; IpAddr lb_ip; };
struct DnatRule { std::string proto; uint16_t port = 0; IpAddr gw_ip; };
std::optional<MarkRule> parse_mark_rule(const std::string& spec);
std::optional<PortMarkRule> parse_port_mark_rule(const std::string& spec);
std::optional<SnatRule> parse_snat_rule(const std::string& spec);
std::optional<DnatRule> parse_dnat_rule(const std::string& spec);
/// Marks ovnet's rules use in a namespace's state (OVNET-LB and OVNET-INGRESS in mangle).
std::set<uint32_t> lb_used_marks(const IptState& st);

/// The desired OVNET-LB / OVNET-LB-SNAT chains after adding (or, with remove, deleting) service
/// `s` (vip, fwmark, subnet, lb_ip set) on top of the current state; other services' rules are
/// kept in place and a subnet's SNAT rule stays while any service of that subnet remains.
std::vector<IptChain> lb_chains(const IptState& cur, const LbService& s, bool remove);
/// Same for the ingress sandbox side of a published port.
std::vector<IptChain> publish_sbox_chains(const IptState& cur, const PublishSpec& p, bool remove);
/// And for the host side: nat OVNET-INGRESS, nat OVNET-INGRESS-POST and filter OVNET-INGRESS
/// (two ACCEPT rules per DNATed port, then RETURN; hooked from FORWARD), in this order.
std::vector<IptChain> publish_host_chains(const IptState& cur, const PublishSpec& p, bool remove);

/// The IPVS firewall-mark service Docker programs: rr (or `sched`), destinations <ip>:0 masq
/// weight 1; `draining` destinations are kept with weight 0.
IpvsService lb_ipvs_service(uint32_t mark, const std::string& sched, const std::vector<IpAddr>& backends,
                            const std::vector<IpAddr>& draining = {});

/// True when ovnet still has a service or publication in a namespace whose rules are `st`: an
/// OVNET-LB mark, an OVNET-INGRESS port mark (ingress sandbox) or an OVNET-INGRESS DNAT (host).
/// The sysctls ovnet saved for the namespace are restored when this becomes false.
bool lb_namespace_in_use(const IptState& st);
/// Where the saved sysctls live: $OVNET_STATE_DIR, default /run/ovnet.
std::string lb_state_dir();
/// Largest --drain accepted (seconds).
inline constexpr unsigned kMaxDrain = 86400;

/// Schedulers accepted (IPVS's).
bool lb_scheduler_known(const std::string& s);

// ---- Docker's state (pure readers of iptables-save text; unit-tested on a real node's capture) ----

/// Docker's service VIPs in a load-balancer namespace (lb_<id>, or ingress_sbox for the ingress
/// VIP) whose rules are `st`: one row per "-d VIP/32 -j MARK" rule of mangle INPUT or OUTPUT, in
/// rule order, with the subnet and lb_ip of the nat POSTROUTING "-m ipvs --ipvs -j SNAT" rule whose
/// network holds the VIP. `ipvs` is the namespace's IPVS listing, nullptr when IPVS cannot be read
/// (then scheduler is "-" and ipvs_read false). owner "docker", netns `netns`.
std::vector<LbService> docker_lb_services(const IptState& st, const std::vector<IpvsService>* ipvs,
                                          const std::string& netns);
/// Docker's published ports: the host's (`host`) nat DOCKER-INGRESS DNAT rules, joined with the
/// ingress sandbox's (`sbox`) mangle PREROUTING port mark, the INPUT mark rule of the same mark
/// (ingress_vip), its SNAT rule and the IPVS service of the mark (`ipvs`: the sandbox's listing,
/// nullptr when IPVS cannot be read). gw_bridge comes from the host's nat POSTROUTING "-o BR -m
/// addrtype --src-type LOCAL -j MASQUERADE"; rules list every rule used, and the port's filter
/// DOCKER-INGRESS rules. owner "docker".
std::vector<PublishSpec> docker_published_ports(const IptState& host, const IptState& sbox,
                                                const std::vector<IpvsService>* ipvs, const std::string& netns,
                                                const std::string& sbox_name);
/// The marks Docker's rules use in a namespace (mangle PREROUTING, INPUT, OUTPUT), which ovnet
/// never hands out.
std::set<uint32_t> docker_used_marks(const IptState& st);

// ---- kernel operations ----

struct LbResult {
    Changes changes;
    size_t restores = 0;               ///< iptables-restore runs (0 when the rules were right)
    json doc;                          ///< the service as show prints it
};

/// Adds or converges one service in `netns` (a -n argument). Scaling is re-running add with
/// another backend list; with drain > 0 removed backends get weight 0, then are deleted after
/// `drain` seconds. With `batch`, the rules are read through it and queued there (written by its
/// commit(), one restore per namespace for many services), and `doc` stays null.
LbResult lb_add(const std::string& netns, LbService s, unsigned drain = 0, IptBatch* batch = nullptr);
/// Removes the service of `vip` (its mark rule, its IPVS service, its VIP address; the SNAT rule
/// when no other service uses the subnet; the saved sysctls when it was the namespace's last
/// service). With drain > 0 every destination first gets weight 0, then after `drain` seconds
/// the service is removed as without it. Nothing there: "unchanged".
LbResult lb_del(const std::string& netns, const IpAddr& vip, unsigned drain = 0);
std::vector<LbService> lb_list(const std::string& netns);
/// What show prints: ovnet's rows, then Docker's (both backends read), and why IPVS could not be
/// read ("" when it could; then every row has ipvs_read false and the iptables half only).
struct LbListing {
    std::vector<LbService> rows;
    std::string ipvs_error;
};
LbListing lb_show(const std::string& netns);
/// lb_show's rows from state already read: the namespace's rules (both backends), its IPVS listing
/// (nullptr without IPVS), its addresses and a name for an ifindex (vip_iface). No kernel access.
std::vector<LbService> lb_rows(const IptState& st, const std::vector<IpvsService>* ipvs, const std::vector<Addr>& addrs,
                               const std::function<std::string(int)>& ifname, const std::string& netns);

/// Publishes a port: host side in `netns`, sandbox side in p.sbox. With `batch`, as for lb_add.
LbResult publish_add(const std::string& netns, PublishSpec p, unsigned drain = 0, IptBatch* batch = nullptr);
/// Unpublishes; with drain > 0 the port's IPVS service (when it goes) first gets weight 0 on
/// every destination for `drain` seconds. Sysctls are restored per namespace as for lb_del.
LbResult publish_del(const std::string& netns, PublishSpec p, unsigned drain = 0);
std::vector<PublishSpec> publish_list(const std::string& netns, const std::string& sbox);
struct PublishListing {
    std::vector<PublishSpec> rows;
    std::string ipvs_error;            ///< as in LbListing
};
/// ovnet's published ports, then Docker's (host DOCKER-INGRESS joined with the sandbox's marks).
PublishListing publish_show(const std::string& netns, const std::string& sbox);
/// publish_show's rows from state already read: the host's rules, the ingress sandbox's rules and
/// its IPVS listing (nullptr without IPVS). No kernel access.
std::vector<PublishSpec> publish_rows(const IptState& host, const IptState& sbox_rules,
                                      const std::vector<IpvsService>* ipvs, const std::string& netns,
                                      const std::string& sbox);

}  // namespace ovnet
