// ovnet-trace --probe: one real packet, sent from the trace's sandbox while libpcap watches every
// device the computed path crosses; what came back and where the packet was seen, beside the
// computed outcome. Everything it opens (sockets, captures) is closed when it returns or throws.
#include "probe.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>

#include "ovnet/fd.hpp"
#include "pcap_util.hpp"

namespace ovnet::tool {

namespace {

struct Watch {
    std::string netns, iface, filter;
    size_t hop = 0;
    Pcap pc;
    uint64_t packets = 0;
};

std::string filter_for(const TracePacket& p) {
    if (p.vni) return "udp dst port " + std::to_string(p.dport) + " and dst host " + p.dst.str() +
                      (p.src.valid() ? " and src host " + p.src.str() : std::string());
    std::string f = p.proto + " and dst host " + p.dst.str() + (p.src.valid() ? " and src host " + p.src.str() : std::string());
    if (p.proto != "icmp") f += " and dst port " + std::to_string(p.dport);
    else f += " and icmp[icmptype] == icmp-echo";
    return f;
}

std::string ns_arg(const std::string& label) { return label == "root" ? std::string("/proc/1/ns/net") : label; }

uint16_t csum(const uint8_t* d, size_t n) {
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2) s += uint32_t(d[i] << 8 | d[i + 1]);
    if (n & 1) s += uint32_t(d[n - 1] << 8);
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return uint16_t(~s);
}

void on_pkt(u_char* user, const pcap_pkthdr*, const u_char*) { ++*reinterpret_cast<uint64_t*>(user); }

}  // namespace

json probe(const TraceResult& r) {
    if (r.mode != "live") throw Error(ErrorKind::Input, "--probe: sends a real packet: not with --snapshot");
    if (r.start.kind != "sandbox") throw Error(ErrorKind::Input, "--probe: only from a sandbox (--from SANDBOX, no --iif, not client)");
    const TracePacket& pk = r.packet;
    const TracePath& path = r.paths.front();
    // the devices the first path leaves through, in order
    std::vector<Watch> ws;
    std::set<std::pair<std::string, std::string>> keys;
    for (size_t i = 0; i < path.hops.size(); i++) {
        auto& h = path.hops[i];
        std::string dev;
        if (h.stage == "veth") dev = h.object;
        else if (h.stage == "bridge" && h.effect.rfind("out ", 0) == 0) dev = h.effect.substr(4);
        if (dev.empty() || !keys.insert({h.netns, dev}).second) continue;
        Watch w;
        w.netns = h.netns, w.iface = dev, w.hop = i, w.filter = filter_for(h.packet);
        w.pc = pcap_open_in(ns_arg(h.netns), dev, w.filter);
        pcap_setnonblock(w.pc.get(), 1, nullptr);
        ws.push_back(std::move(w));
    }
    // the probe's socket, made in the sandbox
    Fd sock;
    int payload = int(pk.size) - (pk.proto == "tcp" ? 40 : 28);
    if (payload < 0) payload = 0;
    {
        NetnsFile nsf = netns_open(ns_arg(r.start.netns));
        NetnsGuard g(nsf);
        int type = pk.proto == "tcp" ? SOCK_STREAM : pk.proto == "udp" ? SOCK_DGRAM : SOCK_RAW;
        sock = Fd(::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, pk.proto == "icmp" ? IPPROTO_ICMP : 0));
        if (!sock) throw Error(ErrorKind::Runtime, std::string("--probe: socket: ") + std::strerror(errno));
    }
    if (pk.mark) ::setsockopt(sock.get(), SOL_SOCKET, SO_MARK, &pk.mark, sizeof pk.mark);
    int pmtu = pk.df ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT;
    ::setsockopt(sock.get(), IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    std::memcpy(&to.sin_addr, pk.dst.b.data(), 4);
    to.sin_port = htons(pk.dport);
    std::string answer;
    auto fail_answer = [&](int e) {
        answer = e == ECONNREFUSED ? "refused" : e == EMSGSIZE ? "too big" : e == ENETUNREACH || e == EHOSTUNREACH ? "unreachable"
                                                                                                                     : std::strerror(e);
    };
    uint16_t echo_id = uint16_t(::getpid());
    if (pk.proto == "tcp") {
        if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) < 0 && errno != EINPROGRESS) fail_answer(errno);
    } else if (pk.proto == "udp") {
        std::string data(size_t(payload), 'p');
        if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) < 0 || ::send(sock.get(), data.data(), data.size(), 0) < 0)
            fail_answer(errno);
    } else {
        std::vector<uint8_t> m(8 + size_t(payload), 0x70);
        m[0] = ICMP_ECHO, m[1] = 0, m[2] = m[3] = 0;
        m[4] = uint8_t(echo_id >> 8), m[5] = uint8_t(echo_id), m[6] = 0, m[7] = 1;
        uint16_t c = csum(m.data(), m.size());
        m[2] = uint8_t(c >> 8), m[3] = uint8_t(c);
        if (::sendto(sock.get(), m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) fail_answer(errno);
    }
    // wait for the answer (2 s), then 200 ms more for the captures
    auto t0 = std::chrono::steady_clock::now();
    auto deadline = t0 + std::chrono::seconds(2);
    bool answered = !answer.empty();
    if (answered) deadline = t0 + std::chrono::milliseconds(200);
    for (;;) {
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline) break;
        std::vector<pollfd> fds;
        fds.push_back({sock.get(), short(answered ? 0 : pk.proto == "tcp" ? POLLOUT : POLLIN), 0});
        for (auto& w : ws) fds.push_back({pcap_get_selectable_fd(w.pc.get()), POLLIN, 0});
        int ms = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
        ::poll(fds.data(), fds.size(), std::min(ms, 50));
        for (auto& w : ws) pcap_dispatch(w.pc.get(), -1, on_pkt, reinterpret_cast<u_char*>(&w.packets));
        if (answered) continue;
        if (fds[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
            int e = 0;
            socklen_t l = sizeof e;
            ::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &e, &l);
            if (e) fail_answer(e);
            else if (pk.proto == "tcp") answer = "connected";
        }
        if (!answered && answer.empty() && (fds[0].revents & POLLIN)) {
            uint8_t buf[2048];
            ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
            if (n < 0) fail_answer(errno);
            else if (pk.proto == "udp") answer = "answered";
            else if (n >= 28 && size_t(n) >= size_t(buf[0] & 0x0f) * 4 + 8) {
                const uint8_t* ic = buf + (buf[0] & 0x0f) * 4;
                if (ic[0] == ICMP_ECHOREPLY && (uint16_t(ic[4] << 8 | ic[5]) == echo_id)) answer = "answered";
            }
        }
        if (!answer.empty()) {
            answered = true;
            deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
        }
    }
    if (answer.empty()) answer = pk.proto == "udp" ? "sent" : "timeout";

    json seen = json::array();
    const Watch* last = nullptr;
    for (auto& w : ws) {
        seen.push_back({{"netns", w.netns}, {"iface", w.iface}, {"filter", w.filter}, {"packets", w.packets}});
        if (w.packets) last = &w;
    }
    bool reached_end = !ws.empty() && ws.back().packets > 0;
    std::string got = answer == "connected" || answer == "answered" ? "delivered"
                      : answer == "refused"                           ? "refused"
                      : answer == "sent" && reached_end               ? "delivered"
                                                                      : "dropped";
    bool agrees = false;
    for (auto& p : r.paths) {
        if (p.outcome == "delivered" || p.outcome == "left") agrees |= got == "delivered";
        else if (p.code == "NO_LISTENER") agrees |= got == "refused";
        else agrees |= got == "dropped";
    }
    json j = json::object();
    j["answer"] = answer;
    j["outcome"] = got;
    j["seen"] = std::move(seen);
    j["last_seen"] = last ? json(last->netns + " " + last->iface) : json();
    j["agrees"] = agrees;
    j["differs"] = agrees ? json() : json("computed " + path.outcome + (path.code.empty() ? "" : " " + path.code) + ", the probe " + got +
                                          " (" + answer + (last ? ", last seen leaving " + last->netns + " " + last->iface : ", seen nowhere") + ")");
    return j;
}

}  // namespace ovnet::tool
