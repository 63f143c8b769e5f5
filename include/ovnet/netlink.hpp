// ovnet/netlink.hpp - a rtnetlink handle bound to one namespace, with batched requests.
#pragma once
#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

struct nl_sock;
struct nl_msg;
struct nlmsghdr;

namespace ovnet {

/// The attributes of one netlink message after its fixed header of `hdrlen` bytes: calls
/// f(type, payload, len) for each (type without the nested/byte-order flags); stops at the first
/// malformed one.
template <class F>
void each_attr(const nlmsghdr* h, size_t hdrlen, F f) {
    size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(hdrlen);
    while (off + sizeof(nlattr) <= h->nlmsg_len) {
        auto* a = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(h) + off);
        if (a->nla_len < sizeof(nlattr) || off + a->nla_len > h->nlmsg_len) break;
        f(a->nla_type & NLA_TYPE_MASK, reinterpret_cast<const uint8_t*>(a) + NLA_HDRLEN, size_t(a->nla_len) - NLA_HDRLEN);
        off += NLA_ALIGN(a->nla_len);
    }
}

class NetnsFile;

struct NlSockDeleter { void operator()(nl_sock* s) const noexcept; };
struct NlMsgDeleter { void operator()(nl_msg* m) const noexcept; };
using NlSockPtr = std::unique_ptr<nl_sock, NlSockDeleter>;
/// An owned libnl message.
using NlMsg = std::unique_ptr<nl_msg, NlMsgDeleter>;

/// Allocates a message with a header of `type` and `flags` (NLM_F_REQUEST is added) and a zeroed
/// family header of `hdrlen` bytes; returns it with the header pointer in *hdr. `size` bounds the
/// whole message (0 = a page), small sizes keep bulk work cheap.
NlMsg nl_new(int type, int flags, size_t hdrlen, void** hdr, size_t size = 0);
/// Empties `m` (a message from nl_new) and starts it over as nl_new does, keeping its buffer: bulk
/// builders fill one message per request instead of allocating one each. Returns the zeroed
/// family header.
void* nl_reuse(nl_msg* m, int type, int flags, size_t hdrlen);

/// One failed message of a batch.
struct BatchError {
    size_t index;        ///< position of the message in the batch
    int err;             ///< positive errno
    std::string extack;  ///< the kernel's extended ack message, if any
};

/// A NETLINK_ROUTE socket opened inside one namespace (vishvananda/netlink's Handle).
///
/// The socket is created while inside the namespace, so every request made through it applies
/// there whatever namespace the calling thread is in later. Extended acks are enabled.
class Handle {
public:
    /// `netns` is a -n argument (resolved with netns_resolve) or "" for the current namespace;
    /// `protocol` is NETLINK_ROUTE (0) or NETLINK_GENERIC (16, for IPVS).
    explicit Handle(const std::string& netns = {}, int protocol = 0);
    /// The same in a namespace already opened with netns_open() (no second lookup by name).
    explicit Handle(const NetnsFile& ns, int protocol = 0);
    ~Handle();
    Handle(Handle&&) noexcept;
    Handle& operator=(Handle&&) noexcept;

    const std::string& netns_name() const { return name_; }   ///< as given
    const std::string& netns_path() const { return path_; }   ///< resolved file, "" = current

    /// Sends one request with NLM_F_ACK and waits for the ack. Throws Error(Runtime) carrying
    /// errno and extack; `object` names what the request was about.
    void request(NlMsg msg, const std::string& object);
    /// Like request() but returns the positive errno (0 on success) instead of throwing.
    int request_errno(NlMsg msg, std::string* extack = nullptr);

    /// Sends a dump request and calls `cb` for every reply message. If the kernel flags the dump
    /// as interrupted (NLM_F_DUMP_INTR), `restart` is called and the dump is redone (up to 10 times).
    void dump(const NlMsg& msg, const std::function<void(const nlmsghdr*)>& cb,
              const std::function<void()>& restart);

    /// Sends many requests, many per sendmsg(), an ack requested only on the last of each chunk;
    /// errors arrive as NLMSG_ERROR for the failing messages and are mapped back to their index.
    /// Returns the failures (empty when everything succeeded). Never throws for per-message errors.
    std::vector<BatchError> batch(std::vector<NlMsg>& msgs);
    /// The same, building message i with build(i) only when its chunk is packed, so that a
    /// million-entry batch never holds more than one chunk of messages.
    std::vector<BatchError> batch(size_t count, const std::function<NlMsg(size_t)>& build);
    /// The same, with fill(i, m) writing request i into one reused message `m` (start it with
    /// nl_reuse): no allocation per request, what bulk callers use.
    ///
    /// With `joins_previous`, request i for which it returns true goes into the same sendmsg() as
    /// request i-1: the kernel handles all the messages of one sendmsg() before the call returns,
    /// whatever signal arrives, so a group (a peer's fdb entry and neighbor) is written whole or
    /// not at all even when the process is killed (kill -9) in the middle of a batch.
    std::vector<BatchError> batch_fill(size_t count, const std::function<void(size_t, nl_msg*)>& fill,
                                       const std::function<bool(size_t)>& joins_previous = {});

    /// Sends a request that returns one object (RTM_GET* without dump) and calls cb on the reply.
    /// Returns the positive errno on failure (0 on success).
    int get(NlMsg msg, const std::function<void(const nlmsghdr*)>& cb, std::string* extack = nullptr);

    nl_sock* sock() { return sk_.get(); }

private:
    uint32_t next_seq();
    void send_raw(const void* buf, size_t len);
    std::vector<BatchError> batch_core(size_t count, const std::function<const nlmsghdr*(size_t)>& next,
                                       const std::function<bool(size_t)>& joins_previous = {});
    int wait_reply(uint32_t seq, const std::function<void(const nlmsghdr*)>* cb, std::string* extack);
    std::string name_, path_;
    NlSockPtr sk_;
    uint32_t seq_ = 0;
    std::unique_ptr<char[]> rbuf_;   ///< receive buffer, uninitialised
};

/// Number of messages packed into one sendmsg() by Handle::batch().
inline constexpr size_t kBatchChunk = 512;

}  // namespace ovnet
