// peergen: print the deterministic benchmark peer set (see peergen.hpp).
//
//   peergen --format json N
//       JSON array of {"ip":"10.0.0.2","mac":"02:42:0a:00:00:02","vtep":"192.0.2.1"}
//       (ovnet's peer schema, input of `ovnet-fdb apply`)
//   peergen --format bridge-batch DEV N
//       fdb replace MAC dev DEV dst VTEP self permanent      (for `bridge -batch`)
//   peergen --format ip-batch DEV N
//       neigh replace IP lladdr MAC dev DEV nud permanent    (for `ip -batch`)
//
// N may also be given as --count N.
#include "peergen.hpp"

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace {

void usage(std::FILE* to) {
    std::fputs(
        "usage: peergen --format json N\n"
        "       peergen --format bridge-batch DEV N\n"
        "       peergen --format ip-batch DEV N\n"
        "(N may also be given as --count N; 1 <= N <= 16777214)\n",
        to);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace ovnet_bench;
    std::string_view format;
    std::string dev;
    const char* count_arg = nullptr;

    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help") {
            usage(stdout);
            return 0;
        } else if (a == "--format" || a == "-f") {
            if (++i >= argc) { usage(stderr); return 2; }
            format = argv[i];
            if (format == "bridge-batch" || format == "ip-batch") {
                if (++i >= argc) {
                    std::fprintf(stderr, "peergen: --format %s needs a device name\n", argv[i - 1]);
                    return 2;
                }
                dev = argv[i];
            } else if (format != "json") {
                std::fprintf(stderr, "peergen: unknown format '%s'\n", argv[i]);
                return 2;
            }
        } else if (a == "--count" || a == "-c") {
            if (++i >= argc) { usage(stderr); return 2; }
            count_arg = argv[i];
        } else if (!a.empty() && a[0] != '-' && count_arg == nullptr) {
            count_arg = argv[i];
        } else {
            std::fprintf(stderr, "peergen: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (format.empty() || count_arg == nullptr) {
        usage(stderr);
        return 2;
    }
    const std::uint32_t n = parse_count(count_arg);
    if (n == 0) {
        std::fprintf(stderr, "peergen: bad count '%s'\n", count_arg);
        return 2;
    }
    if (dev.empty() && format != "json") {
        std::fprintf(stderr, "peergen: empty device name\n");
        return 2;
    }

    std::string out;
    out.reserve(static_cast<std::size_t>(n) * 80 + 16);
    if (format == "json") out += "[\n";
    for (std::uint32_t i = 0; i < n; ++i) {
        const Peer p = make_peer(i);
        const std::string ip = ip_str(p.ip), mac = mac_str(p.mac), vtep = ip_str(p.vtep);
        if (format == "json") {
            out += R"({"ip":")";
            out += ip;
            out += R"(","mac":")";
            out += mac;
            out += R"(","vtep":")";
            out += vtep;
            out += i + 1 < n ? "\"},\n" : "\"}\n";
        } else if (format == "bridge-batch") {
            out += "fdb replace ";
            out += mac;
            out += " dev ";
            out += dev;
            out += " dst ";
            out += vtep;
            out += " self permanent\n";
        } else {  // ip-batch
            out += "neigh replace ";
            out += ip;
            out += " lladdr ";
            out += mac;
            out += " dev ";
            out += dev;
            out += " nud permanent\n";
        }
    }
    if (format == "json") out += "]\n";

    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
        std::perror("peergen: write");
        return 1;
    }
    return 0;
}
