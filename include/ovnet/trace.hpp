// ovnet/trace.hpp - the journey of one packet, hop by hop, computed from a node's state
// (ovnet-trace).
//
// The tracer walks ovnet-inspect snapshots (include/ovnet/inspect.hpp, their JSON form) in the
// kernel's order: netfilter hooks and their tables with the rule that matched, the route
// decision, IPVS, neighbor and bridge forwarding, VXLAN encapsulation, the underlay hop to the
// namespace owning the outer destination, decapsulation and the final socket. The same walk reads
// live state (a TraceWorld that inspects namespaces as the packet reaches them and asks the
// kernel for its route and sockets) or snapshots read from files (offline): only the route
// decision and the socket differ in where their answer comes from.
//
// A match ovnet does not model is never guessed: the trace forks on it (one path where the rule
// matched, one where it did not, each path naming its assumption).
//
//   {"schema": "ovnet-trace/1", "mode", "start", "packet", "outcome", "code", "reason", "fix",
//    "paths": [{"assumptions", "outcome", "code", "reason", "fix", "hops": [...]}]}
//
// schema/trace.schema.json describes the document.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ovnet/json.hpp"
#include "ovnet/types.hpp"

namespace ovnet {

inline constexpr const char* kTraceSchema = "ovnet-trace/1";

/// The packet's header as the trace sees it at one point.
struct TracePacket {
    std::string proto = "tcp";        ///< "tcp", "udp", "icmp"
    IpAddr src, dst;                  ///< src unset: chosen by the route (the output device's address)
    uint16_t sport = 0, dport = 0;    ///< 0: none (icmp) or not determined (a VXLAN flow hash)
    uint32_t mark = 0;
    uint32_t size = 60;               ///< IP total length
    bool df = true;
    uint32_t vni = 0;                 ///< outer VXLAN packets: the VNI (0 = not encapsulated)
    /// Parses "tcp"/"udp"/"icmp" and "ADDR[:PORT]": Error(Input) naming the field.
    static TracePacket parse(const std::string& proto, const std::string& dst);
    json to_json() const;
};

/// Where the packet starts.
struct TraceStart {
    std::string kind = "sandbox";     ///< "sandbox" (sent by a process in netns), "netns" (arrives on iif), "client"
    std::string netns;                ///< namespace label; a container name is accepted for a sandbox
    std::string iif;                  ///< input interface ("netns", "client"); "" for a sandbox
    json to_json() const;
};

/// One step of the journey.
struct TraceHop {
    std::string netns;
    std::string stage;                ///< "route", "netfilter", "ipvs", "neighbor", "bridge", "veth",
                                      ///< "mtu", "xfrm", "encap", "decap", "socket", "egress"
    std::string object;               ///< "nat PREROUTING", "vx-001001-7672d", "eth0", ...
    std::string entry;                ///< the rule as iptables-save prints it, the route, the fdb entry...
    std::string effect;               ///< "MARK 0x102 (258)", "DNAT to 172.18.0.2:30000", "ACCEPT", ...
    std::optional<uint64_t> packets, bytes;   ///< a rule's or policy's counters, when known
    TracePacket packet;               ///< the header after the hop
    json to_json() const;
};

/// One path through the node (the only one unless the trace forked).
struct TracePath {
    std::vector<std::string> assumptions;   ///< forks taken: "unmodelled match -m u32 ... matched"
    std::string outcome = "delivered";      ///< "delivered", "dropped", "left" (beyond the state read)
    std::string code;                       ///< failure code when dropped (NO_ROUTE, DROP_RULE, ...)
    std::string reason, fix;                ///< why, and the command that fixes it
    std::vector<TraceHop> hops;
    json to_json() const;
};

/// The trace: the packet as given and every path.
struct TraceResult {
    std::string mode;                 ///< "live" or "snapshot"
    TraceStart start;
    TracePacket packet;
    std::vector<TracePath> paths;
    /// Every path delivered (or left the state read): exit status 0; else 1.
    bool delivered() const;
    json to_json() const;
    /// One stable line per hop, without counters and sizes, and a last line with the outcome:
    /// what regression tests compare (`ovnet-trace --minimal`).
    std::string minimal() const;
    /// A Graphviz digraph: namespaces as clusters, hops as edges labelled with what happened.
    std::string dot() const;
};

/// The route the kernel chose (live) or the snapshot's longest-prefix match gives.
struct RouteAnswer {
    std::string type;                 ///< "unicast", "local", "unreachable", "blackhole", "prohibit"
    std::string dev;                  ///< output device ("" for local/unreachable)
    IpAddr gateway, prefsrc;
    std::string entry;                ///< the route as `ip route` would print it
    int error = 0;                    ///< errno of a refused lookup (ENETUNREACH, EXDEV for rp_filter...)
};

/// The state a trace reads. A snapshot world holds parsed documents; the live world reads each
/// namespace when the packet reaches it.
class TraceWorld {
public:
    virtual ~TraceWorld() = default;
    virtual std::string mode() const = 0;
    /// The namespace's object as a snapshot holds it (`.netns[label]`); nullptr when unknown.
    virtual const json* netns(const std::string& label) = 0;
    /// The labels of the namespaces holding `a` as an address.
    virtual std::vector<std::string> owners(const IpAddr& a) = 0;
    /// The label of a namespace named `name` or holding container `name`; "" when none.
    virtual std::string find_sandbox(const std::string& name) = 0;
    /// The labels of namespaces holding a VXLAN device whose UDP socket is in `label` (Docker's
    /// vxlan0 in 1-<id>, its socket in the host's namespace).
    virtual std::vector<std::string> vxlan_holders(const std::string& /*label*/) { return {}; }
    /// The rows (`ovnet-fdb show`'s) of VTEP `dev` in `label` that may hold `ip` or `mac`; the
    /// caller picks among them. nullptr: the namespace has no rows for `dev`. By default the
    /// namespace's whole `.peers[dev]`; live: single get requests for these addresses.
    virtual const json* peer_rows(const std::string& label, const std::string& dev, const IpAddr& ip, const Mac& mac);
    /// The kernel's route answer (live); nullopt: the tracer matches the snapshot's routes.
    virtual std::optional<RouteAnswer> route_get(const std::string& /*label*/, const TracePacket& /*p*/,
                                                 const std::string& /*iif*/) {
        return std::nullopt;
    }
    /// Whether a socket takes the packet (live: the socket table); nullopt: not known.
    virtual std::optional<std::string> listener(const std::string& /*label*/, const TracePacket& /*p*/,
                                                bool* /*found*/) {
        return std::nullopt;
    }
};

/// Snapshots read from documents (each checked with check_snapshot). Namespaces of later snapshots
/// whose label an earlier one holds are labelled "HOST:LABEL".
class SnapshotWorld : public TraceWorld {
public:
    explicit SnapshotWorld(std::vector<json> docs);
    std::string mode() const override { return "snapshot"; }
    const json* netns(const std::string& label) override;
    std::vector<std::string> owners(const IpAddr& a) override;
    std::string find_sandbox(const std::string& name) override;
    std::vector<std::string> vxlan_holders(const std::string& label) override;
    /// Rows kept as text (trace_snapshot_read) are parsed here, only those naming ip or mac.
    const json* peer_rows(const std::string& label, const std::string& dev, const IpAddr& ip, const Mac& mac) override;

private:
    json merged_;                     ///< label -> namespace object
    std::map<std::string, json> peers_;   ///< peer_rows' parsed answers
};

/// Reads one ovnet-inspect document (`text` holds exactly one JSON value) as the tracer uses it,
/// with json_sax_fast (nlohmann's DOM parser when that gives up): what the walk never reads is
/// left out (the networks view, the netfilter save texts, the namespaces' interfaces, lb rows and
/// published ports: empty, of the same type, so check_snapshot judges it as the whole document)
/// and each VTEP's peer rows stay compact JSON strings, parsed by SnapshotWorld::peer_rows only
/// for the addresses a walk asks about. Throws nlohmann's parse_error on malformed text.
json trace_snapshot_read(std::string_view text);

/// The machine's live state (needs root): namespaces read with inspect_node as the packet
/// reaches them, the kernel's RTM_GETROUTE answer, the socket table (sock_diag). With a
/// `netns_prefix`, only the namespaces whose names start with it are looked at (a lab's, when other
/// namespaces of the machine hold the same addresses); the root namespace is then left out.
std::unique_ptr<TraceWorld> live_world(const std::string& netns_prefix = {});

struct TraceOptions {
    std::optional<IpAddr> lb_dst;     ///< IPVS: the destination to follow instead of forking
    size_t max_paths = 32;
    size_t max_hops = 256;
};

/// Walks the packet. Error(Input) for a start that names no known namespace or interface, an
/// IPv6 packet (not traced yet), a port given to icmp.
TraceResult trace_packet(TraceWorld& w, const TraceStart& start, const TracePacket& pkt,
                         const TraceOptions& opt = {});

}  // namespace ovnet
