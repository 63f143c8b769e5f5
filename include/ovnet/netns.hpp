// ovnet/netns.hpp - network namespaces: resolving names, entering, creating, listing.
#pragma once
#include <string>
#include <vector>

namespace ovnet {

/// Where named namespaces live: ip-netns style, and Docker's own directory.
inline constexpr const char* kNetnsDir = "/run/netns";
inline constexpr const char* kDockerNetnsDir = "/var/run/docker/netns";

/// Resolves a -n argument to a namespace file.
///
/// "" means the caller's current namespace (returns ""). An absolute path is taken as is. A plain
/// name is looked up in /run/netns, then /var/run/docker/netns (ingress_sbox, 1-<id>, lb_<id>).
/// Names holding '/' or "..", and names that exist nowhere, raise Error(Input).
std::string netns_resolve(const std::string& name);

/// RAII: enters a namespace on construction and always returns to the original one on
/// destruction. An empty path is a no-op guard.
class NetnsGuard {
public:
    explicit NetnsGuard(const std::string& path);
    ~NetnsGuard();
    NetnsGuard(const NetnsGuard&) = delete;
    NetnsGuard& operator=(const NetnsGuard&) = delete;

private:
    int saved_ = -1;
};

/// RAII: an exclusive advisory lock (flock) on one network namespace, held until destruction, so
/// that ovnet's mutating verbs on one namespace run one after the other: each takes it before it
/// reads the state it plans from and keeps it until its writes are done. `netns_path` is a
/// resolved namespace file (netns_resolve), "" for the caller's namespace (/proc/self/ns/net).
/// The lock file is netns_lock_file(netns_path); the constructor blocks until the lock is free.
/// A caller that may not create the lock file (EACCES, EPERM, EROFS: it cannot change a
/// namespace either) runs unlocked (held() false). Tools outside ovnet do not take it.
class NetnsLock {
public:
    explicit NetnsLock(const std::string& netns_path);
    ~NetnsLock();
    NetnsLock(NetnsLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    NetnsLock(const NetnsLock&) = delete;
    NetnsLock& operator=(const NetnsLock&) = delete;
    NetnsLock& operator=(NetnsLock&&) = delete;
    bool held() const noexcept { return fd_ >= 0; }

private:
    int fd_ = -1;
};

/// The lock file of a namespace: $OVNET_STATE_DIR/netns-<st_dev>-<st_ino>.lock (default
/// /run/ovnet), named by the namespace file's identity, not its name: a name can be reused for
/// another namespace, and one namespace has several names (/run/netns/X, /proc/PID/ns/net).
std::string netns_lock_file(const std::string& netns_path);

/// A named namespace as listed by netns_list().
struct NetnsInfo {
    std::string name;    ///< file name ("h1", "ingress_sbox") or "root" for PID 1's namespace
    std::string path;    ///< the bind-mounted file, or /proc/1/ns/net
    std::string source;  ///< "netns" (/run/netns), "docker", or "root"
};

/// Namespaces in /run/netns and /var/run/docker/netns, sorted by name (Docker's after ours).
/// With include_root, PID 1's namespace is added as "root" (used to name veth peers there).
std::vector<NetnsInfo> netns_list(bool include_root = false);

/// Creates /run/netns/NAME the way `ip netns add` does (shared bind mount of a fresh namespace,
/// loopback left down as the kernel creates it). Returns false if it already exists.
bool netns_add(const std::string& name);

/// Deletes /run/netns/NAME like `ip netns del`. Returns false if it did not exist.
bool netns_del(const std::string& name);

/// Validates a namespace name for creation (1..255 bytes, no '/', not "." or "..").
void validate_netns_name(const std::string& name);

/// Reads a sysctl ("net.ipv4.ip_forward") as seen from inside the namespace at `path`.
std::string sysctl_get(const std::string& netns_path, const std::string& key);
/// Writes a sysctl inside the namespace. Returns false if it already had that value.
bool sysctl_set(const std::string& netns_path, const std::string& key, const std::string& value);
/// Throws Error(Input) unless key is a well-formed net.* sysctl name.
void validate_sysctl_key(const std::string& key);

}  // namespace ovnet
