// The `ipvsadm -S` reader: what it accepts, the writer writes back and the reader reads the same.
#include <sstream>

#include "fuzz.hpp"
#include "ovnet/ipvs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string s(ovnet_fuzz::text(data, size));
    ovnet_fuzz::guarded([&] {
        std::istringstream in(s);
        auto svcs = ovnet::ipvs_parse_ipvsadm(in);
        std::string text = ovnet::ipvs_format_ipvsadm(svcs);
        std::istringstream again(text);
        auto back = ovnet::ipvs_parse_ipvsadm(again);
        if (ovnet::ipvs_format_ipvsadm(back) != text) ovnet_fuzz::fail("ipvsadm -S text does not round-trip", text.substr(0, 200));
    });
    return 0;
}
