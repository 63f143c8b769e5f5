// ovnet/ipvs.hpp - IPVS services and destinations over the "IPVS" generic netlink family.
#pragma once
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "ovnet/json.hpp"
#include "ovnet/netlink.hpp"
#include "ovnet/types.hpp"

namespace ovnet {

/// Counters and rates of a service or destination (IPVS_STATS_ATTR_*, 64-bit when available).
struct IpvsStats {
    uint64_t conns = 0, inpkts = 0, outpkts = 0, inbytes = 0, outbytes = 0;
    uint64_t cps = 0, inpps = 0, outpps = 0, inbps = 0, outbps = 0;
    json to_json() const;
};

/// Forwarding method of a destination (IP_VS_CONN_F_*): masq 0, local 1, tunnel 2, dr 3.
enum class IpvsFwd : uint8_t { Masq = 0, Local = 1, Tunnel = 2, Route = 3 };
const char* ipvs_fwd_name(IpvsFwd f);   ///< "masq", "local", "tunnel", "dr"

/// A real server behind a service.
struct IpvsDest {
    IpAddr addr;
    uint16_t port = 0;                 ///< 0 for firewall-mark services (Docker's "10.255.0.6:0")
    IpvsFwd fwd = IpvsFwd::Masq;
    uint32_t weight = 1;
    uint32_t u_thresh = 0, l_thresh = 0;
    std::string tun_type;              ///< tunnel only: "ipip" (default), "gue", "gre"
    uint16_t tun_port = 0;             ///< gue only
    // read-only (show)
    uint32_t active = 0, inactive = 0, persistent = 0;
    IpvsStats stats;

    std::string label() const;         ///< "10.255.0.6:0"
    json to_json() const;
};

/// A virtual service: protocol + address + port, or a firewall mark.
struct IpvsService {
    int af = AF_INET;
    std::string protocol;              ///< "tcp", "udp", "sctp", or "fwm" for a firewall-mark service
    IpAddr addr;                       ///< unset for fwm
    uint16_t port = 0;                 ///< 0 for fwm
    uint32_t fwmark = 0;               ///< fwm only, 1..0xffffffff
    std::string scheduler = "wlc";     ///< rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh
    bool persistent = false;
    uint32_t timeout = 0;              ///< persistence timeout in seconds (persistent only; default 360, as ipvsadm -p)
    int netmask = -1;                  ///< persistence granularity as a prefix length, -1 = /32 or /128
    bool onepacket = false;
    bool sh_fallback = false;          ///< sh scheduler flags (IP_VS_SVC_F_SCHED1/2)
    bool sh_port = false;
    std::string pe;                    ///< persistence engine ("sip"), "" for none
    std::vector<IpvsDest> dests;
    IpvsStats stats;                   ///< read-only

    /// The identity: "tcp 10.0.0.5:80", "fwm 258" (IPv6 firewall marks: "fwm6 258").
    std::string key() const;
    json to_json() const;
    /// Accepts to_json() output; validates every field and every destination. Errors name the
    /// service key and the field ("fwm 258: dests[1].weight ...").
    static IpvsService from_json(const json& j);
    void validate() const;
    /// Appends to_json().dump() to `out` (compact, the same bytes) without building a DOM: what
    /// `show` uses for thousands of services. With a namespace, "netns" comes first.
    void write_json(std::string& out, const std::string& netns = {}) const;
};

/// IPVS connection timeouts in seconds (0 in a set call leaves a value unchanged).
struct IpvsTimeouts {
    uint32_t tcp = 0, tcp_fin = 0, udp = 0;
    json to_json() const;
};

/// A generic-netlink socket for IPVS opened inside one namespace (IPVS state is per netns).
///
/// Construction resolves the "IPVS" family; when the kernel has no IPVS it throws Error(Runtime)
/// with errno ENOENT and the message "the kernel has no IPVS (modprobe ip_vs)".
class IpvsHandle {
public:
    explicit IpvsHandle(const std::string& netns = {});
    Handle& nl() { return h_; }
    int family() const { return family_; }
    /// "1.2.1" and the connection table size, from IPVS_CMD_GET_INFO.
    std::string version();
    uint32_t conn_tab_size();

private:
    Handle h_;
    int family_ = 0;
};

/// Every service with its destinations and stats, sorted as `ipvsadm -Ln` sorts them.
std::vector<IpvsService> ipvs_list(IpvsHandle& h);
/// One service (found by its key: protocol, address, port or fwmark and family) with its
/// destinations, or nullopt when it does not exist.
std::optional<IpvsService> ipvs_get(IpvsHandle& h, const IpvsService& key);

struct IpvsApplyStats {
    size_t added = 0, edited = 0, removed = 0, unchanged = 0, writes = 0;
};

/// One write of ipvs_apply_set(): a service or one of its destinations added, edited or removed.
struct IpvsChange {
    enum Action : uint8_t { Added, Edited, Removed } action;
    std::string service;   ///< the service's key(), "tcp 10.1.0.1:80"
    std::string dest;      ///< the destination's label(), "10.2.0.1:8080"; empty for the service
    const char* action_name() const;   ///< "added", "edited", "removed"
    std::string object() const;        ///< "service tcp 10.1.0.1:80", "dest 10.2.0.1:8080 of tcp 10.1.0.1:80"
};

/// Add a service (with its destinations). Idempotent: an equal service is "unchanged"; one that
/// differs is edited. Destinations given are added or edited, never removed.
Changes ipvs_add_service(IpvsHandle& h, const IpvsService& s);
/// Change scheduler, flags, timeout, netmask of an existing service (Error(Input) if missing).
Changes ipvs_edit_service(IpvsHandle& h, const IpvsService& s);
Changes ipvs_del_service(IpvsHandle& h, const IpvsService& key);
/// Destinations of an existing service (Error(Input) when the service does not exist).
Changes ipvs_add_dest(IpvsHandle& h, const IpvsService& key, const IpvsDest& d);
Changes ipvs_edit_dest(IpvsHandle& h, const IpvsService& key, const IpvsDest& d);
/// With drain_seconds > 0: weight 0 first, wait, then delete (Docker's graceful removal).
Changes ipvs_del_dest(IpvsHandle& h, const IpvsService& key, const IpvsDest& d, unsigned drain_seconds = 0);
/// Converge to a desired set in one batched exchange: adds, edits, removes destinations missing
/// from a listed service, and with `prune` removes services missing from the set. An unchanged
/// set issues no write.
Changes ipvs_apply(IpvsHandle& h, const std::vector<IpvsService>& desired, bool prune,
                   IpvsApplyStats* stats = nullptr);
/// ipvs_apply() for bulk callers: the writes it made as compact records (no Change per entry),
/// and in *unchanged the keys of the services that were already right.
std::vector<IpvsChange> ipvs_apply_set(IpvsHandle& h, const std::vector<IpvsService>& desired, bool prune,
                                       IpvsApplyStats* stats = nullptr, std::vector<std::string>* unchanged = nullptr);
/// Zero the counters of one service, or of all when key is nullopt.
Changes ipvs_zero(IpvsHandle& h, const std::optional<IpvsService>& key);
Changes ipvs_flush(IpvsHandle& h);
IpvsTimeouts ipvs_get_timeouts(IpvsHandle& h);
Changes ipvs_set_timeouts(IpvsHandle& h, const IpvsTimeouts& t);

/// Reads a set of services (one or more JSON documents: objects, or arrays of objects, as `show`
/// writes them) with the rules of IpvsService::from_json, without building a DOM for the
/// destinations. Errors are Error(Input) prefixed with "service #N: ". When `stubs` is given it
/// receives one object per service holding only its "netns" field, if any (for choosing the
/// namespace the set belongs to).
std::vector<IpvsService> ipvs_read(std::istream& in, const std::string& what = "stdin",
                                   std::vector<json>* stubs = nullptr);
/// Reads `ipvsadm -S -n` output (-A/-a lines) into services; bad lines raise Error(Input) with
/// the line number.
std::vector<IpvsService> ipvs_parse_ipvsadm(std::istream& in);
/// Writes services as `ipvsadm -S -n` does, so that `ipvsadm -R` reads it back.
std::string ipvs_format_ipvsadm(const std::vector<IpvsService>& services);

/// Known scheduler names; validate() refuses others.
const std::vector<std::string>& ipvs_schedulers();

}  // namespace ovnet
