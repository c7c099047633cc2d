#!/bin/sh
# Prints /proc/version and passes once it has the three lines that the
# patch's new functions print: a static one, a global one, and one that
# version_proc_show calls through a new static function pointer.
cat /proc/version
grep -qx 'keepup: new static function' /proc/version &&
	grep -qx 'keepup: new global function' /proc/version &&
	grep -qx 'keepup: new function through a pointer' /proc/version
