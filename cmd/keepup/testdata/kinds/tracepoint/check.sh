#!/bin/sh
# Renames a shell to keepup-probe with the task_rename tracepoint enabled,
# and passes once both the new name and the traced event show
# keepup-found, the name the patched __set_task_comm substitutes. The
# event can come from the patched function only if the running kernel
# enabled the module's jump label and static call sites of the tracepoint.
t=/sys/kernel/tracing
[ -d $t/events ] || mount -t tracefs nodev $t
echo > $t/trace
echo 1 > $t/events/task/task_rename/enable
comm=$(sh -c 'echo -n keepup-probe > /proc/self/comm; read c < /proc/self/comm; echo $c')
echo 0 > $t/events/task/task_rename/enable
event=$(grep -o 'newcomm=keepup-[a-z]*' $t/trace)
echo "comm: $comm, event: $event"
[ "$comm" = keepup-found ] && [ "$event" = newcomm=keepup-found ]
