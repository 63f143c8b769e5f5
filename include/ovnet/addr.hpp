// ovnet/addr.hpp - interface addresses and routes.
#pragma once
#include <string>
#include <vector>
#include "ovnet/types.hpp"

struct nlmsghdr;

namespace ovnet {
class Handle;

/// An address on an interface (RTM_NEWADDR).
struct Addr {
    int ifindex = 0;
    Prefix prefix;
    uint8_t scope = 0;           ///< RT_SCOPE_*: 0 universe (global), 253 link, 254 host
    static bool parse(const nlmsghdr* h, Addr& out);
};
/// Addresses of the namespace, of one interface if ifindex != 0. Link-local IPv6 is skipped.
std::vector<Addr> addr_list(Handle& h, int ifindex = 0);
/// Adds an address; returns false if it was already there.
bool addr_add(Handle& h, int ifindex, const Prefix& p, const std::string& object);
/// Deletes an address; returns false if it was not there.
bool addr_del(Handle& h, int ifindex, const Prefix& p, const std::string& object);

/// A route in the main table (RTM_NEWROUTE).
struct Route {
    Prefix dst;                  ///< 0.0.0.0/0 for the default route
    IpAddr gateway;              ///< unset for on-link routes
    int oif = 0;
    static bool parse(const nlmsghdr* h, Route& out);
};
std::vector<Route> route_list(Handle& h, int family);
/// The source address the namespace would send from toward `dst` (RTM_GETROUTE: the route
/// lookup `ip route get` does, its RTA_PREFSRC); unset when there is no route.
IpAddr route_source(Handle& h, const IpAddr& dst);
/// The default route's preferred source (its RTA_PREFSRC, else the source toward its gateway);
/// unset when the family has no default route or it names no source.
IpAddr default_route_source(Handle& h, int family);
/// Adds or replaces a route; returns false if an identical one was there.
bool route_replace(Handle& h, const Route& r, const std::string& object);

}  // namespace ovnet
