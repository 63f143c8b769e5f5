#!/usr/bin/env python3
"""auditgen: NODES consistent ovnet-inspect/1 snapshots for bench/audit (see bench/README.md).

Overlay j (of NODES) spans nodes j .. j+SPAN-1 (mod NODES); each node holds PER endpoints on each
of its SPAN overlays (NODES=100, SPAN=10, PER=100: 1,000 endpoints a node, 100 overlays of 1,000
endpoints), and as peers every endpoint the other SPAN-1 nodes hold on those overlays (9,000).
Docker's layout: each overlay's bridge and VTEP in the namespace 1-<id> (the VTEP's socket in
"root", whose eth0 holds the node's underlay address), one sandbox namespace per container, the
networks view with each network's endpoints and peers, as ovnet-inspect writes them.
Writes one snapshot a line to stdout. Deterministic.

usage: auditgen.py [NODES [SPAN [PER]]]
"""
import json
import sys

NODES = int(sys.argv[1]) if len(sys.argv) > 1 else 100
SPAN = int(sys.argv[2]) if len(sys.argv) > 2 else 10
PER = int(sys.argv[3]) if len(sys.argv) > 3 else 100
assert SPAN <= NODES and PER <= 250 * 254 and NODES <= 250

SYSCTLS = {"net.ipv4.ip_forward": "1", "net.ipv4.vs.conntrack": None, "net.ipv4.vs.conn_reuse_mode": None,
           "net.ipv4.vs.expire_nodest_conn": None, "net.ipv4.vs.expire_quiescent_template": None,
           "net.ipv4.conf.all.route_localnet": "0", "net.ipv4.neigh.default.gc_thresh1": "128",
           "net.ipv4.neigh.default.gc_thresh2": "512", "net.ipv4.neigh.default.gc_thresh3": "1024"}


def ul(i):
    return "192.0.2.%d" % (i + 1)


def net_id(j):
    return "n%04d" % j


def vni(j):
    return 4097 + j


def ep_ip(j, pos, k):
    # overlay j's subnet 10.<j>.0.0/16 (j < 250); endpoint k of the node at position pos
    n = pos * PER + k + 2
    return "10.%d.%d.%d" % (j % 250, n // 254, n % 254 + 1)


def mac_of(ip):
    return "02:42:" + ":".join("%02x" % int(x) for x in ip.split("."))


def overlays_of(i):
    """(overlay, position of node i in it) for the SPAN overlays node i belongs to."""
    return [((i - p) % NODES, p) for p in range(SPAN)]


def nodes_of(j):
    return [(j + p) % NODES for p in range(SPAN)]


def peer_row(ip, vtep):
    return {"status": "peer", "ip": ip, "mac": mac_of(ip), "vtep": vtep, "fdb_state": "permanent",
            "neigh_state": "permanent", "flags": ["self"], "link_netnsid": 0}


def netns(label, name, source, container=None, links=(), bridges=(), vteps=(), addresses=(), peers=None,
          routes=()):
    return {"label": label, "name": name, "path": "/var/run/docker/netns/" + name if source == "docker" else "",
            "source": source, "container": container, "links": list(links), "bridges": list(bridges),
            "vteps": list(vteps), "interfaces": [], "addresses": list(addresses), "routes": list(routes),
            "peers": peers or {}, "ipvs": None, "ipvs_error": "IPVS is not available in this kernel",
            "netfilter": None, "netfilter_error": "no iptables-save", "xfrm": {"states": [], "policies": []},
            "xfrm_error": None, "sysctls": SYSCTLS, "lb_services": [], "published": []}


def link(name, ifindex, kind, mtu, mac="02:00:00:00:00:01", master=None):
    return {"name": name, "ifindex": ifindex, "kind": kind, "mac": mac, "mtu": mtu, "state": "up",
            "operstate": "UP", "master": master, "peer": None}


def snapshot(i):
    host = "node%03d" % i
    ns = {"root": netns("root", "root", "root", links=[link("lo", 1, "", 65536), link("eth0", 2, "veth", 1500)],
                        addresses=[{"ifname": "eth0", "ifindex": 2, "address": ul(i) + "/24", "scope": "global"}])}
    networks = []
    for j, pos in overlays_of(i):
        nid = net_id(j)
        full = nid + "abcde"
        br, vx, nsname = "ov-%06x-%s" % (vni(j), nid), "vx-%06x-%s" % (vni(j), nid), "1-" + full
        peers = [peer_row(ep_ip(j, p, k), ul(n)) for p, n in enumerate(nodes_of(j)) if n != i for k in range(PER)]
        endpoints = []
        brlinks = [link("lo", 1, "", 65536), link(br, 2, "bridge", 1450), link(vx, 3, "vxlan", 1450, master=br)]
        for k in range(PER):
            ip = ep_ip(j, pos, k)
            sb = "%04x%04x%04x" % (j, i, k)
            hv = "veth%07x" % (pos * PER + k)
            brlinks.append(link(hv, 10 + k, "veth", 1450, master=br))
            ns[sb] = netns(sb, sb, "docker", container="svc%d_%d.%d" % (j, pos, k),
                           links=[link("lo", 1, "", 65536), link("eth0", 2, "veth", 1450, mac_of(ip))],
                           addresses=[{"ifname": "eth0", "ifindex": 2, "address": ip + "/16", "scope": "global"}],
                           routes=[{"dst": "10.%d.0.0/16" % (j % 250), "gateway": None, "dev": "eth0"}])
            endpoints.append({"sandbox": sb, "container": "svc%d_%d.%d" % (j, pos, k), "ifname": "eth0",
                              "host_ifname": hv, "mac": mac_of(ip), "addresses": [ip + "/16"]})
        vt = {"netns": nsname, "name": vx, "kind": "vxlan", "ifindex": 3, "mac": "02:00:00:00:00:03", "mtu": 1450,
              "state": "up", "master": br, "vni": vni(j), "port": 4789, "local": ul(i), "dev": "", "learning": False,
              "proxy": True, "l2miss": True, "l3miss": True, "ttl": 0, "ageing": 300, "udp_csum": True,
              "link_netnsid": 0, "link_netns": "root"}
        ns[nsname] = netns(nsname, nsname, "docker", links=brlinks,
                           bridges=[{"netns": nsname, "name": br, "mtu": 1450, "ports": []}], vteps=[vt],
                           addresses=[{"ifname": br, "ifindex": 2, "address": "10.%d.0.1/16" % (j % 250),
                                       "scope": "global"}],
                           peers={vx: peers})
        networks.append({"id": nid, "netns": nsname, "bridge": br, "vtep": vx, "vni": vni(j), "mtu": 1450,
                         "port": 4789, "local": ul(i), "encrypted": False, "subnets": ["10.%d.0.0/16" % (j % 250)],
                         "endpoints": endpoints, "peers": peers, "peer_hosts": sorted({p["vtep"] for p in peers}),
                         "services": [], "published": []})
    return {"schema": "ovnet-inspect/1", "host": host, "time": "2026-11-26T00:00:00Z", "netns": ns,
            "networks": networks}


out = sys.stdout
for i in range(NODES):
    out.write(json.dumps(snapshot(i), separators=(",", ":")))
    out.write("\n")
