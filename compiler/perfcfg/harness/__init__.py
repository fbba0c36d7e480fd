"""Process plumbing shared by the throwaway-daemon harnesses of every service: scratch dirs, service user, ports, binaries, value comparison."""
