// ovnet-trace --probe (tools/probe.cpp): one real packet beside the computed trace.
#pragma once
#include "ovnet/json.hpp"
#include "ovnet/trace.hpp"

namespace ovnet::tool {

/// Sends one real packet as `r` describes it (a TCP SYN, a UDP datagram of the packet's size, an
/// ICMP echo) from its sandbox, while capturing on every device the computed first path leaves
/// through, and waits up to 2 s for the answer. Returns {"answer": "connected"|"refused"|
/// "answered"|"sent"|"timeout"|"unreachable"|"too big", "outcome": "delivered"|"refused"|"dropped",
/// "seen": [{netns, iface, filter, packets}], "last_seen", "conntrack": [{netns, orig, reply, nat,
/// computed, agrees}] (the entries the packet created, read through ctnetlink), "ipvs": [{netns,
/// client, virtual, real, state, computed, agrees}] (the IPVS connection it created where the first
/// path has an IPVS hop, from /proc/net/ip_vs_conn there), "agrees", "differs"}. Live and sandbox
/// starts only (Error(Input) otherwise). Sockets and captures are closed on return or throw.
json probe(const TraceResult& r, TraceWorld& world);

}  // namespace ovnet::tool
