"""A Ray cluster of several nodes on this one machine, for the node-death test (tests/integration/ray.rs).

A head without GPUs and two worker nodes with one logical GPU each, all on loopback. Prints the
address, then keeps the cluster up until its stdin closes.
"""

import os
import sys

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
from ray.cluster_utils import Cluster  # noqa: E402

node = {"num_cpus": 1, "object_store_memory": 80_000_000, "node_ip_address": "127.0.0.1"}
cluster = Cluster(initialize_head=True, head_node_args={**node, "num_gpus": 0, "include_dashboard": False})
for _ in range(2):
    cluster.add_node(**node, num_gpus=1)
cluster.wait_for_nodes()
print(cluster.address, flush=True)
sys.stdin.read()
cluster.shutdown()
