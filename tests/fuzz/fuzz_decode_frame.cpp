// decode_frame (ovnet-capture): any bytes off the wire decode without a crash, into a JSON
// document that prints; the frame's length is always there.
#include "fuzz.hpp"
#include "ovnet/capture.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ovnet::DecodeOptions opt;
    if (size && (data[0] & 1)) opt.vxlan_port = 8472;
    ovnet_fuzz::guarded([&] {
        ovnet::json j = ovnet::decode_frame(data, size, size + 4, opt);
        if (!j.contains("len")) ovnet_fuzz::fail("decoded frame without len");
        (void)j.dump();
    });
    return 0;
}
