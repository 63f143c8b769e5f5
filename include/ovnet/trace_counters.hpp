// ovnet/trace_counters.hpp - the counters a packet moves on its way (ovnet-trace --probe): rule
// packet counters (iptables-save -c, both backends), link rx/tx packets (IFLA_STATS64) and xfrm SA
// packets (curlft). Each namespace is read whole, once per kind (one save run per backend, one
// RTM_GETLINK dump, one XFRM_MSG_GETSA dump), before the probe and after it; counters_moved()
// compares the two reads. Other traffic in that window moves counters too: nothing is filtered.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ovnet/iptables.hpp"
#include "ovnet/schema.hpp"

namespace ovnet {

/// A namespace's counters at one instant, each list in the order the kernel (or iptables-save)
/// gave it.
struct CounterSnapshot {
    struct LinkCount {
        std::string name;
        uint64_t rx = 0, tx = 0;   ///< packets
    };
    std::string netns;                                        ///< label
    std::vector<std::pair<std::string, uint64_t>> rules;      ///< "TABLE CHAIN -A CHAIN SPEC" -> packets
    std::vector<LinkCount> links;
    std::vector<std::pair<std::string, uint64_t>> sas;        ///< "esp 0x%08x SRC -> DST" -> packets
};

/// A counter that moved between two reads of a namespace.
struct CounterMove {
    std::string netns;
    std::string kind;                 ///< "rule", "link", "sa"
    std::string object;               ///< the rule as iptables-save prints it, the ifname, the SA
    uint64_t packets = 0;             ///< > 0; a link: rx + tx
    uint64_t rx = 0, tx = 0;          ///< link only (written only for a link)
    template <class W> void fields(W& w) const {
        using schema::ReadOnly;
        w("netns", netns, ReadOnly);
        w("kind", kind, ReadOnly);
        w("object", object, ReadOnly);
        w("packets", packets, ReadOnly);
        w.opt("rx", kind == "link", rx, ReadOnly);
        w.opt("tx", kind == "link", tx, ReadOnly);
    }
};

/// What to read in a namespace. Rules cost a process per backend: the caller asks for them only
/// where the namespace has rules (likewise SAs).
struct CounterRead {
    bool rules = true, links = true, sas = true;
};

/// The rule counters of `iptables-save -c` outputs (ipt_save_all's, both backends merged as
/// ovnet-inspect merges them; the first backend printing a rule gives its counters), in the
/// merged order: ("TABLE CHAIN -A CHAIN SPEC", packets). Pure; Error(Runtime) on unreadable text.
std::vector<std::pair<std::string, uint64_t>> counter_rules(const std::vector<IptSaveText>& outputs);

/// Reads the counters of namespace `label` (file or name `netns`, as netns_open takes it).
/// Error(Runtime) when a read fails; a kernel without xfrm_user has no SA to read (none).
CounterSnapshot counters_read(const std::string& label, const std::string& netns, const CounterRead& what = {});

/// The counters that grew from `before` to `after` (matched by netns label; an object missing
/// before counts from 0; one that went down, e.g. a device recreated, is left out), in `after`'s
/// namespace order, then rules, links, SAs, each in its read order. An object named twice in a
/// read (a rule printed twice) counts once, its first. Pure.
std::vector<CounterMove> counters_moved(const std::vector<CounterSnapshot>& before, const std::vector<CounterSnapshot>& after);

/// "rule nat PREROUTING -A ... +1; link eth0 tx+1 rx+1; sa esp 0x... +1": the moves of one
/// namespace in one line, in their order ("" for none). Pure.
std::string counters_line(const std::vector<CounterMove>& moves);

}  // namespace ovnet
