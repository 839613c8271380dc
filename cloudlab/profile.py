"""Tern on CloudLab: two d6515 nodes (AMD EPYC 7452, Mellanox ConnectX-5
25 GbE, mlx5) joined by one experiment LAN. Node 0 runs the dispatcher,
node 1 the load generator. After the experiment starts, run
`sudo cloudlab/setup-node.sh` from a checkout of Tern on each node (see
rpc/DPDK.md for the commands).
"""

import geni.portal as portal
import geni.rspec.pg as pg

pc = portal.Context()
pc.defineParameter("hwtype", "Node type", portal.ParameterType.NODETYPE, "d6515")
pc.defineParameter(
    "image",
    "Disk image",
    portal.ParameterType.IMAGE,
    "urn:publicid:IDN+emulab.net+image+emulab-ops//UBUNTU22-64-STD",
)
params = pc.bindParameters()

request = pc.makeRequestRSpec()
lan = request.LAN("lan")
lan.best_effort = False
lan.bandwidth = 25000000  # kbps

for i, name in enumerate(["dispatcher", "loadgen"]):
    node = request.RawPC(name)
    node.hardware_type = params.hwtype
    node.disk_image = params.image
    iface = node.addInterface("if0")
    # The kernel's addresses; DPDK uses 10.10.1.101/.102 of its own.
    iface.addAddress(pg.IPv4Address("10.10.1.%d" % (i + 1), "255.255.255.0"))
    lan.addInterface(iface)

pc.printRequestRSpec(request)
