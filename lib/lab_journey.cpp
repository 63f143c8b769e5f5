// The lab's journey checks: connecting from inside its namespaces to its responders.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "ovnet/error.hpp"
#include "ovnet/fd.hpp"
#include "ovnet/lab_tour.hpp"
#include "ovnet/netns.hpp"

namespace ovnet {

std::string lab_ask(const std::string& netns, const IpAddr& addr, uint16_t port, int timeout_ms) {
    std::string what = fmt::format("{}:{} from {}", addr.str(), port, netns);
    int s = -1;
    {
        // The socket belongs to the namespace it is created in; the guard returns right after.
        NetnsGuard g(netns_resolve(netns));
        s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    }
    if (s < 0) throw Error(ErrorKind::Runtime, what + ": socket: " + std::strerror(errno));
    Fd fd(s);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    std::memcpy(&sa.sin_addr, addr.b.data(), 4);
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    auto left = [&] {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
        return ms < 0 ? 0 : static_cast<int>(ms);
    };
    if (::connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0 && errno != EINPROGRESS)
        throw Error(ErrorKind::Runtime, what + ": connect: " + std::strerror(errno));
    pollfd p{s, POLLOUT, 0};
    if (::poll(&p, 1, left()) <= 0) throw Error(ErrorKind::Runtime, what + ": no answer (connect timed out)");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) throw Error(ErrorKind::Runtime, what + ": connect: " + std::strerror(err));
    static const char req[] = "ovnet-lab check\n";
    if (::send(s, req, sizeof req - 1, MSG_NOSIGNAL) < 0)
        throw Error(ErrorKind::Runtime, what + ": send: " + std::strerror(errno));
    std::string out;
    char buf[512];
    for (;;) {
        pollfd q{s, POLLIN, 0};
        int r = ::poll(&q, 1, left());
        if (r <= 0) break;   // what came so far is the answer
        ssize_t n = ::recv(s, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
        if (out.find('\n') != std::string::npos) break;
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    if (out.empty()) throw Error(ErrorKind::Runtime, what + ": connected, but no answer");
    return out;
}

namespace {

CheckResult make(const std::string& id, const std::string& name) {
    CheckResult r;
    r.id = id;
    r.name = name;
    return r;
}

// The first task of `service` (not scaled, or any when the plan is scaled) on / not on a node.
const LabSandbox* pick(const LabPlan& p, const std::string& service, const std::string& on, const std::string& off) {
    for (auto& s : p.sandboxes)
        if (s.role == "task" && s.service == service && (!s.scaled || p.scaled) && (on.empty() || s.node == on) &&
            (off.empty() || s.node != off))
            return &s;
    return nullptr;
}

const LabEndpoint* ep_on(const LabSandbox& s, const std::string& network) {
    for (auto& e : s.endpoints)
        if (e.network == network) return &e;
    return nullptr;
}

// "redis.1 on swarm-02": which of the service's tasks answered, or "".
bool answered_by(const LabPlan& p, const std::string& service, const std::string& answer, std::string* who) {
    for (auto& s : p.sandboxes)
        if (s.role == "task" && s.service == service && answer.find(s.task + " on " + s.node) != std::string::npos) {
            *who = s.task + " on " + s.node;
            return true;
        }
    return false;
}

}  // namespace

std::vector<CheckResult> lab_journey_checks(const LabPlan& p, const LabCaps& caps) {
    std::vector<CheckResult> out;
    // The first service whose tasks run on two nodes.
    const LabServiceSpec* svc = nullptr;
    const LabSandbox *from = nullptr, *to = nullptr;
    for (auto& s : p.topology.services) {
        if (s.ports.empty()) continue;
        for (auto& n : p.nodes) {
            auto* a = pick(p, s.name, n.name, {});
            auto* b = a ? pick(p, s.name, {}, n.name) : nullptr;
            if (a && b) {
                svc = &s, from = a, to = b;
                break;
            }
        }
        if (svc) break;
    }
    {
        auto r = make("journey-overlay", "a task reaches a task of its service on another node over the overlay");
        if (!svc) {
            r.status = CheckStatus::Passed;
            r.message = "no service with tasks on two nodes in this topology";
        } else {
            auto* e = ep_on(*to, svc->network);
            std::string path = fmt::format("{} ({}) -> {}:{} ({} on {})", from->task, from->node,
                                           e->ip.addr.str(), svc->ports[0], to->task, to->node);
            try {
                std::string ans = lab_ask(from->netns, e->ip.addr, svc->ports[0]);
                std::string want = to->task + " on " + to->node;
                if (ans.find(want) != std::string::npos) {
                    r.status = CheckStatus::Passed;
                    r.message = path + ": \"" + ans + "\"";
                } else {
                    r.status = CheckStatus::Failed;
                    r.message = path + ": answered \"" + ans + "\", expected \"" + want + "\"";
                    r.hint = "the fdb sends the MAC to the wrong node: ovnet-lab check fdb-peers";
                }
            } catch (const Error& x) {
                r.status = CheckStatus::Failed;
                r.message = path + ": " + x.what();
                r.hint = "ovnet-lab check fdb-peers, mtu and links name what is broken; ovnet-trace --from " +
                         from->netns + " tcp " + e->ip.addr.str() + ":" + std::to_string(svc->ports[0]) +
                         " shows the path";
            }
        }
        out.push_back(r);
    }
    {
        auto r = make("journey-vip", "a task reaches its service's VIP and a task of the service answers (IPVS)");
        const LabLbService* lb = nullptr;
        for (auto& l : p.services)
            if (svc && l.service == svc->name) lb = &l;
        if (!caps.ipvs) {
            r.status = CheckStatus::Skipped;
            r.message = "needs IPVS: " + caps.ipvs_why;
        } else if (!lb) {
            r.status = CheckStatus::Passed;
            r.message = "no service with a VIP in this topology";
        } else {
            std::string path = fmt::format("{} ({}) -> VIP {}:{}", from->task, from->node, lb->vip.str(), svc->ports[0]);
            try {
                std::string ans = lab_ask(from->netns, lb->vip, svc->ports[0]), who;
                r.status = answered_by(p, svc->name, ans, &who) ? CheckStatus::Passed : CheckStatus::Failed;
                r.message = path + ": \"" + ans + "\"";
                if (r.status == CheckStatus::Failed) r.hint = "ovnet-lb -t -n " + from->netns + " show";
            } catch (const Error& x) {
                r.status = CheckStatus::Failed;
                r.message = path + ": " + x.what();
                r.hint = "ovnet-lab check lb; ovnet-trace --from " + from->netns + " tcp " + lb->vip.str() + ":" +
                         std::to_string(svc->ports[0]);
            }
        }
        out.push_back(r);
    }
    {
        auto r = make("journey-mesh",
                      "the outside client reaches node 1's published port and a task answers through ingress_sbox (IPVS)");
        const LabLbService* lb = nullptr;
        for (auto& l : p.services)
            if (l.publish) lb = &l;
        if (!caps.ipvs) {
            r.status = CheckStatus::Skipped;
            r.message = "needs IPVS: " + caps.ipvs_why;
        } else if (!lb || p.nodes.empty()) {
            r.status = CheckStatus::Passed;
            r.message = "no published port in this topology";
        } else {
            auto& n1 = p.nodes[0];
            std::string path = fmt::format("client {} -> {}:{} ({})", p.client.str(), n1.underlay.addr.str(),
                                           *lb->publish, n1.name);
            try {
                std::string ans = lab_ask(p.underlay_netns, n1.underlay.addr, *lb->publish), who;
                r.status = answered_by(p, lb->service, ans, &who) ? CheckStatus::Passed : CheckStatus::Failed;
                r.message = path + ": \"" + ans + "\"";
                if (r.status == CheckStatus::Failed) r.hint = "ovnet-publish -t -n " + n1.netns + " show";
            } catch (const Error& x) {
                r.status = CheckStatus::Failed;
                r.message = path + ": " + x.what();
                r.hint = "ovnet-lab check publish; ovnet-trace --from client tcp " + n1.underlay.addr.str() + ":" +
                         std::to_string(*lb->publish);
            }
        }
        out.push_back(r);
    }
    return out;
}

}  // namespace ovnet
