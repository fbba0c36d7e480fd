"""etcd: the DCS a Patroni cluster keeps its leader key and cluster-wide config in; its lab member."""
