"""Patroni: the PostgreSQL cluster manager (leader election through the DCS); its lab member."""
