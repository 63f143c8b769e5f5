// ovnet-lab, the execution: builds a plan (lib/lab.cpp) in network namespaces with the library's
// own calls (sandboxes, bridges, VTEPs, peers, LB, routing mesh, ESP), records it first so that
// lab_down can always undo it, and runs one responder process per task.
#include <filesystem>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "ovnet/bridge.hpp"
#include "ovnet/crypt.hpp"
#include "ovnet/error.hpp"
#include "ovnet/fdb.hpp"
#include "ovnet/inspect.hpp"
#include "ovnet/iptables.hpp"
#include "ovnet/lab.hpp"
#include "ovnet/lb.hpp"
#include "ovnet/link.hpp"
#include "ovnet/netlink.hpp"
#include "ovnet/netns.hpp"
#include "ovnet/sbox.hpp"
#include "ovnet/vtep.hpp"

namespace ovnet {

std::string lab_state_dir(const std::string& prefix) {
    lab_validate_prefix(prefix);
    return lb_state_dir() + "/lab-" + prefix;
}

namespace {

std::string read_file(const std::string& path, bool* ok = nullptr) {
    std::ifstream f(path);
    if (ok) *ok = bool(f);
    if (!f) return {};
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

/// Writes a state file atomically (temporary file, fsync, rename), with `mode`.
void write_file(const std::string& path, const std::string& text, mode_t mode = 0644) {
    std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) throw_sys(errno, "creating " + tmp);
    ::fchmod(fd, mode);
    size_t off = 0;
    while (off < text.size()) {
        ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0) {
            int e = errno;
            ::close(fd);
            throw_sys(e, "writing " + tmp);
        }
        off += size_t(n);
    }
    ::fsync(fd);
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw_sys(errno, "renaming " + tmp);
}

void make_dir(const std::string& path) {
    // Parents first (/run/ovnet may not exist yet).
    for (size_t i = 1; i <= path.size(); ++i)
        if (i == path.size() || path[i] == '/') {
            std::string p = path.substr(0, i);
            if (::mkdir(p.c_str(), 0700) != 0 && errno != EEXIST) throw_sys(errno, "creating " + p);
        }
}

bool netns_exists(const std::string& name) {
    struct stat st;
    return ::lstat((std::string(kNetnsDir) + "/" + name).c_str(), &st) == 0;
}

/// (st_dev, st_ino) of a namespace file, {0,0} when it cannot be read.
std::pair<dev_t, ino_t> ns_id(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return {0, 0};
    return {st.st_dev, st.st_ino};
}

/// The processes whose network namespace is one of `ids` (read from /proc/PID/ns/net).
std::vector<pid_t> pids_in(const std::set<std::pair<dev_t, ino_t>>& ids) {
    std::vector<pid_t> out;
    DIR* d = ::opendir("/proc");
    if (!d) return out;
    while (auto* e = ::readdir(d)) {
        char* end;
        long pid = std::strtol(e->d_name, &end, 10);
        if (*end || pid <= 1 || pid == ::getpid()) continue;
        if (ids.count(ns_id(fmt::format("/proc/{}/ns/net", pid)))) out.push_back(pid_t(pid));
    }
    ::closedir(d);
    return out;
}


// ---------------------------------------------------------------- responders

/// The responder: listens on `ports` in the task's namespace and answers every connection with
/// "<task> on <node>\n" (an HTTP/1.0 200 with that body when the request starts with "GET").
[[noreturn]] void responder_main(const LabSandbox& sb, int ready_fd) {
    std::string body = sb.task + " on " + sb.node + "\n";
    std::vector<pollfd> fds;
    int rc = 0;
    try {
        // Into the task's namespace for good: the process is what down and status look for there.
        NetnsFile ns = netns_open(std::string(kNetnsDir) + "/" + sb.netns);
        if (::setns(ns.fd(), CLONE_NEWNET) != 0) throw_sys(errno, "entering " + sb.netns);
        for (uint16_t port : sb.listen) {
            int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            int one = 1;
            ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(port);
            if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s, 64) != 0) rc = 1;
            fds.push_back({s, POLLIN, 0});
        }
    } catch (...) {
        rc = 1;
    }
    char r = rc ? 'E' : 'R';
    (void)!::write(ready_fd, &r, 1);
    ::close(ready_fd);
    if (rc) ::_exit(1);
    for (;;) {
        if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) ::_exit(1);
        for (auto& p : fds) {
            if (!(p.revents & POLLIN)) continue;
            int c = ::accept4(p.fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            // What the client sends first (if anything within 300 ms) decides the form.
            char buf[512];
            pollfd cp{c, POLLIN, 0};
            ssize_t n = ::poll(&cp, 1, 300) > 0 ? ::recv(c, buf, sizeof buf, MSG_DONTWAIT) : 0;
            std::string out = body;
            if (n >= 3 && std::memcmp(buf, "GET", 3) == 0)
                out = fmt::format("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                                  body.size(), body);
            (void)!::send(c, out.data(), out.size(), MSG_NOSIGNAL);
            ::shutdown(c, SHUT_WR);
            ::close(c);
        }
    }
}

/// A process's start time (field 22 of /proc/PID/stat, clock ticks since boot): with the pid, it
/// names one process (a pid can be reused, the pair cannot), 0 when there is no such process.
unsigned long long start_time(pid_t pid) {
    std::string st = read_file(fmt::format("/proc/{}/stat", pid));
    size_t rp = st.rfind(')');
    if (rp == std::string::npos) return 0;
    std::istringstream in(st.substr(rp + 2));
    std::string f;
    for (int i = 3; i < 22 && in >> f; ++i) {
        if (i == 3 && f == "Z") return 0;   // exited, waiting to be reaped
    }
    unsigned long long t = 0;
    in >> t;
    return t;
}

struct PidRow {
    pid_t pid = 0;
    unsigned long long start = 0;
    std::string task, netns;
};

std::vector<PidRow> read_pids(const std::string& dir) {
    std::vector<PidRow> out;
    std::istringstream in(read_file(dir + "/pids"));
    PidRow r;
    while (in >> r.pid >> r.start >> r.task >> r.netns) out.push_back(r);
    return out;
}

/// The recorded process still runs (wherever it is).
bool recorded_alive(const PidRow& r) { return r.pid > 0 && r.start != 0 && start_time(r.pid) == r.start; }

/// A recorded responder is ours while it runs in its task's namespace.
bool responder_alive(const PidRow& r) {
    if (!recorded_alive(r)) return false;
    auto want = ns_id(std::string(kNetnsDir) + "/" + r.netns);
    return want.second != 0 && ns_id(fmt::format("/proc/{}/ns/net", r.pid)) == want;
}

/// Starts the missing responders, all forked first, then waits for each to listen.
Changes start_responders(const LabPlan& plan, const std::string& dir) {
    Changes ch;
    std::map<std::string, PidRow> have;
    for (auto& r : read_pids(dir)) {
        if (responder_alive(r)) have[r.netns] = r;
        else if (recorded_alive(r)) ::kill(r.pid, SIGKILL);   // its namespace was deleted and made again
    }
    struct Pending {
        const LabSandbox* sb;
        pid_t pid;
        int fd;
    };
    std::vector<Pending> pending;
    std::string rows;
    for (auto& [ns, r] : have) rows += fmt::format("{} {} {} {}\n", r.pid, r.start, r.task, r.netns);
    for (auto& sb : plan.sandboxes) {
        if (sb.role != "task" || sb.listen.empty()) continue;
        std::string obj = "responder " + sb.task;
        if (have.count(sb.netns)) {
            ch.push_back(Change::with_detail(Action::Unchanged, obj, json{{"pid", have[sb.netns].pid}}));
            continue;
        }
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) throw_sys(errno, "pipe for " + obj);
        pid_t pid = ::fork();
        if (pid < 0) throw_sys(errno, "fork for " + obj);
        if (pid == 0) {
            ::close(p[0]);
            // Nothing of the parent's (netlink sockets in the nodes' namespaces, other pipes) is
            // kept alive by a responder: only its ready pipe stays open.
            if (p[1] > 3) ::syscall(SYS_close_range, 3u, unsigned(p[1] - 1), 0u);
            ::syscall(SYS_close_range, unsigned(p[1] + 1), ~0u, 0u);
            ::setsid();
            int nul = ::open("/dev/null", O_RDWR);
            if (nul >= 0) {
                ::dup2(nul, 0), ::dup2(nul, 1), ::dup2(nul, 2);
                if (nul > 2) ::close(nul);
            }
            ::signal(SIGPIPE, SIG_IGN);
            responder_main(sb, p[1]);
        }
        ::close(p[1]);
        pending.push_back({&sb, pid, p[0]});
        rows += fmt::format("{} {} {} {}\n", pid, start_time(pid), sb.task, sb.netns);
        // Recorded at once: a crash after this fork still lets down find it (it also looks for
        // every process in the lab's namespaces).
        write_file(dir + "/pids", rows);
    }
    for (auto& pd : pending) {
        char r = 0;
        ssize_t n;
        do n = ::read(pd.fd, &r, 1);
        while (n < 0 && errno == EINTR);
        ::close(pd.fd);
        std::string obj = "responder " + pd.sb->task;
        if (n != 1 || r != 'R') {
            ::kill(pd.pid, SIGKILL);
            ::waitpid(pd.pid, nullptr, 0);
            throw Error(ErrorKind::Runtime, obj + ": cannot listen in " + pd.sb->netns);
        }
        std::string ports;
        for (auto port : pd.sb->listen) ports += (ports.empty() ? "" : ",") + std::to_string(port);
        ch.push_back(Change::with_detail(Action::Added, obj, json{{"pid", pd.pid}, {"netns", pd.sb->netns}, {"ports", ports}}));
    }
    return ch;
}

void append(Changes& to, Changes from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

std::string key_file(const std::string& dir) { return dir + "/keys"; }

/// The cluster's ESP key (one, swarmkit's form), generated once into the state dir (0600).
void ensure_keys(const std::string& dir) {
    struct stat st;
    if (::stat(key_file(dir).c_str(), &st) == 0) return;
    std::random_device rd;
    std::string hex;
    for (int i = 0; i < 16; ++i) hex += fmt::format("{:02x}", unsigned(rd() & 0xff));
    write_file(key_file(dir), fmt::format("# ovnet-lab's cluster key (tag key)\n1 {}\n", hex), 0600);
}

/// True when sbox_add's changes say it created the namespace (then it has no rules yet).
bool created(const Changes& ch) { return !ch.empty() && ch.front().action == Action::Added; }

LabResult up_impl(const LabPlan& plan, const LabCaps& caps, const std::optional<LabPlan>& old) {
    LabResult res;
    auto t = std::chrono::steady_clock::now();
    auto phase = [&](const char* name) {
        auto now = std::chrono::steady_clock::now();
        res.phases.push_back({name, std::chrono::duration<double, std::milli>(now - t).count()});
        t = now;
    };
    // Every rule of the lab (LB in the tasks, the mesh, ESP) goes through one batch: one
    // iptables-restore per namespace, none read back where up just made the namespace.
    IptBatch ipt;
    std::map<std::string, std::string> ipt_label;   // namespace path -> name, for the report
    auto made = [&](const std::string& netns, Changes ch) {
        std::string path = std::string(kNetnsDir) + "/" + netns;
        ipt_label[path] = netns;
        if (created(ch)) ipt.fresh(path);
        append(res.changes, std::move(ch));
    };
    const std::string dir = lab_state_dir(plan.prefix);
    make_dir(dir);
    // The plan first: from here on, down knows everything that may exist.
    write_file(dir + "/plan.json", plan.to_json().dump(2) + "\n");
    if (!caps.ipvs) res.skipped.push_back("IPVS services and the routing mesh: " + caps.ipvs_why);
    bool any_encrypted = false;
    for (auto& n : plan.topology.networks) any_encrypted |= n.encrypted;
    if (any_encrypted && !caps.gcm) res.skipped.push_back("encryption (ESP) of the encrypted overlays: " + caps.gcm_why);
    {
        json sk = res.skipped;
        write_file(dir + "/skipped.json", sk.dump() + "\n");
    }

    // Tasks the recorded plan had and this one has not (a scale down): their namespaces go.
    if (old) {
        std::vector<std::string> gone;
        for (auto& s : old->sandboxes)
            if (!plan.sandbox_of_netns(s.netns) && netns_exists(s.netns)) gone.push_back(s.netns);
        if (!gone.empty()) {
            std::set<std::pair<dev_t, ino_t>> ids;
            for (auto& n : gone) ids.insert(ns_id(std::string(kNetnsDir) + "/" + n));
            for (pid_t p : pids_in(ids)) ::kill(p, SIGKILL);
            append(res.changes, sbox_del(gone));
        }
    }
    phase("state");

    // The underlay: ul0 with the outside client's address.
    const std::vector<std::pair<std::string, std::string>> fwd = {{"net.ipv4.ip_forward", "1"}};
    append(res.changes, sbox_add(plan.underlay_netns));
    Handle ul(plan.underlay_netns);
    BridgeSpec ul0;
    ul0.name = "ul0";
    ul0.addresses = {Prefix{plan.client, plan.topology.underlay.len}};
    append(res.changes, bridge_add(ul, ul0));

    std::map<std::string, Handle> hosts;
    for (auto& n : plan.nodes) {
        made(n.netns, sbox_add(n.netns, fwd));
        ConnectSpec c;
        c.sandbox = n.netns;
        c.bridge = "ul0";
        c.ip = n.underlay;
        c.ifname = "eth0";
        append(res.changes, sbox_connect(ul, c));
        Handle& h = hosts.emplace(n.name, Handle(n.netns)).first->second;
        std::vector<BridgeSpec> bridges;
        BridgeSpec gw;
        gw.name = "docker_gwbridge";
        gw.addresses = {Prefix{*plan.ingress_sbox(n.name)->endpoints[1].gateway, plan.topology.gwbridge.len}};
        bridges.push_back(gw);
        for (auto& o : n.overlays) {
            BridgeSpec b;
            b.name = o.bridge;
            b.mtu = o.mtu;
            bridges.push_back(b);
        }
        append(res.changes, bridge_apply(h, bridges));
        std::vector<VtepSpec> vteps;
        for (auto& o : n.overlays) {
            VtepSpec v;
            v.name = o.vtep;
            v.vni = o.vni;
            v.local = n.underlay.addr;
            v.mtu = o.mtu;
            v.master = o.bridge;
            vteps.push_back(v);
        }
        append(res.changes, vtep_apply(h, vteps));
    }
    phase("nodes");

    // Sandboxes: ingress_sbox and tasks, each endpoint a veth to its bridge on its node.
    for (auto& sb : plan.sandboxes) {
        made(sb.netns, sbox_add(sb.netns, sb.role == "ingress_sbox" ? fwd : decltype(fwd){}));
        for (auto& e : sb.endpoints) {
            ConnectSpec c;
            c.sandbox = sb.netns;
            c.bridge = e.bridge;
            c.ip = e.ip;
            c.mac = e.mac;
            c.ifname = e.ifname;
            c.gateway = e.gateway;
            c.mtu = e.mtu;
            append(res.changes, sbox_connect(hosts.at(sb.node), c));
        }
    }

    phase("sandboxes");

    // Peers, as the README's pipe does: each node's local endpoints (fdb_local) go to every other
    // node's VTEP of that overlay, one batch per VTEP, pruned to exactly that set.
    std::map<std::string, std::map<std::string, std::vector<PeerEntry>>> local;   // node -> vtep -> rows
    for (auto& n : plan.nodes)
        for (auto& o : n.overlays) local[n.name][o.vtep] = fdb_local(hosts.at(n.name), o.vtep, n.underlay.addr);
    for (auto& n : plan.nodes)
        for (auto& o : n.overlays) {
            std::vector<PeerSpec> want;
            for (auto& m : plan.nodes) {
                if (m.name == n.name) continue;
                for (auto& r : local[m.name][o.vtep]) want.push_back(PeerSpec{r.ip, r.mac, r.vtep});
            }
            ChangeStats st;
            Changes ch = fdb_apply_set(hosts.at(n.name), o.vtep, want, true, &st);
            for (auto& c : ch) c.object = n.name + " " + o.vtep + " " + c.object;
            if (ch.empty()) ch.push_back(Change(Action::Unchanged, n.name + " " + o.vtep + " peers"));
            append(res.changes, std::move(ch));
        }

    phase("peers");

    // Load balancing: every task sandbox of a network gets that network's services (its own
    // address as the SNAT source); every node its published ports.
    if (caps.ipvs) {
        for (auto& sb : plan.sandboxes) {
            if (sb.role != "task") continue;
            std::string net;
            for (auto& s : plan.services)
                if (s.service == sb.service) net = s.network;
            IpAddr own;
            for (auto& e : sb.endpoints)
                if (e.network == net) own = e.ip.addr;
            for (auto& s : plan.services) {
                if (s.network != net) continue;
                LbService l;
                l.vip = s.vip;
                l.fwmark = s.fwmark;
                l.subnet = plan.network(net)->subnet;
                l.lb_ip = own;
                l.backends = s.backends;
                auto r = lb_add(sb.netns, l, 0, &ipt);
                append(res.changes, std::move(r.changes));
            }
        }
        for (auto& n : plan.nodes)
            for (auto& s : plan.services) {
                if (!s.publish) continue;
                auto* isb = plan.ingress_sbox(n.name);
                PublishSpec p;
                p.port = *s.publish;
                p.sbox = isb->netns;
                p.gw_ip = isb->endpoints[1].ip.addr;
                p.gw_bridge = "docker_gwbridge";
                p.subnet = plan.topology.ingress.subnet;
                p.lb_ip = isb->endpoints[0].ip.addr;
                p.backends = s.ingress_backends;
                p.fwmark = s.ingress_fwmark;
                auto r = publish_add(n.netns, p, 0, &ipt);
                append(res.changes, std::move(r.changes));
            }
    }

    phase("lb");

    // ESP between the nodes on encrypted overlays (ovnet-crypt's add: SAs, policies, rules).
    if (any_encrypted && caps.gcm) {
        ensure_keys(dir);
        CryptKeys keys = crypt_keys_read(key_file(dir));
        for (auto& n : plan.nodes)
            for (auto& o : n.overlays) {
                if (!o.encrypted) continue;
                std::vector<IpAddr> peers;
                for (auto& m : plan.nodes)
                    if (m.name != n.name) peers.push_back(m.underlay.addr);
                IpAddr local = n.underlay.addr;
                Handle xh(n.netns, NETLINK_XFRM);
                Xfrm cur = xfrm_read(xh);
                auto cp = crypt_plan(crypt_owned_sas(cur, local), crypt_owned_policies(cur, local),
                                     crypt_desired_sas(local, peers, keys),
                                     crypt_desired_policies(local, peers, kVxlanPort, keys), local, peers, false);
                crypt_execute(xh, cp);
                for (auto c : cp.changes) {
                    c.object = n.name + " " + c.object;
                    res.changes.push_back(std::move(c));
                }
                ipt.add(std::string(kNetnsDir) + "/" + n.netns, crypt_chains(o.vni, kVxlanPort, false));
            }
    }
    phase("esp");
    append(res.changes, ipt.commit(ipt_label, &res.restores));
    phase("rules");
    append(res.changes, start_responders(plan, dir));
    phase("responders");
    return res;
}

}  // namespace

std::optional<LabPlan> lab_load(const std::string& prefix) {
    std::string path = lab_state_dir(prefix) + "/plan.json";
    bool ok = false;
    std::string text = read_file(path, &ok);
    if (!ok) return std::nullopt;
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        throw_input(fmt::format("{}: malformed JSON: {}", path, e.what()));
    }
    try {
        return LabPlan::from_json(j);
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::Input) throw;
        throw_input(path + ": " + e.what());
    }
}

LabCaps lab_caps() {
    LabCaps c;
    // IPVS: /proc/net/ip_vs exists once the kernel has it (built in or loaded); no module is loaded here.
    struct stat st;
    c.ipvs = ::stat("/proc/net/ip_vs", &st) == 0;
    if (!c.ipvs) c.ipvs_why = "no IPVS in this kernel (/proc/net/ip_vs missing: modprobe ip_vs, or --vm)";
    // AES-GCM for ESP: listed in /proc/crypto once loaded, else loadable when the module is there.
    c.gcm = read_file("/proc/crypto").find("rfc4106(gcm(aes))") != std::string::npos;
    if (!c.gcm) {
        struct utsname u;
        ::uname(&u);
        for (auto ext : {"", ".xz", ".zst", ".gz"})
            c.gcm = c.gcm || ::stat(fmt::format("/lib/modules/{}/kernel/crypto/gcm.ko{}", u.release, ext).c_str(), &st) == 0;
    }
    if (!c.gcm) c.gcm_why = "no rfc4106(gcm(aes)) in this kernel (or --vm)";
    return c;
}

LabResult lab_up(const LabPlan& plan, const LabCaps& caps) {
    auto old = lab_load(plan.prefix);
    if (old && old->topology.to_json() != plan.topology.to_json())
        throw_input("lab", "prefix", plan.prefix,
                    "a lab with this prefix exists with another topology (ovnet-lab --prefix " + plan.prefix + " down first)");
    // A scaled lab stays scaled: up converges what is recorded.
    if (old && old->scaled && !plan.scaled) return up_impl(*old, caps, old);
    return up_impl(plan, caps, old);
}

LabResult lab_scale(const std::string& prefix, const std::string& service, unsigned replicas) {
    auto old = lab_load(prefix);
    if (!old) throw_input("no lab with prefix " + prefix + " (run ovnet-lab up)");
    LabTopology t = old->topology;
    auto it = std::find_if(t.services.begin(), t.services.end(), [&](auto& s) { return s.name == service; });
    if (it == t.services.end()) throw_input("scale", "service", service, "no such service in the lab");
    if (replicas < it->replicas)
        throw_input("service " + service, "replicas", std::to_string(replicas),
                    fmt::format("cannot go below the topology's {} replicas", it->replicas));
    // The other services keep what the lab has now: their scaled tasks only if it was scaled.
    for (auto& s : t.services)
        if (!old->scaled && s.name != service) s.scale.reset();
    it->scale = replicas > it->replicas ? std::optional<unsigned>(replicas) : std::nullopt;
    LabPlan p = lab_plan(t, prefix, true);
    return up_impl(p, lab_caps(), old);
}

LabResult lab_down(const std::string& prefix) {
    LabResult res;
    const std::string dir = lab_state_dir(prefix);
    struct stat st;
    bool have_dir = ::stat(dir.c_str(), &st) == 0;
    std::vector<std::string> names;
    std::optional<LabPlan> plan;
    try {
        plan = lab_load(prefix);
    } catch (const Error&) {
        // An unreadable plan (a crash while writing it): the marker (the state dir) and the prefix
        // still tell which namespaces are the lab's.
    }
    if (plan) names = plan->namespaces();
    if (have_dir && !plan) {
        // Namespaces named "<prefix>-*" of a lab whose plan could not be read (only then: another
        // lab's prefix may begin with this one's).
        std::set<std::string> known(names.begin(), names.end());
        if (DIR* d = ::opendir(kNetnsDir)) {
            std::vector<std::string> extra;
            while (auto* e = ::readdir(d)) {
                std::string n = e->d_name;
                if (n.rfind(prefix + "-", 0) == 0 && !known.count(n)) extra.push_back(n);
            }
            ::closedir(d);
            std::sort(extra.rbegin(), extra.rend());   // "-ul" last is not guaranteed; fine: veths go with either end
            names.insert(names.begin(), extra.begin(), extra.end());
        }
    }
    std::vector<std::string> present;
    for (auto& n : names)
        if (netns_exists(n)) present.push_back(n);
    // Responders (and anything else left running in the lab's namespaces) first: a namespace
    // with a process in it outlives its name.
    std::set<std::pair<dev_t, ino_t>> ids;
    for (auto& n : present) ids.insert(ns_id(std::string(kNetnsDir) + "/" + n));
    std::vector<pid_t> pids = pids_in(ids);
    if (have_dir)
        for (auto& r : read_pids(dir))
            if (recorded_alive(r) && std::find(pids.begin(), pids.end(), r.pid) == pids.end()) pids.push_back(r.pid);
    std::vector<int> pidfds;
    for (pid_t p : pids) {
        int fd = int(::syscall(SYS_pidfd_open, p, 0));
        if (::kill(p, SIGKILL) != 0) {
            if (fd >= 0) ::close(fd);
            continue;
        }
        if (fd >= 0) pidfds.push_back(fd);
        res.changes.push_back(Change::with_detail(Action::Removed, fmt::format("process {}", p), json{{"signal", "KILL"}}));
    }
    // Gone before their namespaces are deleted (a pidfd polls readable once its process exited).
    for (int fd : pidfds) {
        pollfd pf{fd, POLLIN, 0};
        ::poll(&pf, 1, 5000);
        ::close(fd);
    }
    // Every link of the lab is in one of its namespaces (a veth's two ends included), so the
    // namespaces go as they are: no link is deleted one by one first (each such delete waits for an
    // RCU grace period, 20-70 ms; the kernel frees the whole lab's devices in one batch instead).
    for (auto& n : present)
        if (netns_del(n)) res.changes.push_back(Change{Action::Removed, "sandbox " + n});
    if (have_dir) {
        for (auto f : {"plan.json", "plan.json.tmp", "pids", "pids.tmp", "keys", "keys.tmp", "skipped.json", "skipped.json.tmp"})
            ::unlink((dir + "/" + f).c_str());
        // The break scenarios' records (ovnet-lab break): break-<scenario>.json
        std::error_code ec;
        for (auto& e : std::filesystem::directory_iterator(dir, ec)) {
            std::string n = e.path().filename().string();
            if (n.rfind("break-", 0) == 0 && (n.ends_with(".json") || n.ends_with(".json.tmp"))) ::unlink(e.path().c_str());
        }
        if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) throw_sys(errno, "removing " + dir);
        res.changes.push_back(Change(Action::Removed, "state " + dir));
    }
    if (res.changes.empty()) res.changes.push_back(Change::with_detail(Action::Unchanged, "lab " + prefix, json{{"reason", "no such lab"}}));
    return res;
}

LabStatus lab_status(const std::string& prefix) {
    LabStatus s;
    auto plan = lab_load(prefix);
    if (!plan) return s;
    s.exists = true;
    const std::string dir = lab_state_dir(prefix);
    bool ok = false;
    std::string sk = read_file(dir + "/skipped.json", &ok);
    if (ok) try {
            for (auto& x : json::parse(sk)) s.skipped.push_back(x.get<std::string>());
        } catch (const json::exception&) {
        }
    auto item = [&](std::string kind, std::string netns, std::string name, bool present, std::string detail = {}) {
        s.items.push_back(LabStatusItem{std::move(kind), std::move(netns), std::move(name), present, std::move(detail)});
        (present ? s.present : s.missing)++;
    };
    auto links_of = [&](const std::string& ns) -> std::optional<std::set<std::string>> {
        if (!netns_exists(ns)) return std::nullopt;
        try {
            Handle h(ns);
            std::set<std::string> out;
            for (auto& l : link_list(h)) out.insert(l.name);
            return out;
        } catch (const Error&) {
            return std::nullopt;
        }
    };
    auto ul = links_of(plan->underlay_netns);
    item("namespace", plan->underlay_netns, plan->underlay_netns, ul.has_value(), "underlay");
    item("link", plan->underlay_netns, "ul0", ul && ul->count("ul0"));
    for (auto& n : plan->nodes) {
        auto l = links_of(n.netns);
        item("namespace", n.netns, n.netns, l.has_value(), "node " + n.name);
        for (std::string name : {std::string("eth0"), std::string("docker_gwbridge")}) item("link", n.netns, name, l && l->count(name));
        for (auto& o : n.overlays) {
            item("link", n.netns, o.bridge, l && l->count(o.bridge), o.network);
            item("link", n.netns, o.vtep, l && l->count(o.vtep), fmt::format("{} vni {}", o.network, o.vni));
        }
    }
    std::map<std::string, PidRow> pids;
    for (auto& r : read_pids(dir)) pids[r.netns] = r;
    for (auto& sb : plan->sandboxes) {
        auto l = links_of(sb.netns);
        item("namespace", sb.netns, sb.netns, l.has_value(), sb.role == "task" ? "task " + sb.task + " on " + sb.node : "ingress_sbox on " + sb.node);
        for (auto& e : sb.endpoints) item("link", sb.netns, e.ifname, l && l->count(e.ifname), e.network + " " + e.ip.str());
        if (sb.role == "task" && !sb.listen.empty()) {
            auto it = pids.find(sb.netns);
            bool up = it != pids.end() && responder_alive(it->second);
            item("responder", sb.netns, sb.task, up, up ? fmt::format("pid {}", it->second.pid) : "not running");
        }
    }
    return s;
}

}  // namespace ovnet
