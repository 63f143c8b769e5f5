#include "ovnet/netns.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "ovnet/error.hpp"
#include "ovnet/lb.hpp"

namespace ovnet {

namespace {

bool is_file(const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
}

struct Fd {
    int fd = -1;
    explicit Fd(int f = -1) : fd(f) {}
    ~Fd() { if (fd >= 0) ::close(fd); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

}  // namespace

void validate_netns_name(const std::string& name) {
    if (name.empty()) throw_input({}, "netns", name, "namespace name is empty");
    if (name.size() > 255) throw_input({}, "netns", name.substr(0, 32) + "...", "namespace name is too long");
    if (name == "." || name == ".." || name.find('/') != std::string::npos)
        throw_input({}, "netns", name, "namespace names cannot hold '/' or be '.' or '..'");
}

std::string netns_resolve(const std::string& name) {
    if (name.empty()) return {};
    if (name[0] == '/') {
        if (!is_file(name)) throw_input({}, "netns", name, "no such namespace file");
        return name;
    }
    if (name.find('/') != std::string::npos || name == "." || name == ".." ||
        name.find("..") != std::string::npos)
        throw_input({}, "netns", name, "a namespace name cannot hold '/' or '..' (give an absolute path instead)");
    for (const char* dir : {kNetnsDir, kDockerNetnsDir}) {
        std::string p = std::string(dir) + "/" + name;
        if (is_file(p)) return p;
    }
    throw_input({}, "netns", name, "no such namespace in /run/netns or /var/run/docker/netns");
}

std::string netns_lock_file(const std::string& netns_path) {
    std::string p = netns_path.empty() ? "/proc/self/ns/net" : netns_path;
    struct stat st;
    if (::stat(p.c_str(), &st) < 0) throw_sys(errno, "stat " + p);
    return fmt::format("{}/netns-{}-{}.lock", lb_state_dir(), uint64_t(st.st_dev), uint64_t(st.st_ino));
}

NetnsLock::NetnsLock(const std::string& netns_path) {
    std::string file = netns_lock_file(netns_path);
    auto unlockable = [](int e) { return e == EACCES || e == EPERM || e == EROFS; };
    std::string dir = file.substr(0, file.rfind('/'));
    for (size_t i = 1; i <= dir.size(); i++) {
        if (i < dir.size() && dir[i] != '/') continue;
        std::string d = dir.substr(0, i);
        if (::mkdir(d.c_str(), 0755) < 0 && errno != EEXIST) {
            if (unlockable(errno)) return;
            throw_sys(errno, "mkdir " + d);
        }
    }
    fd_ = ::open(file.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd_ < 0) {
        if (unlockable(errno)) return;
        throw_sys(errno, "open " + file);
    }
    // No timeout: a holder is another ovnet run doing its writes, and the lock goes with its
    // process (also when it is killed).
    while (::flock(fd_, LOCK_EX) < 0) {
        if (errno == EINTR) continue;
        int e = errno;
        ::close(fd_);
        fd_ = -1;
        throw_sys(e, "lock " + file);
    }
}

NetnsLock::~NetnsLock() {
    if (fd_ >= 0) ::close(fd_);
}

NetnsGuard::NetnsGuard(const std::string& path) {
    if (path.empty()) return;
    saved_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved_ < 0) throw_sys(errno, "open /proc/thread-self/ns/net");
    Fd target(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (target.fd < 0) {
        int e = errno;
        ::close(saved_);
        saved_ = -1;
        throw_sys(e, "open namespace " + path);
    }
    if (::setns(target.fd, CLONE_NEWNET) < 0) {
        int e = errno;
        ::close(saved_);
        saved_ = -1;
        throw_sys(e, "enter namespace " + path);
    }
}

NetnsGuard::~NetnsGuard() {
    if (saved_ < 0) return;
    // Failing to return would leave the process in the wrong namespace: nothing sane can follow.
    if (::setns(saved_, CLONE_NEWNET) < 0) std::abort();
    ::close(saved_);
}

std::vector<NetnsInfo> netns_list(bool include_root) {
    std::vector<NetnsInfo> out;
    auto scan = [&](const char* dir, const char* source) {
        DIR* d = ::opendir(dir);
        if (!d) return;
        std::vector<NetnsInfo> part;
        while (auto* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n == "." || n == ".." || n == "default") continue;
            std::string p = std::string(dir) + "/" + n;
            if (!is_file(p)) continue;
            part.push_back({n, p, source});
        }
        ::closedir(d);
        std::sort(part.begin(), part.end(), [](auto& a, auto& b) { return a.name < b.name; });
        out.insert(out.end(), part.begin(), part.end());
    };
    scan(kNetnsDir, "netns");
    scan(kDockerNetnsDir, "docker");
    if (include_root) out.push_back({"root", "/proc/1/ns/net", "root"});
    return out;
}

namespace {
void make_netns_dir_shared() {
    if (::mkdir(kNetnsDir, 0755) < 0 && errno != EEXIST) throw_sys(errno, "mkdir /run/netns");
    // Like ip netns: /run/netns must be a shared mount so that namespace bind mounts propagate.
    if (::mount("", kNetnsDir, "none", MS_SHARED | MS_REC, nullptr) == 0) return;
    if (errno != EINVAL) throw_sys(errno, "mount --make-shared /run/netns");
    if (::mount(kNetnsDir, kNetnsDir, "none", MS_BIND | MS_REC, nullptr) < 0)
        throw_sys(errno, "mount --bind /run/netns");
    if (::mount("", kNetnsDir, "none", MS_SHARED | MS_REC, nullptr) < 0)
        throw_sys(errno, "mount --make-shared /run/netns");
}
}  // namespace

bool netns_add(const std::string& name) {
    validate_netns_name(name);
    std::string path = std::string(kNetnsDir) + "/" + name;
    if (is_file(path)) return false;
    make_netns_dir_shared();
    int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (fd < 0) {
        if (errno == EEXIST) return false;
        throw_sys(errno, "create " + path);
    }
    ::close(fd);
    int saved = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved < 0) {
        int e = errno;
        ::unlink(path.c_str());
        throw_sys(e, "open /proc/thread-self/ns/net");
    }
    int err = 0;
    std::string what;
    if (::unshare(CLONE_NEWNET) < 0) {
        err = errno;
        what = "unshare(CLONE_NEWNET)";
    } else if (::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) < 0) {
        err = errno;
        what = "bind mount namespace on " + path;
    }
    if (::setns(saved, CLONE_NEWNET) < 0) std::abort();
    ::close(saved);
    if (err) {
        ::unlink(path.c_str());
        throw_sys(err, what, {}, "netns " + name);
    }
    return true;
}

bool netns_del(const std::string& name) {
    validate_netns_name(name);
    std::string path = std::string(kNetnsDir) + "/" + name;
    if (!is_file(path)) return false;
    ::umount2(path.c_str(), MNT_DETACH);
    if (::unlink(path.c_str()) < 0) throw_sys(errno, "remove " + path, {}, "netns " + name);
    return true;
}

void validate_sysctl_key(const std::string& key) {
    bool ok = key.size() > 4 && (key.rfind("net.", 0) == 0 || key.rfind("net/", 0) == 0) &&
              key.find("..") == std::string::npos && key.back() != '.' && key.back() != '/';
    for (char c : key)
        if (!(isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-' || c == '/')) ok = false;
    if (!ok) throw_input({}, "sysctl", key, "not a net.* sysctl name (net.ipv4.ip_forward)");
}

namespace {
std::string sysctl_path(const std::string& key) {
    validate_sysctl_key(key);
    std::string p = "/proc/sys/" + key;
    // Dots separate levels unless the key already uses '/' (then dots belong to names like eth0.1).
    if (key.find('/') == std::string::npos) std::replace(p.begin() + 10, p.end(), '.', '/');
    return p;
}
std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}
}  // namespace

std::string sysctl_get(const std::string& netns_path, const std::string& key) {
    std::string p = sysctl_path(key);
    NetnsGuard g(netns_path);
    Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.fd < 0) {
        if (errno == ENOENT) throw_input({}, "sysctl", key, "no such sysctl in this namespace");
        throw_sys(errno, "read " + p);
    }
    char buf[4096];
    ssize_t n = ::read(fd.fd, buf, sizeof buf - 1);
    if (n < 0) throw_sys(errno, "read " + p);
    return trim(std::string(buf, size_t(n)));
}

bool sysctl_set(const std::string& netns_path, const std::string& key, const std::string& value) {
    if (value.empty() || value.find('\n') != std::string::npos)
        throw_input({}, "sysctl", key + "=" + value, "value must be one non-empty line");
    if (sysctl_get(netns_path, key) == value) return false;
    std::string p = sysctl_path(key);
    NetnsGuard g(netns_path);
    Fd fd(::open(p.c_str(), O_WRONLY | O_CLOEXEC));
    if (fd.fd < 0) throw_sys(errno, "open " + p);
    if (::write(fd.fd, value.data(), value.size()) < 0) {
        int e = errno;
        if (e == EINVAL) throw_input({}, "sysctl", key + "=" + value, "the kernel refused this value");
        throw_sys(e, "write " + p);
    }
    return true;
}

}  // namespace ovnet
