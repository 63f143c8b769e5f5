#include "ovnet/netlink.hpp"

#include <linux/capability.h>
#include <linux/netlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "ovnet/error.hpp"
#include "ovnet/netns.hpp"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

namespace ovnet {

void NlSockDeleter::operator()(nl_sock* s) const noexcept { nl_socket_free(s); }
void NlMsgDeleter::operator()(nl_msg* m) const noexcept { nlmsg_free(m); }

NlMsg nl_new(int type, int flags, size_t hdrlen, void** hdr, size_t size) {
    NlMsg m(size ? nlmsg_alloc_size(size) : nlmsg_alloc());
    if (!m || !nlmsg_put(m.get(), 0, 0, type, 0, flags | NLM_F_REQUEST)) throw_sys(ENOMEM, "allocate netlink message");
    void* p = nlmsg_reserve(m.get(), hdrlen, NLMSG_ALIGNTO);
    if (!p) throw_sys(ENOMEM, "allocate netlink message");
    std::memset(p, 0, hdrlen);
    if (hdr) *hdr = p;
    return m;
}

void* nl_reuse(nl_msg* m, int type, int flags, size_t hdrlen) {
    nlmsg_hdr(m)->nlmsg_len = NLMSG_HDRLEN;
    if (!nlmsg_put(m, 0, 0, type, 0, flags | NLM_F_REQUEST)) throw_sys(ENOMEM, "allocate netlink message");
    void* p = nlmsg_reserve(m, hdrlen, NLMSG_ALIGNTO);
    if (!p) throw_sys(ENOMEM, "allocate netlink message");
    std::memset(p, 0, hdrlen);
    return p;
}

namespace {

constexpr size_t kRecvBuf = 1 << 20;
constexpr size_t kSendBytes = 1 << 16;

// Returns the errno of an NLMSG_ERROR (0 for an ack) and its extended-ack text.
int parse_error(const nlmsghdr* h, std::string* extack) {
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return EBADMSG;
    auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
    if (extack && (h->nlmsg_flags & NLM_F_ACK_TLVS)) {
        size_t off = NLMSG_LENGTH(sizeof(nlmsgerr));
        if (!(h->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - NLMSG_HDRLEN;
        const char* base = reinterpret_cast<const char*>(h);
        while (off + NLA_HDRLEN <= h->nlmsg_len) {
            auto* a = reinterpret_cast<const nlattr*>(base + off);
            if (a->nla_len < NLA_HDRLEN || off + a->nla_len > h->nlmsg_len) break;
            if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG && a->nla_len > NLA_HDRLEN) {
                const char* s = base + off + NLA_HDRLEN;
                *extack = std::string(s, strnlen(s, a->nla_len - NLA_HDRLEN));
                while (!extack->empty() && extack->back() == '\n') extack->pop_back();
            }
            off += NLA_ALIGN(a->nla_len);
        }
    }
    return -e->error;
}

}  // namespace

// Opened once: the descriptor checked to be a network namespace is the one entered.
Handle::Handle(const std::string& netns, int protocol) : Handle(netns_open(netns), protocol) { name_ = netns; }

Handle::Handle(const NetnsFile& ns, int protocol) : name_(ns.name()), path_(ns.path()) {
    NetnsGuard guard(ns);
    sk_.reset(nl_socket_alloc());
    if (!sk_) throw_sys(ENOMEM, "allocate netlink socket");
    nl_socket_disable_seq_check(sk_.get());
    nl_socket_disable_auto_ack(sk_.get());
    int err = nl_connect(sk_.get(), protocol);
    if (err < 0) throw_sys(EPROTONOSUPPORT, std::string("connect netlink: ") + nl_geterror(err));
    int fd = nl_socket_get_fd(sk_.get());
    int one = 1;
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    // Bulk dumps and error bursts must not overflow the receive queue (root may force it).
    int rcv = 32 << 20, snd = 4 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof snd) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
    // Not zeroed (a vector's resize would write all 1 MiB, 256 page faults per process start):
    // pages are touched only as far as the kernel fills them.
    rbuf_.reset(new char[kRecvBuf]);
}

Handle::~Handle() = default;
Handle::Handle(Handle&&) noexcept = default;
Handle& Handle::operator=(Handle&&) noexcept = default;

uint32_t Handle::next_seq() { return ++seq_; }

void Handle::send_raw(const void* buf, size_t len) {
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    int fd = nl_socket_get_fd(sk_.get());
    for (;;) {
        ssize_t n = ::sendto(fd, buf, len, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
        if (n >= 0) return;
        if (errno == EINTR) continue;
        throw_sys(errno, "netlink send");
    }
}

namespace {
// Reads one datagram; returns its length.
size_t recv_some(int fd, char* buf) {
    for (;;) {
        ssize_t n = ::recv(fd, buf, kRecvBuf, 0);
        if (n >= 0) return size_t(n);
        if (errno == EINTR) continue;
        if (errno == ENOBUFS) throw_sys(ENOBUFS, "netlink receive queue overflowed");
        throw_sys(errno, "netlink receive");
    }
}
}  // namespace

// Reads until the reply to `seq`: an NLMSG_ERROR (returned as errno, 0 for an ack) or, with a
// callback, the first data message (handed to it, then 0).
int Handle::wait_reply(uint32_t seq, const std::function<void(const nlmsghdr*)>* cb, std::string* extack) {
    int fd = nl_socket_get_fd(sk_.get());
    for (;;) {
        int len = int(recv_some(fd, rbuf_.get()));
        for (auto* r = reinterpret_cast<nlmsghdr*>(rbuf_.get()); NLMSG_OK(r, len); r = NLMSG_NEXT(r, len)) {
            if (r->nlmsg_seq != seq) continue;
            if (r->nlmsg_type == NLMSG_ERROR) return parse_error(r, extack);
            if (cb) {
                (*cb)(r);
                return 0;
            }
        }
    }
}

int Handle::request_errno(NlMsg msg, std::string* extack) {
    nlmsghdr* h = nlmsg_hdr(msg.get());
    h->nlmsg_flags |= NLM_F_ACK;
    h->nlmsg_seq = next_seq();
    send_raw(h, h->nlmsg_len);
    return wait_reply(h->nlmsg_seq, nullptr, extack);
}

void Handle::request(NlMsg msg, const std::string& object) {
    std::string ext;
    int type = nlmsg_hdr(msg.get())->nlmsg_type;
    int err = request_errno(std::move(msg), &ext);
    if (err) {
        const char* what = type == RTM_NEWLINK ? "create/change link" : type == RTM_DELLINK ? "delete link"
                         : type == RTM_NEWADDR ? "add address" : type == RTM_DELADDR ? "delete address"
                         : type == RTM_NEWROUTE ? "add route" : type == RTM_NEWNEIGH ? "add neighbor"
                         : type == RTM_DELNEIGH ? "delete neighbor" : "netlink request";
        // The kernel answers EPERM to a write on a socket opened without CAP_NET_ADMIN.
        if (err == EPERM) {
            std::string m = missing_capability(CAP_NET_ADMIN, (object.empty() ? "" : object + ": ") + what);
            if (!m.empty()) throw Error(ErrorKind::Runtime, m, err, ext, object);
        }
        throw_sys(err, what, ext, object);
    }
}

int Handle::get(NlMsg msg, const std::function<void(const nlmsghdr*)>& cb, std::string* extack) {
    nlmsghdr* h = nlmsg_hdr(msg.get());
    h->nlmsg_seq = next_seq();
    send_raw(h, h->nlmsg_len);
    return wait_reply(h->nlmsg_seq, &cb, extack);
}

void Handle::dump(const NlMsg& msg, const std::function<void(const nlmsghdr*)>& cb,
                  const std::function<void()>& restart) {
    nlmsghdr* h = nlmsg_hdr(msg.get());
    h->nlmsg_flags |= NLM_F_DUMP;
    int fd = nl_socket_get_fd(sk_.get());
    for (int attempt = 0;; attempt++) {
        h->nlmsg_seq = next_seq();
        send_raw(h, h->nlmsg_len);
        bool done = false, intr = false;
        while (!done) {
            size_t n = recv_some(fd, rbuf_.get());
            int len = int(n);
            for (auto* r = reinterpret_cast<nlmsghdr*>(rbuf_.get()); NLMSG_OK(r, len); r = NLMSG_NEXT(r, len)) {
                if (r->nlmsg_seq != h->nlmsg_seq) continue;
                if (r->nlmsg_flags & NLM_F_DUMP_INTR) intr = true;
                if (r->nlmsg_type == NLMSG_DONE) { done = true; break; }
                if (r->nlmsg_type == NLMSG_ERROR) {
                    std::string ext;
                    int err = parse_error(r, &ext);
                    if (err) throw_sys(err, "netlink dump", ext);
                    done = true;
                    break;
                }
                cb(r);
            }
        }
        if (!intr) return;
        if (attempt >= 10) throw_sys(EINTR, "netlink dump kept being interrupted by concurrent changes");
        restart();
    }
}

std::vector<BatchError> Handle::batch(std::vector<NlMsg>& msgs) {
    return batch(msgs.size(), [&](size_t i) { return std::move(msgs[i]); });
}

std::vector<BatchError> Handle::batch(size_t total, const std::function<NlMsg(size_t)>& build) {
    NlMsg cur;
    return batch_core(total, [&](size_t i) -> const nlmsghdr* {
        cur = build(i);
        return nlmsg_hdr(cur.get());
    });
}

std::vector<BatchError> Handle::batch_fill(size_t total, const std::function<void(size_t, nl_msg*)>& fill,
                                           const std::function<bool(size_t)>& joins_previous) {
    NlMsg m(nlmsg_alloc());
    if (!m) throw_sys(ENOMEM, "allocate netlink message");
    return batch_core(total, [&](size_t i) -> const nlmsghdr* {
        fill(i, m.get());
        return nlmsg_hdr(m.get());
    }, joins_previous);
}

// next(i) yields request i; its header stays valid until the following call.
std::vector<BatchError> Handle::batch_core(size_t total, const std::function<const nlmsghdr*(size_t)>& next,
                                           const std::function<bool(size_t)>& joins_previous) {
    std::vector<BatchError> errors;
    std::vector<char> buf;
    buf.reserve(kSendBytes + 4096);
    int fd = nl_socket_get_fd(sk_.get());
    const nlmsghdr* pending = nullptr;   // built but left for the next chunk
    size_t i = 0;
    while (i < total) {
        // Pack a chunk: up to kBatchChunk messages or kSendBytes bytes.
        size_t start = i, last_off = 0;
        // The last group boundary in this chunk: where to cut it when it ends inside a group.
        size_t cut_i = start, cut_size = 0, cut_last_off = 0;
        uint32_t base = seq_ + 1;
        buf.clear();
        while (i < total && i - start < kBatchChunk) {
            if (joins_previous && i > start && !joins_previous(i)) cut_i = i, cut_size = buf.size(), cut_last_off = last_off;
            if (!pending) pending = next(i);
            size_t len = NLMSG_ALIGN(pending->nlmsg_len);
            if (!buf.empty() && buf.size() + len > kSendBytes) break;
            size_t off = buf.size();
            last_off = off;
            buf.resize(off + len);
            std::memcpy(buf.data() + off, pending, pending->nlmsg_len);
            auto* h = reinterpret_cast<nlmsghdr*>(buf.data() + off);
            h->nlmsg_seq = base + uint32_t(i - start);
            h->nlmsg_flags &= ~NLM_F_ACK;
            pending = nullptr;
            i++;
        }
        if (joins_previous && i < total && joins_previous(i) && cut_i > start) {
            // Leave the unfinished group to the next chunk (its requests are built again there).
            i = cut_i;
            buf.resize(cut_size);
            last_off = cut_last_off;
            pending = nullptr;
        }
        size_t count = i - start;
        uint32_t last = base + uint32_t(count - 1);
        seq_ = last;
        // Only the last message asks for an ack; failures before it report themselves.
        reinterpret_cast<nlmsghdr*>(buf.data() + last_off)->nlmsg_flags |= NLM_F_ACK;
        send_raw(buf.data(), buf.size());
        bool done = false;
        while (!done) {
            size_t n = recv_some(fd, rbuf_.get());
            int len = int(n);
            for (auto* r = reinterpret_cast<nlmsghdr*>(rbuf_.get()); NLMSG_OK(r, len); r = NLMSG_NEXT(r, len)) {
                if (r->nlmsg_type != NLMSG_ERROR || r->nlmsg_seq < base || r->nlmsg_seq > last) continue;
                std::string ext;
                int err = parse_error(r, &ext);
                if (err) errors.push_back({start + (r->nlmsg_seq - base), err, std::move(ext)});
                if (r->nlmsg_seq == last) done = true;
            }
        }
        // Without CAP_NET_ADMIN every write is refused alike: say what is missing, not one EPERM.
        if (!errors.empty() && errors.front().err == EPERM) {
            std::string m = missing_capability(CAP_NET_ADMIN, "writing to the kernel (netlink)");
            if (!m.empty()) throw Error(ErrorKind::Runtime, m, EPERM, errors.front().extack);
        }
    }
    return errors;
}

}  // namespace ovnet
