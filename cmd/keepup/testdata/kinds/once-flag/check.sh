#!/bin/sh
# Renames a shell to keepup-probe twice and passes once the name reads
# back as keepup-found and the kernel log has the patch's pr_info_once
# message exactly once. The new once flag must be a fresh copy that
# starts false, and it must stay set after the first message.
rename() {
	sh -c 'echo -n keepup-probe > /proc/self/comm; read c < /proc/self/comm; echo $c'
}
first=$(rename)
second=$(rename)
messages=$(dmesg | grep -c 'keepup: renamed keepup-probe')
echo "names: $first, $second; messages: $messages"
[ "$first" = keepup-found ] && [ "$second" = keepup-found ] && [ "$messages" -eq 1 ]
