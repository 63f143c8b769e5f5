// raw_peers: the "raw netlink loop" baseline of bench/peers.
//
//   raw_peers --netns NAME --dev VXLAN_IFNAME --count N [--batch B] [-v]
//
// Enters /run/netns/NAME, opens a NETLINK_ROUTE socket and programs N peers of
// the deterministic set of peergen.hpp exactly like Docker's overlay peerAdd:
//   1. RTM_NEWNEIGH AF_INET    ip -> mac, NUD_PERMANENT, on DEV      (ARP entry)
//   2. RTM_NEWNEIGH AF_BRIDGE  mac -> dst vtep, NTF_SELF, NUD_PERMANENT (VXLAN fdb)
// with NLM_F_REQUEST|NLM_F_CREATE|NLM_F_REPLACE.  B messages (default 1024) are
// packed into one buffer and sent with a single sendmsg; only the last message
// of a batch carries NLM_F_ACK, and the program reads until that ack arrives.
// Any other NLMSG_ERROR with a non-zero error is a failed message: failures are
// counted, printed on stderr, and make the exit status 1.
//
// stdout gets exactly one line, the programming phase's elapsed time (message
// building + sending + waiting for acks; not setns/socket setup):
//   raw: 0.123456
//
// No libnl: plain AF_NETLINK sockets, libc and libstdc++ only.
#include "peergen.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <fcntl.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

namespace {

using namespace ovnet_bench;

constexpr int sock_buf_bytes = 32 * 1024 * 1024;
constexpr std::size_t msg_bytes =
    NLMSG_ALIGN(sizeof(nlmsghdr)) + NLMSG_ALIGN(sizeof(ndmsg)) + RTA_SPACE(4) + RTA_SPACE(6);

void usage(std::FILE* to) {
    std::fputs(
        "usage: raw_peers --netns NAME --dev VXLAN_IFNAME --count N [--batch B] [-v]\n"
        "  --netns NAME   network namespace (/run/netns/NAME, or a path containing '/')\n"
        "  --dev IFNAME   vxlan device inside that namespace\n"
        "  --count N      number of peers (2 messages each)\n"
        "  --batch B      netlink messages per sendmsg (default 512, as ovnet)\n"
        "  -v             print a summary on stderr\n",
        to);
}

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "raw_peers: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

void put_attr(unsigned char*& p, unsigned short type, const void* data, unsigned short len) {
    auto* rta = reinterpret_cast<rtattr*>(p);
    rta->rta_type = type;
    rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
    std::memcpy(RTA_DATA(rta), data, len);
    const std::size_t space = RTA_SPACE(len);
    std::memset(p + RTA_LENGTH(len), 0, space - RTA_LENGTH(len));
    p += space;
}

// Message k (0-based) of the run: peer k/2; even = AF_INET neighbor, odd = fdb.
void put_msg(unsigned char*& p, std::uint32_t k, std::uint32_t seq, bool ack, int ifindex) {
    const Peer peer = make_peer(k / 2);
    const bool fdb = (k % 2) == 1;
    unsigned char* start = p;
    auto* nlh = reinterpret_cast<nlmsghdr*>(p);
    nlh->nlmsg_type = RTM_NEWNEIGH;
    nlh->nlmsg_flags = static_cast<unsigned short>(NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE |
                                                   (ack ? NLM_F_ACK : 0));
    nlh->nlmsg_seq = seq;
    nlh->nlmsg_pid = 0;
    p += NLMSG_ALIGN(sizeof(nlmsghdr));
    auto* ndm = reinterpret_cast<ndmsg*>(p);
    std::memset(ndm, 0, NLMSG_ALIGN(sizeof(ndmsg)));
    ndm->ndm_family = fdb ? AF_BRIDGE : AF_INET;
    ndm->ndm_ifindex = ifindex;
    ndm->ndm_state = NUD_PERMANENT;
    ndm->ndm_flags = fdb ? NTF_SELF : 0;
    p += NLMSG_ALIGN(sizeof(ndmsg));
    if (fdb) {
        put_attr(p, NDA_LLADDR, peer.mac.data(), 6);
        put_attr(p, NDA_DST, peer.vtep.data(), 4);
    } else {
        put_attr(p, NDA_DST, peer.ip.data(), 4);
        put_attr(p, NDA_LLADDR, peer.mac.data(), 6);
    }
    nlh->nlmsg_len = static_cast<std::uint32_t>(p - start);
}

std::string describe(std::uint32_t k) {
    const Peer peer = make_peer(k / 2);
    if (k % 2 == 1)
        return "fdb " + mac_str(peer.mac) + " dst " + ip_str(peer.vtep);
    return "neigh " + ip_str(peer.ip) + " lladdr " + mac_str(peer.mac);
}

// Extended-ack message text, if the kernel attached one.
std::string extack_msg(const nlmsghdr* nlh, const nlmsgerr* err) {
    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return {};
    std::size_t off = NLMSG_ALIGN(sizeof(nlmsghdr)) + sizeof(nlmsgerr);
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) off += err->msg.nlmsg_len - NLMSG_HDRLEN;
    const auto* base = reinterpret_cast<const unsigned char*>(nlh);
    while (off + sizeof(nlattr) <= nlh->nlmsg_len) {
        const auto* a = reinterpret_cast<const nlattr*>(base + off);
        if (a->nla_len < sizeof(nlattr) || off + a->nla_len > nlh->nlmsg_len) break;
        if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
            return std::string(reinterpret_cast<const char*>(a) + NLA_HDRLEN,
                               strnlen(reinterpret_cast<const char*>(a) + NLA_HDRLEN,
                                       a->nla_len - NLA_HDRLEN));
        off += NLA_ALIGN(a->nla_len);
    }
    return {};
}

}  // namespace

int main(int argc, char** argv) {
    const char* netns = nullptr;
    const char* dev = nullptr;
    const char* count_arg = nullptr;
    long batch = 512;   // what ovnet packs per sendmsg (kBatchChunk); also the faster size here
    bool verbose = false;

    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "raw_peers: %s needs a value\n", argv[i]);
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            usage(stdout);
            return 0;
        } else if (a == "--netns" || a == "-n") {
            netns = value();
        } else if (a == "--dev" || a == "-d") {
            dev = value();
        } else if (a == "--count" || a == "-c") {
            count_arg = value();
        } else if (a == "--batch" || a == "-b") {
            const char* v = value();
            char* end = nullptr;
            batch = std::strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || batch < 1 || batch > 1 << 20) {
                std::fprintf(stderr, "raw_peers: bad batch size '%s'\n", v);
                return 2;
            }
        } else if (a == "-v" || a == "--verbose") {
            verbose = true;
        } else {
            std::fprintf(stderr, "raw_peers: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (netns == nullptr || dev == nullptr || count_arg == nullptr) {
        usage(stderr);
        return 2;
    }
    const std::uint32_t n = parse_count(count_arg);
    if (n == 0) {
        std::fprintf(stderr, "raw_peers: bad count '%s'\n", count_arg);
        return 2;
    }

    // --- setup (not timed) ----------------------------------------------------
    std::string ns_path = std::strchr(netns, '/') ? netns : std::string("/run/netns/") + netns;
    int nsfd = open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) die(ns_path.c_str());
    if (setns(nsfd, CLONE_NEWNET) < 0) die("setns");
    close(nsfd);

    const int ifindex = static_cast<int>(if_nametoindex(dev));
    if (ifindex == 0) die(dev);

    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) die("socket(NETLINK_ROUTE)");
    for (auto [force, plain, name] : {std::tuple{SO_SNDBUFFORCE, SO_SNDBUF, "SO_SNDBUF"},
                                      std::tuple{SO_RCVBUFFORCE, SO_RCVBUF, "SO_RCVBUF"}}) {
        if (setsockopt(fd, SOL_SOCKET, force, &sock_buf_bytes, sizeof sock_buf_bytes) < 0 &&
            setsockopt(fd, SOL_SOCKET, plain, &sock_buf_bytes, sizeof sock_buf_bytes) < 0)
            die(name);
    }
    const int one = 1;
    // Errors carry only the failed message's header, plus a text reason if any.
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    const timeval rcv_timeout{10, 0};  // never hang forever on a lost ack
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv_timeout, sizeof rcv_timeout) < 0)
        die("SO_RCVTIMEO");
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) die("bind");

    const std::uint32_t total = 2 * n;  // messages
    const std::uint32_t per_batch = static_cast<std::uint32_t>(batch);
    std::vector<unsigned char> sendbuf(static_cast<std::size_t>(per_batch) * msg_bytes);
    std::vector<unsigned char> recvbuf(1 << 20);
    const std::uint32_t seq0 = static_cast<std::uint32_t>(time(nullptr));
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;

    std::uint64_t failures = 0, overruns = 0;
    constexpr std::uint64_t max_reported = 20;

    // --- programming phase (timed) --------------------------------------------
    const auto t0 = std::chrono::steady_clock::now();
    for (std::uint32_t first = 0; first < total; first += per_batch) {
        const std::uint32_t count = std::min(per_batch, total - first);
        unsigned char* p = sendbuf.data();
        for (std::uint32_t k = first; k < first + count; ++k)
            put_msg(p, k, seq0 + k, k + 1 == first + count, ifindex);
        const std::size_t len = static_cast<std::size_t>(p - sendbuf.data());
        iovec iov{sendbuf.data(), len};
        msghdr mh{};
        mh.msg_name = &kernel;
        mh.msg_namelen = sizeof kernel;
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        ssize_t sent;
        do sent = sendmsg(fd, &mh, 0);
        while (sent < 0 && errno == EINTR);
        if (sent < 0) die("sendmsg");
        if (static_cast<std::size_t>(sent) != len) {
            std::fprintf(stderr, "raw_peers: short sendmsg (%zd of %zu bytes)\n", sent, len);
            return 1;
        }

        const std::uint32_t last_seq = seq0 + first + count - 1;
        bool acked = false;
        while (!acked) {
            ssize_t got = recv(fd, recvbuf.data(), recvbuf.size(), 0);
            if (got < 0) {
                if (errno == EINTR) continue;
                if (errno == ENOBUFS) {  // some error reports were dropped
                    ++overruns;
                    continue;
                }
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    std::fprintf(stderr, "raw_peers: no ack for batch at message %u after 10 s\n",
                                 first);
                    return 1;
                }
                die("recv");
            }
            auto* nlh = reinterpret_cast<nlmsghdr*>(recvbuf.data());
            std::size_t left = static_cast<std::size_t>(got);
            for (; NLMSG_OK(nlh, left); nlh = NLMSG_NEXT(nlh, left)) {
                if (nlh->nlmsg_type != NLMSG_ERROR) continue;
                const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(nlh));
                const std::uint32_t seq = err->msg.nlmsg_seq;
                if (err->error != 0) {
                    ++failures;
                    if (failures <= max_reported) {
                        const std::uint32_t k = seq - seq0;
                        const std::string why = extack_msg(nlh, err);
                        std::fprintf(stderr, "raw_peers: FAILED %s: %s%s%s\n",
                                     k < total ? describe(k).c_str() : "(unknown message)",
                                     std::strerror(-err->error), why.empty() ? "" : ": ",
                                     why.c_str());
                    }
                }
                if (seq == last_seq) acked = true;
            }
        }
    }
    const auto t1 = std::chrono::steady_clock::now();
    close(fd);

    std::printf("raw: %.6f\n", std::chrono::duration<double>(t1 - t0).count());
    std::fflush(stdout);
    if (failures > max_reported)
        std::fprintf(stderr, "raw_peers: ... %llu more failures\n",
                     static_cast<unsigned long long>(failures - max_reported));
    if (overruns)
        std::fprintf(stderr, "raw_peers: receive buffer overran %llu times; error reports lost\n",
                     static_cast<unsigned long long>(overruns));
    if (verbose || failures || overruns)
        std::fprintf(stderr, "raw_peers: %u peers, %u messages, batch %u, %llu failed\n", n, total,
                     per_batch, static_cast<unsigned long long>(failures));
    return failures || overruns ? 1 : 0;
}
