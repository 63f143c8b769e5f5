// trace_packet over a snapshot read from any text (ovnet-trace --snapshot): either Error (bad
// input) or a result whose every path ends, within the path and hop limits; never a crash, a
// hang, or another exception (a JSON type error from a part of the wrong type).
#include "fuzz.hpp"
#include "ovnet/json.hpp"
#include "ovnet/snapshot_diff.hpp"
#include "ovnet/trace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string s(ovnet_fuzz::text(data, size));
    ovnet_fuzz::guarded([&] {
        std::vector<ovnet::json> docs;
        ovnet::for_each_json_span(std::string_view(s), "fuzz", [&](std::string_view v, size_t) { docs.push_back(ovnet::json::parse(v)); });
        if (docs.empty()) return;
        for (auto& d : docs) ovnet::check_snapshot(d, "fuzz");
        std::string first = docs[0]["netns"].empty() ? std::string("x") : docs[0]["netns"].begin().key();
        ovnet::SnapshotWorld w(docs);
        for (const char* proto : {"tcp", "icmp"}) {
            ovnet::TraceStart st;
            st.netns = first;
            if (size && (data[size - 1] & 1)) st.kind = "client";
            auto p = ovnet::TracePacket::parse(proto, std::string(proto) == "tcp" ? "10.0.0.3:6379" : "192.0.2.11");
            ovnet::TraceOptions o;
            auto r = ovnet::trace_packet(w, st, p, o);
            if (r.paths.size() > 4 * o.max_paths) ovnet_fuzz::fail("too many paths");
            for (auto& path : r.paths)
                if (path.hops.size() > o.max_hops + 16) ovnet_fuzz::fail("a path longer than the hop limit");
            (void)r.to_json().dump();
            (void)r.minimal();
            (void)r.dot();
        }
    });
    return 0;
}
