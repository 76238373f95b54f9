#!/bin/bash
# Discovery over the simulated LAN with no daemon anywhere: the embedded Avahi core.
exec bash "$(dirname "$0")/discovery.sh" embedded
