// ovnet/audit.hpp - cross-node consistency checks over ovnet-inspect snapshots (ovnet-audit).
//
// Pure: the snapshots of several nodes are read into a lean typed form (AuditSnapshot: only what
// the checks use), audited, and the findings carry the ovnet commands that converge each node
// (audit itself never writes). The report:
//
//   {"schema": "ovnet-audit/1", "nodes": [HOST...], "networks": [{"key","id","vni","nodes"}...],
//    "findings": [{"code","severity","network","nodes","objects","message","evidence","fix"}...],
//    "summary": {"error": n, "warning": n, "info": n}}
//
// schema/audit-report.schema.json describes it and enumerates the codes (audit_codes()).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ovnet/json.hpp"
#include "ovnet/types.hpp"

namespace ovnet {

inline constexpr const char* kAuditSchema = "ovnet-audit/1";

/// A row of a VTEP's peers as the snapshot holds it (`ovnet-fdb show -j`).
struct AuditPeer {
    std::string status;               ///< peer, fdb-only, neigh-only, learned, local
    IpAddr ip, vtep;                  ///< unset when null
    Mac mac;
    std::string fdb_state, neigh_state;
    bool master = false;              ///< the bridge's entry for the port (flags has "master")
    json to_json() const;             ///< {status, ip, mac, vtep, fdb_state, neigh_state}
};

/// What the audit reads of one namespace of a snapshot.
struct AuditNetns {
    std::string label;
    std::map<std::string, uint32_t> link_mtu;                  ///< link name -> MTU
    std::vector<std::pair<std::string, Prefix>> addresses;     ///< (ifname, address)
    std::map<std::string, json> vteps, bridges;                ///< name -> the object as held
    std::map<std::string, std::vector<AuditPeer>> peers;       ///< VTEP name -> rows
    std::optional<json> ipvs;          ///< the services (array); nullopt: not read (no IPVS)
    std::optional<json> rules;         ///< netfilter rules (array); nullopt: not read
    std::optional<json> xfrm;          ///< {"states","policies"}; nullopt: not read
    json sysctls = json::object();     ///< name -> value (string or null)
    json lb_services = json::array(), published = json::array();
};

/// A local endpoint of an overlay (Network.endpoints).
struct AuditEndpoint {
    std::string sandbox, ifname, host_ifname;
    std::optional<std::string> container;
    Mac mac;                           ///< zero: unknown
    std::vector<Prefix> addresses;
    uint32_t mtu = 0;                  ///< the sandbox end's MTU (from the sandbox's links), 0 unknown
    json raw;                          ///< the object as held
    std::optional<IpAddr> ipv4() const;   ///< the first IPv4 address
};

/// One overlay of a snapshot's networks view.
struct AuditNetwork {
    std::optional<std::string> id;
    std::string netns, bridge, vtep;
    uint32_t vni = 0, mtu = 0;
    uint16_t port = 0;
    IpAddr local;
    std::optional<bool> encrypted;
    std::vector<Prefix> subnets;
    std::vector<AuditEndpoint> endpoints;
    json services = json::array(), published = json::array();
    /// Docker's id, else the bridge's name, else "vni N": how networks are matched across nodes.
    std::string key() const;
};

/// One node's snapshot, as the audit reads it.
struct AuditSnapshot {
    std::string host;
    std::string what;                  ///< "snapshot N (FILE)", for messages
    std::map<std::string, AuditNetns> netns;
    std::vector<AuditNetwork> networks;
};

/// Reads streams of ovnet-inspect/1 snapshots (concatenated JSON values), file by file, into
/// AuditSnapshots: JSON through json_sax_fast (nlohmann's parser on what it gives up on), only
/// the parts the audit uses kept. Every value must be an object with "schema": "ovnet-inspect/1",
/// a "host", a "netns" object and a "networks" array. Errors are Error(Input), one line, naming
/// the snapshot ("snapshot 2 (FILE): schema \"x\": expected ovnet-inspect/1").
class AuditReader {
public:
    /// Reads every snapshot of `text` (the content of FILE; `file` is its name, "stdin" for -).
    void read(std::string_view text, const std::string& file);
    /// The snapshots in input order. Error(Input) when there is none (vanished input must never
    /// read as a clean cluster) or when a host appears twice.
    std::vector<AuditSnapshot> finish();

private:
    std::vector<AuditSnapshot> snaps_;
    std::vector<std::string> files_;   ///< what was read, for the "no snapshot" message
};

enum class Severity : uint8_t { Error, Warning, Info };
const char* severity_name(Severity s);   ///< "error", "warning", "info"

/// One command of a fix, run on `node`; `input` (null: none) is its stdin.
struct AuditFix {
    std::string node, command;
    json input;
};

/// One inconsistency.
struct AuditFinding {
    std::string code;                  ///< one of audit_codes()
    Severity severity = Severity::Error;
    std::optional<std::string> network;   ///< the network's key
    std::vector<std::string> nodes;
    std::vector<std::string> objects;  ///< "HOST:DEV peer MAC", "HOST:BRIDGE endpoint SANDBOX", ...
    std::string message;               ///< one line
    json evidence = json::object();    ///< host -> [objects as the snapshots hold them]
    std::optional<std::vector<AuditFix>> fix;   ///< nullopt: no ovnet command fixes it (message says why)
    json to_json() const;
};

/// A network as matched across nodes.
struct AuditNetworkRef {
    std::string key;
    std::optional<std::string> id;
    uint32_t vni = 0;                  ///< the most common VNI
    std::vector<std::string> nodes;
};

struct AuditReport {
    std::vector<std::string> nodes;
    std::vector<AuditNetworkRef> networks;
    std::vector<AuditFinding> findings;
    size_t count(Severity s) const;
    json to_json() const;
};

/// The stable finding codes, in the order the report schema lists them.
const std::vector<std::string>& audit_codes();

/// Audits the snapshots (hosts distinct, as AuditReader::finish gives them). Pure.
AuditReport audit(const std::vector<AuditSnapshot>& snaps);

/// The fixes as a shell script: per node "# node HOST" then its commands (each once, in finding
/// order), JSON input in quoted heredocs; only `node`'s part when not empty. Pure.
std::string audit_fix_script(const AuditReport& r, const std::string& node = "");

}  // namespace ovnet
