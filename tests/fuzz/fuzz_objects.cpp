// Each object's from_json (the one input reader of its schema) and validate(): the first byte
// picks the object, the rest is its JSON text.
#include "fuzz.hpp"
#include "ovnet/bridge.hpp"
#include "ovnet/ipvs.hpp"
#include "ovnet/sbox.hpp"
#include "ovnet/vtep.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    uint8_t which = data[0] % 4;
    auto s = ovnet_fuzz::text(data + 1, size - 1);
    ovnet_fuzz::guarded([&] {
        std::vector<ovnet::json> docs;
        ovnet::for_each_json_span(s, "fuzz", [&](std::string_view v, size_t) {
            docs.push_back(ovnet::json::parse(v));
        });
        for (auto& j : docs) {
            switch (which) {
            case 0: ovnet::BridgeSpec::from_json(j).validate(); break;
            case 1: ovnet::VtepSpec::from_json(j).validate(); break;
            case 2: ovnet::ConnectSpec::from_json(j).validate(); break;
            default: {
                auto svc = ovnet::IpvsService::from_json(j);
                svc.validate();
                // What from_json accepted, to_json writes and from_json reads back the same.
                auto again = ovnet::IpvsService::from_json(svc.to_json());
                if (again.to_json() != svc.to_json()) ovnet_fuzz::fail("ipvs service does not round-trip", svc.key());
            }
            }
        }
    });
    return 0;
}
