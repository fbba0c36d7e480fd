"""HAProxy: sends clients to the current primary by asking Patroni's REST API; its lab handle."""
