#!/bin/sh
# Prints the IP counters' value line of /proc/net/snmp and passes once its
# default TTL field has the 1000 the patch adds (64 + 1000 by default).
# GCC builds the function that prints it as the clone
# snmp_seq_show_ipstats.constprop.0.isra.0.
sed -n 2p /proc/net/snmp | cut -d' ' -f1-3
sed -n 2p /proc/net/snmp | grep -q '^Ip: [12] 1064 '
