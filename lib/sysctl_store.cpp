// The saved-sysctl store (see sysctl_store.hpp and ovnet/lb.hpp): one JSON file per namespace,
// keyed by the namespace file's st_dev/st_ino and checked against its SO_NETNS_COOKIE, written
// atomically under flock on the state directory.
#include "sysctl_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>

#include "ovnet/error.hpp"
#include "ovnet/lb.hpp"
#include "ovnet/netns.hpp"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace ovnet {

std::string lb_state_dir() {
    const char* d = std::getenv("OVNET_STATE_DIR");
    std::string s = d && *d ? d : "/run/ovnet";
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
}

namespace detail {

namespace {

struct FdCloser {
    int fd = -1;
    ~FdCloser() {
        if (fd >= 0) ::close(fd);
    }
};

void mkdir_p(const std::string& dir) {
    for (size_t i = 1; i <= dir.size(); i++) {
        if (i < dir.size() && dir[i] != '/') continue;
        std::string d = dir.substr(0, i);
        if (::mkdir(d.c_str(), 0755) < 0 && errno != EEXIST) throw_sys(errno, "mkdir " + d);
    }
}

class SysctlState {
public:
    explicit SysctlState(const std::string& netns_path) {
        std::string p = netns_path.empty() ? "/proc/self/ns/net" : netns_path;
        struct stat st {};
        if (::stat(p.c_str(), &st) < 0) throw_sys(errno, "stat " + p);
        dev_ = uint64_t(st.st_dev);
        ino_ = uint64_t(st.st_ino);
        {
            NetnsGuard g(netns_path);
            FdCloser s{::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
            uint64_t c = 0;
            socklen_t len = sizeof c;
            if (s.fd >= 0 && ::getsockopt(s.fd, SOL_SOCKET, SO_NETNS_COOKIE, &c, &len) == 0) cookie_ = c;
        }
        dir_ = lb_state_dir();
        file_ = fmt::format("{}/sysctl-{}-{}.json", dir_, dev_, ino_);
    }
    bool exists() const { return ::access(file_.c_str(), F_OK) == 0; }
    /// Exclusive lock on the state directory for a read-modify-write (released with the object).
    void lock() {
        mkdir_p(dir_);
        lock_.fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (lock_.fd < 0) throw_sys(errno, "open " + dir_);
        while (::flock(lock_.fd, LOCK_EX) < 0)
            if (errno != EINTR) throw_sys(errno, "flock " + dir_);
    }
    /// The saved values ({key: {original, ovnet}}); empty when there is no file, or when it belongs
    /// to an earlier namespace that had the same inode (another cookie; without cookies: when
    /// ovnet has nothing in the namespace, `in_use` false).
    json load(bool in_use) const {
        FILE* f = std::fopen(file_.c_str(), "re");
        if (!f) return json::object();
        std::string text;
        char buf[4096];
        size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
        std::fclose(f);
        json doc = json::parse(text, nullptr, false);
        if (!doc.is_object() || !doc.contains("saved") || !doc["saved"].is_object()) return json::object();
        uint64_t c = doc.value("cookie", uint64_t(0));
        bool stale = (c && cookie_) ? c != cookie_ : !in_use;
        return stale ? json::object() : doc["saved"];
    }
    /// Writes atomically: a temporary file in the same directory, fsync, rename.
    void store(const std::string& netns, const json& saved) const {
        json doc{{"netns", netns}, {"dev", dev_}, {"ino", ino_}, {"cookie", cookie_}, {"saved", saved}};
        std::string tmp = file_ + ".tmp";
        std::string text = doc.dump(2) + "\n";
        FdCloser fd{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
        if (fd.fd < 0) throw_sys(errno, "create " + tmp);
        if (::write(fd.fd, text.data(), text.size()) != ssize_t(text.size()) || ::fsync(fd.fd) < 0) {
            int e = errno;
            ::unlink(tmp.c_str());
            throw_sys(e, "write " + tmp);
        }
        if (::rename(tmp.c_str(), file_.c_str()) < 0) {
            int e = errno;
            ::unlink(tmp.c_str());
            throw_sys(e, "rename " + tmp);
        }
    }
    void remove() const {
        if (::unlink(file_.c_str()) < 0 && errno != ENOENT) throw_sys(errno, "remove " + file_);
    }

private:
    uint64_t dev_ = 0, ino_ = 0, cookie_ = 0;
    std::string dir_, file_;
    FdCloser lock_;
};

}  // namespace

void sysctls_apply(const std::string& path, const std::string& netns, const Sysctls& want, bool in_use, Changes& ch,
                   const std::string& where) {
    Sysctls differ;   // key, current value
    std::vector<std::string> keys;
    for (auto& kv : want) keys.push_back(kv.first);
    auto cur = sysctl_get_many(path, keys);
    for (size_t i = 0; i < want.size(); ++i)
        if (cur[i] != want[i].second) differ.push_back({want[i].first, cur[i]});
    if (differ.empty()) return;
    SysctlState state(path);
    state.lock();
    json saved = state.load(in_use);
    bool dirty = false;
    for (auto& [k, cur] : differ) {
        if (saved.contains(k)) continue;
        for (auto& [wk, wv] : want)
            if (wk == k) saved[k] = json{{"original", cur}, {"ovnet", wv}};
        dirty = true;
    }
    if (dirty) state.store(netns, saved);
    auto written = sysctl_set_many(path, want);
    for (size_t i = 0; i < want.size(); ++i)
        if (written[i]) ch.push_back(Change{Action::Changed, fmt::format("sysctl {}={}{}", want[i].first, want[i].second, where), "set"});
}

void sysctls_release(const std::string& path, bool in_use, Changes& ch, const std::string& where) {
    if (in_use) return;
    SysctlState state(path);
    if (!state.exists()) return;
    state.lock();
    json saved = state.load(false);
    for (auto& [k, e] : saved.items()) {
        if (!e.is_object() || !e.contains("original") || !e.contains("ovnet")) continue;
        std::string orig = e["original"].get<std::string>(), mine = e["ovnet"].get<std::string>(), cur;
        try {
            cur = sysctl_get(path, k);
        } catch (const Error&) {
            continue;   // gone with its interface (route_localnet of a deleted bridge)
        }
        if (cur != mine || cur == orig) continue;   // someone else changed it since: theirs now
        sysctl_set(path, k, orig);
        ch.push_back(Change::with_detail(Action::Changed, fmt::format("sysctl {}={}{}", k, orig, where), json{{"was", cur}}, "restored"));
    }
    state.remove();
}

}  // namespace detail
}  // namespace ovnet
