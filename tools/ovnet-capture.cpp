// ovnet-capture: the deep dive's tcpdump views as decoded JSON lines (outer IPv4/UDP, VXLAN VNI,
// inner Ethernet and IPv4/TCP/UDP/ICMP, ESP SPI), captured with libpcap inside a namespace.
#include <pcap/pcap.h>
#include <algorithm>
#include <poll.h>
#include <sys/time.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>

#include "common.hpp"
#include "ovnet/capture.hpp"
#include "ovnet/netns.hpp"
#include "pcap_util.hpp"

using namespace ovnet;
using namespace ovnet::tool;

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct DumperCloser { void operator()(pcap_dumper_t* d) const noexcept { pcap_dump_close(d); } };

struct Sink {
    pcap_dumper_t* dump = nullptr;
    DecodeOptions opt;
    uint64_t seen = 0;
    std::string out;
};

void on_packet(u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
    auto* s = reinterpret_cast<Sink*>(user);
    if (s->dump) pcap_dump(reinterpret_cast<u_char*>(s->dump), h, bytes);
    json j = decode_frame(bytes, h->caplen, h->len, s->opt);
    std::tm tm{};
    time_t sec = h->ts.tv_sec;
    gmtime_r(&sec, &tm);
    std::string ts = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:06d}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                 tm.tm_hour, tm.tm_min, tm.tm_sec, long(h->ts.tv_usec % 1000000));
    json line = json::object();
    line["time"] = ts;
    for (auto& [k, v] : j.items()) line[k] = v;
    s->out = line.dump();
    s->out += '\n';
    std::fwrite(s->out.data(), 1, s->out.size(), stdout);
    std::fflush(stdout);
    s->seen++;
}

}  // namespace

int main(int argc, char** argv) {
    App app("ovnet-capture", "Capture packets in a namespace and print them decoded as JSON lines (VXLAN, inner frames, ESP).");
    auto& g = app.g;
    app.cli.require_subcommand(0, 0);
    std::string iface, write_file;
    std::vector<std::string> filter_words;
    bool vxlan = false, esp = false;
    uint16_t port = 0, vxlan_port = 4789;
    uint64_t count = 0;
    double timeout = 0;
    app.cli.add_option("-i,--interface", iface, "The interface to capture on (in the -n namespace)")->required()->type_name("IFACE");
    app.cli.add_flag("--vxlan", vxlan, "Only VXLAN packets (UDP to --vxlan-port)");
    app.cli.add_option("--vxlan-port", vxlan_port, "The VXLAN UDP port (default 4789)")->type_name("PORT");
    app.cli.add_flag("--esp", esp, "Only ESP packets");
    app.cli.add_option("--port", port, "Only packets to or from this TCP/UDP port (2377, 7946...)")->type_name("PORT");
    app.cli.add_option("-c,--count", count, "Stop after this many packets")->type_name("N");
    app.cli.add_option("--timeout", timeout, "Stop after this many seconds")->type_name("SECONDS");
    app.cli.add_option("-w,--write", write_file, "Also write the packets to a pcap file (Wireshark, tcpdump -r)")->type_name("FILE");
    app.cli.add_option("FILTER", filter_words, "A pcap filter expression (tcpdump's syntax), and-ed with the options above");
    app.cli.callback([&] {
        validate_ifname(iface, "capture", "--interface");
        if (timeout < 0) throw Error(ErrorKind::Input, "capture: --timeout \"" + std::to_string(timeout) + "\": must be >= 0");
        std::vector<std::string> parts;
        if (vxlan) parts.push_back("udp dst port " + std::to_string(vxlan_port));
        if (esp) parts.push_back("esp");
        if (port) parts.push_back("port " + std::to_string(port));
        std::string user;
        for (auto& w : filter_words) user += (user.empty() ? "" : " ") + w;
        if (!user.empty()) parts.push_back("(" + user + ")");
        std::string filter;
        for (auto& p : parts) filter += (filter.empty() ? "" : " and ") + p;

        Pcap pc = pcap_open_in(g.netns, iface, filter);
        if (pcap_datalink(pc.get()) != DLT_EN10MB)
            throw Error(ErrorKind::Input, "capture: --interface \"" + iface + "\": not an Ethernet device");
        std::unique_ptr<pcap_dumper_t, DumperCloser> dump;
        if (!write_file.empty()) {
            dump.reset(pcap_dump_open(pc.get(), write_file.c_str()));
            if (!dump) throw Error(ErrorKind::Runtime, "capture: -w " + write_file + ": " + pcap_geterr(pc.get()));
        }
        Sink sink;
        sink.dump = dump.get();
        sink.opt.vxlan_port = vxlan_port;
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        // Scripts wait for this line before they send: the capture is running from here on.
        fmt::print(stderr, "{}: listening on {}{}{}\n", g.name, iface, g.netns.empty() ? "" : " in " + g.netns,
                   filter.empty() ? "" : " (" + filter + ")");
        std::fflush(stderr);
        // In immediate mode libpcap waits in poll() without its read timeout and retries it after a
        // signal: the handle is non-blocking and this loop waits itself, so that --timeout and
        // SIGINT/SIGTERM end the capture even when no packet comes.
        char nberr[PCAP_ERRBUF_SIZE] = {};
        if (pcap_setnonblock(pc.get(), 1, nberr) < 0) throw Error(ErrorKind::Runtime, "capture: " + std::string(nberr));
        pollfd pfd{pcap_get_selectable_fd(pc.get()), POLLIN, 0};
        using clock = std::chrono::steady_clock;
        auto deadline = clock::now() + std::chrono::duration<double>(timeout);
        while (!g_stop && (!count || sink.seen < count)) {
            int wait_ms = 250;
            if (timeout > 0) {
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
                if (left <= 0) break;
                wait_ms = int(std::min<long long>(left, wait_ms));
            }
            if (poll(&pfd, 1, wait_ms) <= 0) continue;   // timeout or EINTR: the loop's conditions decide
            int n = pcap_dispatch(pc.get(), count ? int(count - sink.seen) : -1, on_packet, reinterpret_cast<u_char*>(&sink));
            if (n < 0 && n != PCAP_ERROR_BREAK) throw Error(ErrorKind::Runtime, "capture: " + std::string(pcap_geterr(pc.get())));
        }
        if (dump) pcap_dump_flush(dump.get());
    });
    return app.run(argc, argv);
}
