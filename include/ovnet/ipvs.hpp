// ovnet/ipvs.hpp - IPVS services and destinations over the "IPVS" generic netlink family.
#pragma once
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ovnet/json.hpp"
#include "ovnet/netlink.hpp"
#include "ovnet/schema.hpp"
#include "ovnet/types.hpp"

namespace ovnet {

/// Counters and rates of a service or destination (IPVS_STATS_ATTR_*, 64-bit when available).
struct IpvsStats {
    uint64_t conns = 0, inpkts = 0, outpkts = 0, inbytes = 0, outbytes = 0;
    uint64_t cps = 0, inpps = 0, outpps = 0, inbps = 0, outbps = 0;
    /// The JSON schema (schema.hpp): every key read-only (counters are never applied).
    template <class W>
    void fields(W& w) const {
        using schema::ReadOnly;
        w("conns", conns, ReadOnly), w("inpkts", inpkts, ReadOnly), w("outpkts", outpkts, ReadOnly);
        w("inbytes", inbytes, ReadOnly), w("outbytes", outbytes, ReadOnly), w("cps", cps, ReadOnly);
        w("inpps", inpps, ReadOnly), w("outpps", outpps, ReadOnly), w("inbps", inbps, ReadOnly);
        w("outbps", outbps, ReadOnly);
    }
    json to_json() const { return schema::to_dom(*this); }
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
    /// The JSON schema of a destination, the one list of its keys: output (to_json, and the bytes
    /// of IpvsService::write_json) and what from_json and ipvs_read accept. ovnet-lb and
    /// ovnet-publish write their backends with it too.
    template <class W>
    void fields(W& w) const {
        bool tun = fwd == IpvsFwd::Tunnel;
        w("address", addr);
        w("port", port);
        w("forward", ipvs_fwd_name(fwd));
        w("weight", weight);
        w("u_threshold", u_thresh);
        w("l_threshold", l_thresh);
        // Every key on every row: what does not apply to this destination is null.
        w("tun_type", tun ? std::optional<std::string>(tun_type.empty() ? std::string("ipip") : tun_type)
                          : std::nullopt);
        w("tun_port", tun && tun_type == "gue" ? std::optional<uint16_t>(tun_port) : std::nullopt);
        w("active", active, schema::ReadOnly);
        w("inactive", inactive, schema::ReadOnly);
        w("persistent_conns", persistent, schema::ReadOnly);
        w("stats", stats, schema::ReadOnly);
    }
    json to_json() const { return schema::to_dom(*this); }
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
    bool is_fwmark() const { return fwmark || protocol == "fwm"; }
    /// The persistence granularity as a prefix length (netmask, or 32/128 when -1).
    int prefix_len() const { return netmask >= 0 ? netmask : af == AF_INET6 ? 128 : 32; }
    /// The JSON schema of a service: the one list of its keys, in output order. `show -j` also
    /// writes "netns" first (accepted on input, to choose the namespace).
    template <class W>
    void fields(W& w) const {
        bool fw = is_fwmark();
        w("key", key(), schema::ReadOnly);
        w("family", af == AF_INET6 ? "ipv6" : "ipv4");
        w("protocol", fw ? "fwm" : protocol.c_str());
        // Every key on every row: what does not apply to this kind of service is null.
        w("fwmark", fw ? std::optional<uint32_t>(fwmark) : std::nullopt);
        w("address", fw ? IpAddr{} : addr);
        w("port", fw ? std::nullopt : std::optional<uint16_t>(port));
        w("scheduler", scheduler);
        w("persistent", persistent);
        w("timeout", persistent ? std::optional<uint32_t>(timeout) : std::nullopt);
        w("netmask", persistent ? std::optional<int>(prefix_len()) : std::nullopt);
        w("onepacket", onepacket);
        w("sh_fallback", sh_fallback);
        w("sh_port", sh_port);
        w("pe", pe.empty() ? std::nullopt : std::optional<std::string>(pe));
        w("dests", dests);
        w("stats", stats, schema::ReadOnly);
    }
    json to_json() const { return schema::to_dom(*this); }
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
    template <class W>
    void fields(W& w) const {
        w("tcp", tcp), w("tcp_fin", tcp_fin), w("udp", udp);
    }
    json to_json() const { return schema::to_dom(*this); }
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
/// One write of a plan: a service or one of its destinations added, edited or removed.
struct IpvsOp {
    enum Kind : uint8_t { AddService, EditService, RemoveService, AddDest, EditDest, RemoveDest } kind;
    const IpvsService* svc;            ///< desired (adds, edits, destinations) or current (service removal)
    const IpvsDest* dest = nullptr;    ///< nullptr for service writes
    const void* prev = nullptr;        ///< edits: the current IpvsService or IpvsDest (to undo the write)
};

/// What converging `current` to `desired` takes: ops[i] and changes[i] describe the same write,
/// in the order they are sent (service removals first, then per desired service: the service, then
/// its destinations in address order). The ops point into the two sets given to ipvs_plan().
struct IpvsPlan {
    std::vector<IpvsOp> ops;
    Changes changes;                   ///< "service tcp 10.1.0.1:80", "dest 10.2.0.1:8080 of tcp 10.1.0.1:80"; edits say "edited"
    std::vector<std::string> unchanged;   ///< keys of the desired services already right
    ChangeStats stats;                 ///< added/changed/removed/unchanged count services and destinations; writes = 0
};

/// The pure planner behind ipvs_apply: no kernel, no validation (the sets are taken as valid and
/// keyed uniquely). Destinations missing from a desired service are removed; with `prune`,
/// services missing from `desired` too. Equal sets give no ops.
IpvsPlan ipvs_plan(const std::vector<IpvsService>& current, const std::vector<IpvsService>& desired, bool prune);
/// Sends a plan's writes in one batch. If the kernel refuses any, the ones that went through are
/// undone and Error(Runtime) names the first refused write. Sets stats->writes.
void ipvs_execute(IpvsHandle& h, const IpvsPlan& p, ChangeStats* stats = nullptr);
/// Converge to a desired set in one batched exchange (validate, list, ipvs_plan, ipvs_execute):
/// adds, edits, removes destinations missing from a listed service, and with `prune` removes
/// services missing from the set. An unchanged set issues no write. Returns the writes' changes,
/// or when there are none, "unchanged" for the one service ("service K") or the set ("N services",
/// "ipvs" when empty). `current`: the kernel's services as the caller has just read them
/// (ipvs_list on this handle, nothing written since), used instead of listing them again.
Changes ipvs_apply_set(IpvsHandle& h, const std::vector<IpvsService>& desired, bool prune,
                       ChangeStats* stats = nullptr, const std::vector<IpvsService>* current = nullptr);
/// ipvs_apply_set() under the name the small callers (lb, publish) use.
inline Changes ipvs_apply(IpvsHandle& h, const std::vector<IpvsService>& desired, bool prune,
                          ChangeStats* stats = nullptr, const std::vector<IpvsService>* current = nullptr) {
    return ipvs_apply_set(h, desired, prune, stats, current);
}
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
/// the line number. Each line is split into words and read with ipvsadm_take() and
/// ipvsadm_service()/ipvsadm_dest(): the rules of ovnet-ipvs's command line.
std::vector<IpvsService> ipvs_parse_ipvsadm(std::istream& in);

// ---- ipvsadm's syntax, parsed once: by the -S reader above and by ovnet-ipvs's verbs ----

/// The ipvsadm options of one command (a command line, or one `ipvsadm -S` line), as given:
/// values are kept unparsed until ipvsadm_key/service/dest or ipvs_merge_edit read them.
struct IpvsadmArgs {
    std::string tcp, udp, sctp, fwmark;     ///< -t/-u/--sctp-service ADDR:PORT ([IPv6]:PORT), -f MARK
    bool six = false;                       ///< -6: the firewall-mark service is IPv6
    std::optional<std::string> scheduler;   ///< -s SCHED
    std::optional<std::string> persistent;  ///< -p [TIMEOUT] ("" when given without a value)
    std::optional<std::string> netmask;     ///< -M NETMASK (an IPv4 netmask or a prefix length)
    std::optional<std::string> sched_flags; ///< -b FLAGS (sh-fallback,sh-port, mh-*, flag-1, flag-2)
    std::optional<std::string> pe;          ///< --pe ENGINE
    bool onepacket = false;                 ///< -o
    std::string real;                       ///< -r ADDR[:PORT] (the port defaults to the service's)
    bool masq = false, gate = false, ipip = false;   ///< -m, -g, -i
    std::optional<std::string> weight, u_thresh, l_thresh, tun_type, tun_port;   ///< -w -x -y --tun-type --tun-port

    bool has_key() const { return !tcp.empty() || !udp.empty() || !sctp.empty() || !fwmark.empty(); }
    bool has_dest() const { return !real.empty(); }
};

/// Takes the option at words[i] (and its value, advancing i) into `a`: the service options when
/// `dest` is false (-A lines), the destination options when true (-a lines), the key options in
/// both. False when words[i] is not one of them. Error(Input) naming `object` when a value is missing.
bool ipvsadm_take(IpvsadmArgs& a, const std::vector<std::string>& words, size_t& i, bool dest,
                  const std::string& object);
/// The service named by -t/-u/--sctp-service/-f (exactly one; -6 for IPv6 marks), with defaults
/// for everything else. Error(Input) for a bad or missing key.
IpvsService ipvsadm_key(const IpvsadmArgs& a);
/// The service of an add (-A): its key with the settings given laid over the defaults, validated.
IpvsService ipvsadm_service(const IpvsadmArgs& a);
/// The destination -r names, with the settings given over the defaults (port: the service's),
/// validated as a destination of `svc` unless `validate` is false (removals name a destination only).
IpvsDest ipvsadm_dest(const IpvsadmArgs& a, const IpvsService& svc, bool validate = true);
/// The edit (-E) of a service: the settings given laid over the current ones (unset options keep
/// their value; -b replaces both flags; -p without a value keeps a current timeout), validated;
/// the result has no destinations.
IpvsService ipvs_merge_edit(const IpvsService& cur, const IpvsadmArgs& a);
/// The edit (-e) of the destination -r names in `cur` (Error(Input) when it has none): the
/// settings given laid over the current ones (leaving tunnel forwarding drops the tunnel type).
IpvsDest ipvs_merge_edit_dest(const IpvsService& cur, const IpvsadmArgs& a);

/// "10.0.0.5:80", "[fd00::1]:443", "10.0.0.5" -> address and port (nullopt when absent); false
/// when the text is neither.
bool ipvs_parse_addr_port(std::string_view v, IpAddr& addr, std::optional<uint32_t>& port);
/// A persistence netmask, "255.255.255.0" (IPv4 services) or a prefix length "24": the prefix
/// length, -1 for a full mask (/32, /128). Error(Input) naming object and "netmask".
int ipvs_parse_netmask(const std::string& v, int af, const std::string& object);
/// ipvsadm's -b: "sh-fallback,sh-port" (mh-fallback, mh-port, flag-1, flag-2) -> the two flags.
void ipvs_parse_sched_flags(const std::string& v, bool& fallback, bool& port, const std::string& object);
/// Writes services as `ipvsadm -S -n` does, so that `ipvsadm -R` reads it back.
std::string ipvs_format_ipvsadm(const std::vector<IpvsService>& services);

/// Known scheduler names; validate() refuses others.
const std::vector<std::string>& ipvs_schedulers();

// ---- IPVS connections (/proc/net/ip_vs_conn: IPVS has no netlink dump of them) ----

/// One IPv4 connection of /proc/net/ip_vs_conn: the client, the virtual address it asked for (for a
/// firewall-mark service the packet's own destination), and the real server IPVS picked.
struct IpvsConn {
    std::string proto;        ///< "TCP", "UDP", "SCTP"... as the kernel names it
    IpAddr client, vaddr, daddr;
    uint16_t cport = 0, vport = 0, dport = 0;
    std::string state;        ///< "SYN_RECV", "ESTABLISHED", "UDP"...
    uint32_t expires = 0;     ///< seconds left
};
/// Parses /proc/net/ip_vs_conn's text (pure): its hex form "TCP 0AFF0008 A1B2 0AFF0005 7530
/// 0AFF0006 7530 SYN_RECV 56 [PEName PEData]". The header, IPv6 lines and malformed lines are
/// left out.
std::vector<IpvsConn> ipvs_conn_parse(std::string_view text);
/// The connections of namespace `netns` (netns_open() rules; "" the caller's): its
/// /proc/net/ip_vs_conn, read from a thread inside it. Empty when the kernel has no IPVS.
std::vector<IpvsConn> ipvs_conn_read(const std::string& netns);

}  // namespace ovnet
