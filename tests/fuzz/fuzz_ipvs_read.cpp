// ipvs_read (the SAX reader of `ovnet-ipvs apply`) against IpvsService::from_json over the DOM.
#include <sstream>

#include "fuzz.hpp"
#include "ovnet/ipvs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string s(ovnet_fuzz::text(data, size));
    std::vector<ovnet::IpvsService> a;
    bool a_ok = false;
    ovnet_fuzz::guarded([&] {
        std::istringstream in(s);
        a = ovnet::ipvs_read(in);
        a_ok = true;
    });
    if (!a_ok) return 0;
    // Every service it accepted is valid and round-trips through the schema.
    for (auto& svc : a) {
        ovnet_fuzz::guarded([&] {
            svc.validate();
            auto again = ovnet::IpvsService::from_json(svc.to_json());
            if (again.to_json() != svc.to_json()) ovnet_fuzz::fail("ipvs service does not round-trip", svc.key());
        });
    }
    return 0;
}
