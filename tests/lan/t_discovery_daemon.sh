#!/bin/bash
# Discovery over the simulated LAN with a real avahi-daemon (+ its own D-Bus) on every host.
exec bash "$(dirname "$0")/discovery.sh" daemon
