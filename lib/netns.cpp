#include "ovnet/netns.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <fmt/format.h>

#include "ovnet/docker.hpp"
#include "ovnet/error.hpp"
#include "ovnet/lb.hpp"

namespace ovnet {

namespace {

bool is_file(const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
}

}  // namespace

void validate_netns_name(const std::string& name) {
    if (name.empty()) throw_input({}, "netns", name, "namespace name is empty");
    if (name.size() > 255) throw_input({}, "netns", name.substr(0, 32) + "...", "namespace name is too long");
    if (name == "." || name == ".." || name.find('/') != std::string::npos)
        throw_input({}, "netns", name, "namespace names cannot hold '/' or be '.' or '..'");
}

namespace {
bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

struct NsDir {
    std::string path;
    const char* source;
};

// /run/netns, then Docker's directories (docker_netns_dirs()), without one that is /run/netns again.
std::vector<NsDir> netns_dirs() {
    std::vector<NsDir> out{{kNetnsDir, "netns"}};
    struct stat ours;
    bool have = ::stat(kNetnsDir, &ours) == 0;
    for (auto& d : docker_netns_dirs()) {
        struct stat st;
        if (have && ::stat(d.c_str(), &st) == 0 && same_file(st, ours)) continue;
        out.push_back({d, "docker"});
    }
    return out;
}

bool entry_exists(const std::string& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
}

}  // namespace

std::vector<std::string> netns_find(const std::string& name) {
    // Ours first: a name there is the one meant (and needs no scan of /proc).
    if (std::string p = std::string(kNetnsDir) + "/" + name; entry_exists(p)) return {p};
    std::vector<std::string> out;
    for (auto& d : netns_dirs()) {
        if (d.path == kNetnsDir) continue;
        if (std::string p = d.path + "/" + name; entry_exists(p)) out.push_back(p);
    }
    return out;
}

namespace {
// The file a -n argument names; "" for the caller's namespace.
std::string resolve_path(const std::string& name) {
    if (name.empty()) return {};
    if (name[0] == '/') return name;
    if (name.find('/') != std::string::npos || name == "." || name == ".." ||
        name.find("..") != std::string::npos)
        throw_input({}, "netns", name, "a namespace name cannot hold '/' or '..' (give an absolute path instead)");
    auto found = netns_find(name);
    // Two daemons on one machine both have ingress_sbox: which one is meant cannot be guessed.
    if (found.size() > 1)
        throw_input({}, "netns", name, fmt::format("ambiguous: {} and {} (give the path)", found[0], found[1]));
    if (!found.empty()) return found[0];
    throw_input({}, "netns", name, "no such namespace in /run/netns or Docker's netns directories");
}

// Entries of the directories where namespaces are bind-mounted are never followed through a link:
// a link there would make a name act on another namespace (or anything else).
bool in_netns_dir(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return false;
    std::string dir = slash == 0 ? "/" : path.substr(0, slash);
    // /proc/PID/ns/net is a magic link that must be followed; no namespace directory is called "ns".
    if (dir.size() >= 3 && dir.compare(dir.size() - 3, 3, "/ns") == 0) return false;
    if (dir == kNetnsDir || dir == kDockerNetnsDir || dir == "/run/docker/netns" || dir == "/var/run/netns") return true;
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) return false;
    for (auto& d : netns_dirs()) {
        struct stat ds;
        if (::stat(d.path.c_str(), &ds) == 0 && same_file(ds, st)) return true;
    }
    return false;
}

[[noreturn]] void throw_link(const std::string& name) {
    throw_input({}, "netns", name, "is a symbolic link (namespace entries are never followed through a link)");
}

// Error(Input) unless fd is a network namespace.
void check_netns_fd(int fd, const std::string& name) {
    struct statfs sf;
    if (::fstatfs(fd, &sf) < 0) throw_sys(errno, "fstatfs namespace " + name);
    if (sf.f_type != NSFS_MAGIC) throw_input({}, "netns", name, "not a network namespace");
    int type = ::ioctl(fd, NS_GET_NSTYPE);
    // Kernels before 4.11 lack NS_GET_NSTYPE: setns(fd, CLONE_NEWNET) still checks the type.
    if (type < 0 && errno != ENOTTY && errno != EINVAL) throw_sys(errno, "ioctl NS_GET_NSTYPE " + name);
    if (type >= 0 && type != CLONE_NEWNET) throw_input({}, "netns", name, "not a network namespace");
}

[[noreturn]] void throw_enter(int err, const std::string& name, const std::string& what) {
    if (err == EPERM || err == EACCES) {
        std::string m = missing_capability(CAP_SYS_ADMIN, "entering namespace " + shown_text(name));
        if (m.empty() && err == EACCES)
            m = missing_capability(CAP_DAC_OVERRIDE, "opening namespace file " + shown_text(name));
        if (!m.empty()) throw Error(ErrorKind::Runtime, m, err);
    }
    throw_sys(err, what);
}
}  // namespace

bool has_capability(int cap) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (::syscall(SYS_capget, &hdr, data) < 0 || cap < 0 || cap >= 64) return true;
    return data[cap / 32].effective & (1u << (cap % 32));
}

std::string missing_capability(int cap, const std::string& what) {
    if (has_capability(cap)) return {};
    const char* n = cap == CAP_SYS_ADMIN ? "CAP_SYS_ADMIN" : cap == CAP_NET_ADMIN ? "CAP_NET_ADMIN"
                  : cap == CAP_DAC_OVERRIDE ? "CAP_DAC_OVERRIDE" : "a capability";
    return fmt::format("{} needs {} (run as root)", what, n);
}

NetnsFile netns_open(const std::string& name) {
    std::string path = resolve_path(name);
    if (path.empty()) return {};
    bool nofollow = in_netns_dir(path);
    if (nofollow) {
        struct stat st;
        if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) throw_link(name);
    }
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP && nofollow) throw_link(name);  // became a link after the lstat
        if (e == ENOENT || e == ENOTDIR) throw_input({}, "netns", name, "no such namespace file");
        if (e == EISDIR) throw_input({}, "netns", name, "not a network namespace");
        throw_enter(e, name, "open namespace " + path);
    }
    NetnsFile f(fd, path, name);
    check_netns_fd(fd, name);
    return f;
}

std::string netns_resolve(const std::string& name) { return netns_open(name).path(); }
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
    // The holder removes the file when it is done (no file per namespace ever locked piles up),
    // so the lock is ours only if the file we locked is still the one at that path: a waiter that
    // got the lock of a removed file opens the path again.
    for (;;) {
        fd_.reset(::open(file.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
        if (!fd_) {
            if (unlockable(errno)) return;
            throw_sys(errno, "open " + file);
        }
        // No timeout: a holder is another ovnet run doing its writes, and the lock goes with its
        // process (also when it is killed; then the file stays, and the next holder removes it).
        while (::flock(fd_.get(), LOCK_EX) < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            fd_.reset();
            throw_sys(e, "lock " + file);
        }
        struct stat held, now;
        if (::fstat(fd_.get(), &held) == 0 && ::stat(file.c_str(), &now) == 0 && held.st_dev == now.st_dev &&
            held.st_ino == now.st_ino)
            break;
    }
    file_ = file;
}

NetnsLock::~NetnsLock() {
    if (fd_ && !file_.empty()) ::unlink(file_.c_str());   // still locked: nobody can hold it meanwhile
}

NetnsGuard::NetnsGuard(const std::string& path) {
    if (path.empty()) return;
    NetnsFile ns = netns_open(path);
    enter(ns);
}

NetnsGuard::NetnsGuard(const NetnsFile& ns) {
    if (ns.fd() >= 0) enter(ns);
}

void NetnsGuard::enter(const NetnsFile& ns) {
    saved_.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!saved_) throw_sys(errno, "open /proc/thread-self/ns/net");
    if (::setns(ns.fd(), CLONE_NEWNET) < 0) {
        int e = errno;
        saved_.reset();
        if (e == EINVAL) throw_input({}, "netns", ns.name(), "not a network namespace");
        throw_enter(e, ns.name(), "enter namespace " + ns.path());
    }
}

NetnsGuard::~NetnsGuard() {
    if (!saved_) return;
    // Failing to return would leave the process in the wrong namespace: nothing sane can follow.
    if (::setns(saved_.get(), CLONE_NEWNET) < 0) std::abort();
}

std::string netns_label_root() { return kNetnsRootLabel; }

std::string netns_label_nsid(int nsid) { return "nsid:" + std::to_string(nsid); }

bool netns_label_is_nsid(std::string_view label) { return label.substr(0, 5) == "nsid:"; }

std::string netns_label_path(std::string_view label) {
    if (label == kNetnsRootLabel) return kNetnsRootPath;
    if (netns_label_is_nsid(label)) return {};
    return std::string(label);
}

std::vector<NetnsInfo> netns_list(bool include_root) {
    std::vector<NetnsInfo> out;
    for (auto& dir : netns_dirs()) {
        DIR* d = ::opendir(dir.path.c_str());
        if (!d) continue;
        std::vector<NetnsInfo> part;
        while (auto* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n == "." || n == ".." || n == "default") continue;
            std::string p = dir.path + "/" + n;
            struct stat st;
            // A link is never an entry (it is never opened either): it would name another file.
            if (::lstat(p.c_str(), &st) != 0 || S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode)) continue;
            part.push_back({n, p, dir.source, {}});
        }
        ::closedir(d);
        std::sort(part.begin(), part.end(), [](auto& a, auto& b) { return a.name < b.name; });
        out.insert(out.end(), part.begin(), part.end());
    }
    // A name held by two directories would open the first one only: such entries go by their path.
    std::map<std::string, int> count;
    for (auto& ns : out) count[ns.name]++;
    for (auto& ns : out) ns.label = count[ns.name] == 1 && ns.name != kNetnsRootLabel ? ns.name : ns.path;
    if (include_root) out.push_back({netns_label_root(), kNetnsRootPath, "root", netns_label_root()});
    return out;
}

std::string netns_source(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0) return "path";
    struct stat st;
    if (::stat(path.substr(0, slash).c_str(), &st) != 0) return "path";
    for (auto& d : netns_dirs()) {
        struct stat ds;
        if (::stat(d.path.c_str(), &ds) == 0 && same_file(ds, st)) return d.source;
    }
    return "path";
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
    if (Fd fd(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0)); !fd) {
        if (errno == EEXIST) return false;
        throw_sys(errno, "create " + path);
    }
    Fd saved(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!saved) {
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
    if (::setns(saved.get(), CLONE_NEWNET) < 0) std::abort();
    if (err) {
        ::unlink(path.c_str());
        throw_sys(err, what, {}, "netns " + name);
    }
    return true;
}

bool netns_del(const std::string& name) {
    validate_netns_name(name);
    std::string path = std::string(kNetnsDir) + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0) {
        if (errno == ENOENT) return false;
        throw_sys(errno, "stat " + path, {}, "netns " + name);
    }
    if (S_ISLNK(st.st_mode)) throw_link(name);
    if (S_ISDIR(st.st_mode)) throw_input({}, "netns", name, "is a directory, not a namespace entry");
    // As ip netns del: detach whatever is mounted there (nothing, for a stale entry), then unlink.
    if (::umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT) {
        int e = errno;
        std::string m = e == EPERM ? missing_capability(CAP_SYS_ADMIN, "unmounting namespace " + shown_text(name)) : "";
        if (!m.empty()) throw Error(ErrorKind::Runtime, m, e);
        throw_sys(e, "unmount " + path, {}, "netns " + name);
    }
    if (::unlink(path.c_str()) < 0) {
        if (errno == ENOENT) return true;  // another deleter got there first
        throw_sys(errno, "remove " + path, {}, "netns " + name);
    }
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

// The namespace's sysctl `key`, read by a thread already in the namespace.
std::string read_sysctl_here(const std::string& key) {
    std::string p = sysctl_path(key);
    Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) throw_input({}, "sysctl", key, "no such sysctl in this namespace");
        throw_sys(errno, "read " + p);
    }
    char buf[4096];
    ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
    if (n < 0) throw_sys(errno, "read " + p);
    return trim(std::string(buf, size_t(n)));
}

void check_sysctl_value(const std::string& key, const std::string& value) {
    if (value.empty() || value.find('\n') != std::string::npos)
        throw_input({}, "sysctl", key + "=" + value, "value must be one non-empty line");
}

// Writes `value` to the sysctl, from inside the namespace.
void write_sysctl_here(const std::string& key, const std::string& value) {
    std::string p = sysctl_path(key);
    Fd fd(::open(p.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) throw_sys(errno, "open " + p);
    if (::write(fd.get(), value.data(), value.size()) < 0) {
        int e = errno;
        if (e == EINVAL) throw_input({}, "sysctl", key + "=" + value, "the kernel refused this value");
        throw_sys(e, "write " + p);
    }
}
}  // namespace

std::vector<std::string> sysctl_get_many(const std::string& netns_path, const std::vector<std::string>& keys) {
    for (auto& k : keys) sysctl_path(k);
    std::vector<std::string> out;
    if (keys.empty()) return out;
    NetnsGuard g(netns_path);
    for (auto& k : keys) out.push_back(read_sysctl_here(k));
    return out;
}

std::string sysctl_get(const std::string& netns_path, const std::string& key) {
    return sysctl_get_many(netns_path, {key}).front();
}

std::vector<bool> sysctl_set_many(const std::string& netns_path,
                                  const std::vector<std::pair<std::string, std::string>>& settings) {
    for (auto& [k, v] : settings) check_sysctl_value(k, v), sysctl_path(k);
    std::vector<bool> out;
    if (settings.empty()) return out;
    NetnsGuard g(netns_path);
    // Every key read (so known to exist) before the first write.
    for (auto& [k, v] : settings) out.push_back(read_sysctl_here(k) != v);
    for (size_t i = 0; i < settings.size(); ++i)
        if (out[i]) write_sysctl_here(settings[i].first, settings[i].second);
    return out;
}

bool sysctl_set(const std::string& netns_path, const std::string& key, const std::string& value) {
    return sysctl_set_many(netns_path, {{key, value}}).front();
}

}  // namespace ovnet
