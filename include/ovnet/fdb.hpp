// ovnet/fdb.hpp - the peer table of an overlay: permanent neighbor + fdb entries on a VTEP.
#pragma once
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include "ovnet/json.hpp"
#include "ovnet/types.hpp"

namespace ovnet {
class Handle;

/// One row of the joined fdb/neighbor view of a VTEP.
struct PeerEntry {
    /// "peer" (permanent neighbor + permanent fdb with dst), "fdb-only", "neigh-only",
    /// "learned" (dynamic fdb entry) or "local" (the device's own or a bridge entry without dst).
    std::string status;
    IpAddr ip;                     ///< unset for fdb-only/learned/local
    Mac mac;
    IpAddr vtep;                   ///< the fdb entry's dst, unset when none
    std::string fdb_state;         ///< "" when there is no fdb entry
    std::string neigh_state;       ///< "" when there is no neighbor entry
    std::vector<std::string> flags;
    json to_json() const;
    /// Appends to_json().dump()'s text (compact JSON) without building a DOM.
    void write_json(std::string& out) const;
};
/// Appends the entries as a compact JSON array: the bytes of a json array of their to_json()
/// dumped, what `ovnet-fdb show -j` prints for 100,000 peers without a DOM.
void write_json(std::string& out, const std::vector<PeerEntry>& entries);

/// A desired entry. ip+mac+vtep is a peer, mac+vtep an fdb-only entry, ip+mac a neighbor only.
struct PeerSpec {
    std::optional<IpAddr> ip;
    Mac mac;
    std::optional<IpAddr> vtep;
    std::string label() const;     ///< "peer 10.0.0.3 02:42:0a:00:00:03"
};

/// Parses a desired set: ovnet peer objects (`ovnet-fdb show -j` output, learned/local rows are
/// skipped), iproute2 `bridge -j fdb show` objects (mac, ifname, dst, state, flags; entries without
/// dst or not permanent are skipped), or `ovnet-fdb local -j` output. Entries lacking a vtep get
/// `default_vtep`. Duplicate MACs or IPs, bad fields and mixed families raise Error(Input).
std::vector<PeerSpec> peers_from_json(const std::vector<json>& docs,
                                      const std::optional<IpAddr>& default_vtep);

/// The same rules, parsing a stream (one or more JSON documents) without building a DOM: what
/// `ovnet-fdb apply` uses for sets of 100,000 peers.
std::vector<PeerSpec> peers_read(std::istream& in, const std::optional<IpAddr>& default_vtep,
                                 const std::string& what = "stdin");

/// The joined view of a VTEP's fdb and neighbor tables.
std::vector<PeerEntry> fdb_show(Handle& h, const std::string& dev);
/// Programs one peer exactly as Docker's peerAdd does. Idempotent.
Changes fdb_add(Handle& h, const std::string& dev, const PeerSpec& p);
/// Removes a peer's entries (by mac, and ip if given). Idempotent.
Changes fdb_del(Handle& h, const std::string& dev, const PeerSpec& p);

struct ApplyStats {
    size_t added = 0, replaced = 0, removed = 0, unchanged = 0, writes = 0;
};
/// One entry fdb_apply_set() changed.
struct PeerChange {
    enum Action : uint8_t { Added, Replaced, Removed } action;
    std::optional<IpAddr> ip;      ///< unset for a removed fdb entry
    Mac mac;
    std::optional<IpAddr> vtep;    ///< unset for a removed neighbor
    std::string label() const;
};
/// What fdb_apply_set() compares a set with: the device and its fdb and neighbor tables, read
/// ahead (`ovnet-fdb apply` reads it on a second thread while it parses the set). Failures are
/// kept, and fdb_apply_set() raises them where it would have met them reading the state itself.
struct FdbSnapshot;
std::shared_ptr<FdbSnapshot> fdb_snapshot(Handle& h, const std::string& dev);

/// fdb_apply() without building a Change per entry: what bulk callers use. With `snap` (from
/// fdb_snapshot() on the same handle and device) the state is taken from it instead of read; the
/// call consumes it.
std::vector<PeerChange> fdb_apply_set(Handle& h, const std::string& dev, const std::vector<PeerSpec>& desired,
                                      bool prune, ApplyStats* stats = nullptr, FdbSnapshot* snap = nullptr);

/// Whether a batched fdb/neighbor request's error means its goal was already reached, which a
/// bulk apply counts as success: ENOENT on a delete (the entry is gone), EEXIST on an add (the
/// entry is there). Another writer (iproute2, not under ovnet's NetnsLock) can race an apply.
bool benign_batch_error(bool del, int err);

/// The VTEP to work on: `dev` when given, else the namespace's only vxlan device (Error(Input)
/// when there is none or several).
std::string fdb_pick_dev(Handle& h, const std::string& dev);

/// `ovnet-fdb apply` in one call: reads the set from `in` (peers_read) while a second thread opens
/// the namespace, picks the device (fdb_pick_dev) and reads its tables (fdb_snapshot), then applies
/// (fdb_apply_set). Errors come in the order a sequential run meets them: the set's first, then
/// the namespace's, the device's and the state's. The device used goes to *dev_out.
/// `check`, when given, sees the set read and the device before anything is written and may
/// throw (ovnet-fdb refuses an empty set with --prune there).
using FdbSetCheck = std::function<void(const std::vector<PeerSpec>& set, const std::string& dev)>;
std::vector<PeerChange> fdb_apply_read(const std::string& netns, const std::string& dev, std::istream& in,
                                       const std::optional<IpAddr>& default_vtep, bool prune,
                                       ApplyStats* stats = nullptr, std::string* dev_out = nullptr,
                                       const FdbSetCheck& check = {});

/// Converges the VTEP to the desired set in one batched exchange: adds or replaces what differs,
/// leaves equal entries untouched (no write at all when nothing differs), and with `prune`
/// removes permanent peers missing from the set. Changes lists what changed (not the unchanged).
Changes fdb_apply(Handle& h, const std::string& dev, const std::vector<PeerSpec>& desired,
                  bool prune, ApplyStats* stats = nullptr);

/// The local endpoints behind a VTEP, as peers other hosts should program: for every veth port
/// of the VTEP's bridge, the sandbox end's IPv4 address(es) and MAC, with vtep = the VTEP's local
/// address (or the first IPv4 address of its underlay device, or `vtep` when given). Status is
/// "endpoint"; peers_from_json takes these as peers.
std::vector<PeerEntry> fdb_local(Handle& h, const std::string& dev, const std::optional<IpAddr>& vtep = {});

}  // namespace ovnet
